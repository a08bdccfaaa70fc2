/**
 * The SSRF guard of outgoing HTTP (docs/spec.md §6): which addresses an http step may connect to, and the
 * allow-list (`FLOWGATE_HTTP_ALLOW`) that lifts the refusal.
 *
 * Refused unless allowed: loopback, private (10/8, 172.16/12, 192.168/16, 100.64/10 shared, fc00::/7),
 * link-local (169.254/16, fe80::/10), multicast, unspecified, broadcast and reserved ranges, cloud
 * metadata (169.254.169.254, fd00:ec2::254, 100.100.100.200), and IPv6 forms that embed an IPv4
 * address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
 * `2002::/16`): their embedded address is judged instead.
 *
 * The check runs on the address a connection actually goes to (after DNS), in the connector
 * (src/app/outbound.ts), so a name that resolves to a private address, or re-resolves to one (DNS
 * rebinding), is refused before any connection is attempted.
 *
 * Allow-list entries (comma-separated):
 * - a host name (`api.internal`): any URL with that host, whatever it resolves to;
 * - an IP address or CIDR (`127.0.0.1`, `10.1.0.0/16`, `::1`, `[::1]`): connections to those addresses;
 * - `host:port` (`127.0.0.1:9000`, `[::1]:9000`, `api.internal:8443`): the same, on that port only;
 * - a URL prefix (`http://10.0.0.5:8080/hooks/`): URLs that start with it (after normalization).
 */
import { isIP } from 'node:net';

export type BlockReason = 'loopback' | 'private' | 'link-local' | 'multicast' | 'unspecified' | 'metadata' | 'reserved';

// ---------------------------------------------------------------- address parsing

function v4Bytes(ip: string): number[] | null {
  const parts = ip.split('.');
  if (parts.length !== 4) return null;
  const out = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return out.every((n) => Number.isInteger(n) && n >= 0 && n <= 255) ? out : null;
}

/** 16 bytes of an IPv6 address (with an optional embedded dotted IPv4 tail and zone). */
function v6Bytes(input: string): number[] | null {
  let ip = input.replace(/^\[|\]$/g, '');
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  let tail: number[] = [];
  const lastColon = ip.lastIndexOf(':');
  if (ip.slice(lastColon + 1).includes('.')) {
    const v4 = v4Bytes(ip.slice(lastColon + 1));
    if (!v4) return null;
    tail = v4;
    ip = `${ip.slice(0, lastColon + 1)}0:0`;
  }
  const halves = ip.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const g = s.split(':').map((x) => (/^[0-9a-f]{1,4}$/i.test(x) ? parseInt(x, 16) : NaN));
    return g.every((n) => !Number.isNaN(n)) ? g : null;
  };
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !rest) return null;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return null;
  const words = [...head, ...new Array(missing).fill(0), ...rest];
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** Bytes of an address (4 or 16), or null when `ip` is not an IP literal. */
export function addressBytes(ip: string): number[] | null {
  const bare = ip.replace(/^\[|\]$/g, '');
  const kind = isIP(bare.split('%')[0]);
  if (kind === 4) return v4Bytes(bare);
  if (kind === 6) return v6Bytes(bare);
  return null;
}

function inPrefix(bytes: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if ((bytes[byte] & mask) !== (prefix[byte] & mask)) return false;
  }
  return true;
}

const V4_RULES: [number[], number, BlockReason][] = [
  [[169, 254, 169, 254], 32, 'metadata'],
  [[100, 100, 100, 200], 32, 'metadata'],
  [[0, 0, 0, 0], 8, 'unspecified'],
  [[127, 0, 0, 0], 8, 'loopback'],
  [[10, 0, 0, 0], 8, 'private'],
  [[172, 16, 0, 0], 12, 'private'],
  [[192, 168, 0, 0], 16, 'private'],
  [[100, 64, 0, 0], 10, 'private'],
  [[169, 254, 0, 0], 16, 'link-local'],
  [[192, 0, 0, 0], 24, 'reserved'],
  [[198, 18, 0, 0], 15, 'reserved'],
  [[224, 0, 0, 0], 4, 'multicast'],
  [[240, 0, 0, 0], 4, 'reserved'], // includes 255.255.255.255 (broadcast)
];

const hex = (s: string): number[] => v6Bytes(s)!;
const V6_RULES: [number[], number, BlockReason][] = [
  [hex('fd00:ec2::254'), 128, 'metadata'],
  [hex('::'), 128, 'unspecified'],
  [hex('::1'), 128, 'loopback'],
  [hex('fc00::'), 7, 'private'],
  [hex('fec0::'), 10, 'private'], // site-local (deprecated)
  [hex('fe80::'), 10, 'link-local'],
  [hex('ff00::'), 8, 'multicast'],
  [hex('100::'), 64, 'reserved'], // discard-only
  [hex('2001:db8::'), 32, 'reserved'], // documentation
];

function judgeV4(b: number[]): BlockReason | null {
  for (const [prefix, bits, reason] of V4_RULES) if (inPrefix(b, prefix, bits)) return reason;
  return null;
}

/** Why `ip` must not be connected to, or null when it is a public address. Non-IP input is 'reserved'. */
export function blockedReason(ip: string): BlockReason | null {
  const b = addressBytes(ip);
  if (!b) return 'reserved';
  if (b.length === 4) return judgeV4(b);
  // IPv6 forms that embed an IPv4 address are judged by it.
  const zeros = (n: number): boolean => b.slice(0, n).every((x) => x === 0);
  if (zeros(10) && b[10] === 0xff && b[11] === 0xff) return judgeV4(b.slice(12)); // ::ffff:a.b.c.d
  if (zeros(12) && !(b[12] === 0 && b[13] === 0 && b[14] === 0 && b[15] <= 1)) return judgeV4(b.slice(12)) ?? 'reserved'; // ::a.b.c.d
  if (inPrefix(b, hex('64:ff9b::'), 96)) return judgeV4(b.slice(12)); // NAT64
  if (inPrefix(b, hex('64:ff9b:1::'), 48)) return 'reserved';
  if (inPrefix(b, hex('2002::'), 16)) return judgeV4(b.slice(2, 6)); // 6to4
  for (const [prefix, bits, reason] of V6_RULES) if (inPrefix(b, prefix, bits)) return reason;
  return null;
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
  /** Normalized URL prefixes. */
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
      list.prefixes.push(u.toString());
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
  const href = url.toString();
  return list.prefixes.some((p) => href.startsWith(p));
}

/** The refusal message of a blocked connection (names what to allow-list). */
export function refusal(host: string, ip: string, reason: BlockReason): string {
  const where = host === ip || `[${ip}]` === host ? ip : `${host} (${ip})`;
  return `refused to connect to ${where}: a ${reason} address (allow it with FLOWGATE_HTTP_ALLOW)`;
}
