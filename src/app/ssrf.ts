/**
 * The SSRF guard of outgoing HTTP (docs/spec.md §6): which addresses an http step may connect to, and the
 * allow-list (`FLOWGATE_HTTP_ALLOW`) that lifts the refusal.
 *
 * Addresses are classified by ipaddr.js against the IANA special-purpose registries. Only global
 * unicast passes: an IPv4 address whose range is `unicast`, an IPv6 address whose range is `unicast`
 * inside 2000::/3. Everything else is refused unless allowed: loopback, private (10/8, 172.16/12,
 * 192.168/16, 100.64/10 shared, fc00::/7, fec0::/10), link-local, multicast, unspecified, broadcast,
 * documentation (TEST-NET 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20),
 * benchmarking, the other reserved ranges, Teredo (2001::/32, whatever it embeds), the local-use NAT64
 * prefix 64:ff9b:1::/48, and cloud metadata addresses (169.254.169.254, 169.254.170.2,
 * 100.100.100.200, 168.63.129.16, fd00:ec2::254). IPv6 forms that embed an IPv4 address are judged by
 * that address: IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, IPv4-compatible
 * `::a.b.c.d` (refused even when public: the form is deprecated), NAT64 `64:ff9b::/96` and 6to4
 * `2002::/16`.
 *
 * The check runs on the address a connection actually goes to (after DNS), in the connector
 * (src/app/outbound.ts), so a name that resolves to a private address, or re-resolves to one (DNS
 * rebinding), is refused before any connection is attempted. IP literals in URLs reach it in the
 * WHATWG URL parser's canonical form (`2130706433`, `0x7f.1`, `0177.0.0.1` are 127.0.0.1).
 *
 * Allow-list entries (comma-separated):
 * - a host name (`api.internal`): any URL with that host, whatever it resolves to;
 * - an IP address or CIDR (`127.0.0.1`, `10.1.0.0/16`, `::1`, `[::1]`): connections to those addresses;
 * - `host:port` (`127.0.0.1:9000`, `[::1]:9000`, `api.internal:8443`): the same, on that port only;
 * - a URL prefix (`http://10.0.0.5:8080/hooks/`): URLs under it, compared after normalisation (see
 *   `prefixForm`); a URL whose path holds an encoded slash or backslash, or a dot segment, is never
 *   allowed by a prefix entry.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type BlockReason = 'loopback' | 'private' | 'link-local' | 'multicast' | 'unspecified' | 'metadata' | 'reserved';

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;

// ---------------------------------------------------------------- addresses

/**
 * An IP literal as resolvers and the URL parser write it (dotted-decimal IPv4, IPv6 with an optional
 * zone, either in brackets), or null. The lenient IPv4 spellings ipaddr.js would also read (`127.1`,
 * `0x7f.1`) are not addresses here: a URL host in such a spelling arrives already canonical.
 */
function parseAddress(input: string): IPv4 | IPv6 | null {
  const bare = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  const zone = bare.indexOf('%');
  const ip = zone >= 0 ? bare.slice(0, zone) : bare;
  const kind = isIP(ip);
  if (kind === 4 && zone < 0) return ipaddr.IPv4.parse(ip);
  if (kind === 6) return ipaddr.IPv6.parse(ip);
  return null;
}

/** Bytes of an address (4 or 16), or null when `ip` is not an IP literal. */
export function addressBytes(ip: string): number[] | null {
  return parseAddress(ip)?.toByteArray() ?? null;
}

function inPrefix(bytes: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if ((bytes[byte] & mask) !== (prefix[byte] & mask)) return false;
  }
  return true;
}

const METADATA_V4 = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', '168.63.129.16']);
const METADATA_V6 = new Set(['fd00:ec2::254']);

const V4_REASONS: Partial<Record<string, BlockReason>> = {
  unspecified: 'unspecified', loopback: 'loopback', private: 'private', carrierGradeNat: 'private',
  linkLocal: 'link-local', multicast: 'multicast',
};
const V6_REASONS: Partial<Record<string, BlockReason>> = {
  unspecified: 'unspecified', loopback: 'loopback', uniqueLocal: 'private', deprecatedSiteLocal: 'private',
  linkLocal: 'link-local', multicast: 'multicast',
};
const NAT64_WELL_KNOWN = ipaddr.IPv6.parse('64:ff9b::').toByteArray();

function judgeV4(a: IPv4): BlockReason | null {
  if (METADATA_V4.has(a.toString())) return 'metadata';
  const range = a.range();
  return range === 'unicast' ? null : (V4_REASONS[range] ?? 'reserved');
}

const v4At = (b: number[], at: number): IPv4 => new ipaddr.IPv4(b.slice(at, at + 4));

function judgeV6(a: IPv6): BlockReason | null {
  if (METADATA_V6.has(a.toString())) return 'metadata';
  const b = a.toByteArray();
  const range = a.range() as string;
  switch (range) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return judgeV4(v4At(b, 12));
    case 'rfc6052': // NAT64: the well-known /96 translates its last 32 bits; 64:ff9b:1::/48 is local use
      return inPrefix(b, NAT64_WELL_KNOWN, 96) ? judgeV4(v4At(b, 12)) : 'reserved';
    case '6to4':
      return judgeV4(v4At(b, 2));
    case 'teredo': // a tunnel to whatever its server and client addresses are: never a target
      return 'reserved';
    case 'unicast':
      // ::a.b.c.d (IPv4-compatible, deprecated): named after what it embeds, refused either way.
      if (b.slice(0, 12).every((x) => x === 0)) return judgeV4(v4At(b, 12)) ?? 'reserved';
      // Outside 2000::/3 nothing is allocated for global unicast.
      return (b[0] & 0xe0) === 0x20 ? null : 'reserved';
    default:
      return V6_REASONS[range] ?? 'reserved';
  }
}

/** Why `ip` must not be connected to, or null when it is a public address. Non-IP input is 'reserved'. */
export function blockedReason(ip: string): BlockReason | null {
  const a = parseAddress(ip);
  if (!a) return 'reserved';
  return a.kind() === 'ipv4' ? judgeV4(a as IPv4) : judgeV6(a as IPv6);
}

// ---------------------------------------------------------------- URL paths

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * The path as prefix entries compare it: percent-escapes of unreserved characters decoded (`%7E` is
 * `~`, `%41` is `A`), the other escapes in upper case. Null when the path must not be matched against a
 * prefix at all: it holds an encoded slash or backslash (`%2F`, `%5C`), which some servers decode
 * into a separator and others do not, or a dot segment (`.`, `..`, in any spelling the URL parser left
 * in place), so that what the prefix allows is what the server serves, whichever way it reads the path.
 */
export function prefixPath(path: string): string | null {
  const decoded = path.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => {
    const c = String.fromCharCode(parseInt(h, 16));
    return UNRESERVED.test(c) ? c : `%${h.toUpperCase()}`;
  });
  if (/%2F|%5C|\\/.test(decoded)) return null;
  if (decoded.split('/').some((seg) => seg === '.' || seg === '..')) return null;
  return decoded;
}

/** A URL as prefix entries compare it (scheme, credentials, host, port, normalised path, query), or null (see prefixPath). */
function prefixForm(url: URL): string | null {
  const path = prefixPath(url.pathname);
  if (path === null) return null;
  const auth = url.username || url.password ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  return `${url.protocol}//${auth}${url.host}${path}${url.search}`;
}

/** Whether `href` is under `prefix`: at a path boundary unless the prefix ends in `/` or holds a query. */
function underPrefix(href: string, prefix: string): boolean {
  if (!href.startsWith(prefix)) return false;
  if (href.length === prefix.length || prefix.endsWith('/') || prefix.includes('?')) return true;
  const next = href[prefix.length];
  return next === '/' || next === '?';
}

// ---------------------------------------------------------------- allow-list

interface AddressEntry {
  bytes: number[];
  bits: number;
  port: string | null;
}

export interface AllowList {
  /** Host names (lower case), any port. */
  hosts: Set<string>;
  /** `host:port` of names (lower case). */
  hostPorts: Set<string>;
  /** IP addresses and networks, optionally with a port. */
  addresses: AddressEntry[];
  /** URL prefixes in the form prefixForm gives. */
  prefixes: string[];
  /** The entries as configured (for messages). */
  source: string[];
}

export const EMPTY_ALLOW_LIST: AllowList = { hosts: new Set(), hostPorts: new Set(), addresses: [], prefixes: [], source: [] };

/** Parses FLOWGATE_HTTP_ALLOW. Throws on an entry it cannot understand (a typo must not silently allow nothing). */
export function parseAllowList(text: string | string[] | undefined | null): AllowList {
  const list: AllowList = { hosts: new Set(), hostPorts: new Set(), addresses: [], prefixes: [], source: [] };
  const entries = (Array.isArray(text) ? text : (text ?? '').split(',')).map((e) => e.trim()).filter(Boolean);
  for (const entry of entries) {
    list.source.push(entry);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) {
      let u: URL;
      try {
        u = new URL(entry);
      } catch {
        throw new Error(`FLOWGATE_HTTP_ALLOW: ${JSON.stringify(entry)} is not a valid URL prefix`);
      }
      const form = prefixForm(u);
      if (form === null || u.hash) {
        throw new Error(`FLOWGATE_HTTP_ALLOW: ${JSON.stringify(entry)}: a URL prefix must not hold an encoded slash or backslash, a dot segment or a fragment`);
      }
      list.prefixes.push(form);
      continue;
    }
    // [v6]:port, [v6], v6, v6/bits, v4, v4/bits, v4:port, name, name:port
    let host = entry;
    let port: string | null = null;
    let m: RegExpExecArray | null;
    if ((m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(entry))) {
      host = m[1];
      port = m[2] ?? null;
    } else if (isIP(entry) !== 6 && !entry.includes('/') && (m = /^([^:]+):(\d{1,5})$/.exec(entry))) {
      host = m[1];
      port = m[2];
    }
    const [addr, bitsText] = host.split('/');
    const bytes = addressBytes(addr);
    if (bytes) {
      const max = bytes.length * 8;
      const bits = bitsText === undefined ? max : Number(bitsText);
      if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new Error(`FLOWGATE_HTTP_ALLOW: ${JSON.stringify(entry)} has a bad prefix length`);
      list.addresses.push({ bytes, bits, port });
      continue;
    }
    if (bitsText !== undefined || !/^[a-z0-9_.-]+$/i.test(host)) throw new Error(`FLOWGATE_HTTP_ALLOW: cannot read entry ${JSON.stringify(entry)}`);
    const name = host.toLowerCase().replace(/\.$/, '');
    if (port) list.hostPorts.add(`${name}:${port}`);
    else list.hosts.add(name);
  }
  return list;
}

const defaultPort = (u: URL): string => u.port || (u.protocol === 'https:' ? '443' : '80');

/** Whether a connection to `ip`:`port` is allowed by an address entry. */
export function allowsAddress(list: AllowList, ip: string, port: string | number): boolean {
  const b = addressBytes(ip);
  if (!b) return false;
  // An IPv4-mapped IPv6 address matches IPv4 entries too.
  const v4 = b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff ? b.slice(12) : null;
  return list.addresses.some((e) => (e.port === null || e.port === String(port))
    && ((e.bytes.length === b.length && inPrefix(b, e.bytes, e.bits)) || (v4 !== null && e.bytes.length === 4 && inPrefix(v4, e.bytes, e.bits))));
}

/**
 * Whether a URL is allowed as a whole (host name or prefix entries): the guard does not judge where
 * such a URL's name resolves to. IP-literal URLs are judged by address in the connector instead.
 */
export function allowsUrl(list: AllowList, url: URL): boolean {
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (isIP(host.replace(/^\[|\]$/g, '')) === 0) {
    if (list.hosts.has(host) || list.hostPorts.has(`${host}:${defaultPort(url)}`)) return true;
  }
  if (list.prefixes.length === 0) return false;
  const href = prefixForm(url);
  return href !== null && list.prefixes.some((p) => underPrefix(href, p));
}

/** The refusal message of a blocked connection (names what to allow-list). */
export function refusal(host: string, ip: string, reason: BlockReason): string {
  const where = host === ip || `[${ip}]` === host ? ip : `${host} (${ip})`;
  return `refused to connect to ${where}: a ${reason} address (allow it with FLOWGATE_HTTP_ALLOW)`;
}
