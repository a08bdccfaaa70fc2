/**
 * The outgoing HTTP client behind the `http` step (undici), with the SSRF guard of docs/spec.md §6.
 *
 * - One AbortSignal deadline covers the whole exchange: connecting, every redirect hop, headers and
 *   body. A server that trickles bytes cannot hold a step past it (undici's own headersTimeout
 *   fires late, so it is not relied on).
 * - Connecting (DNS included) has its own deadline, `connectTimeoutMs`.
 * - The response body is capped while it streams; the rest is discarded and `truncated` set.
 * - Every connection goes through a connector that resolves the host itself and judges the
 *   address it will actually connect to (src/app/ssrf.ts), so DNS rebinding cannot pass; an IP
 *   literal in any spelling (`2130706433`, `0x7f.1`, `[::ffff:127.0.0.1]`) is judged the same way.
 * - Redirects are followed here (up to 5), each hop judged again; credentials are dropped when a
 *   redirect leaves the origin.
 * - URLs under this server's own base go to its own listening socket without the guard: a
 *   workflow may call this server's API (docs/spec.md §6 "handled internally").
 */
import { lookup } from 'node:dns/promises';
import { isIP, type Socket } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { HttpFailure, type HttpPort, type HttpRequest, type HttpResponse } from '../steps/types.js';
import { allowsAddress, allowsUrl, blockedReason, EMPTY_ALLOW_LIST, refusal, type AllowList } from './ssrf.js';

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface ConnectTarget {
  /** The host as the URL names it. */
  host: string;
  /** The address the socket is about to connect to (already judged by the guard). */
  address: string;
  port: number;
  protocol: string;
}

export interface OutboundOptions {
  allow?: AllowList;
  /** Resolves host names (default: the system resolver, every address). Injectable for tests. */
  resolve?: Resolver;
  /** Called right before a socket is opened; throwing refuses the connection (a test's safety net and spy). */
  beforeConnect?: (target: ConnectTarget) => void;
  /** This server's own URL bases and where it listens: URLs under a base go to `local`, unguarded. */
  self?: () => { bases: string[]; local: string } | null;
  /** Keep-alive of idle connections (default 10 s). */
  keepAliveMs?: number;
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const systemResolver: Resolver = async (hostname) => lookup(hostname, { all: true, verbatim: true });

export { HttpFailure as OutboundError };

export class OutboundHttp implements HttpPort {
  private readonly allow: AllowList;
  private readonly resolve: Resolver;
  private readonly agents = new Map<string, Agent>();

  constructor(private readonly opts: OutboundOptions = {}) {
    this.allow = opts.allow ?? EMPTY_ALLOW_LIST;
    this.resolve = opts.resolve ?? systemResolver;
  }

  async request(r: HttpRequest): Promise<HttpResponse> {
    const signal = AbortSignal.timeout(r.timeoutMs);
    const connectMs = Math.max(1, Math.min(r.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, r.timeoutMs));
    let url: URL;
    try {
      url = new URL(r.url);
    } catch {
      throw new HttpFailure('network', 'the URL is not valid', false);
    }
    let method = r.method.toUpperCase();
    let body = r.body;
    let headers = { ...r.headers };
    const redirects: { status: number; location: string }[] = [];
    try {
      for (;;) {
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HttpFailure('redirects', `cannot follow a redirect to ${url.protocol} URLs`, false);
        const hop = this.route(url, r.tlsVerify, connectMs);
        const res = await request(hop.url, {
          method: method as 'GET', headers, body, signal, dispatcher: hop.agent,
          headersTimeout: r.timeoutMs + 1000, bodyTimeout: r.timeoutMs + 1000,
        });
        const location = res.headers.location;
        if (r.followRedirects !== false && REDIRECTS.has(res.statusCode) && typeof location === 'string' && location !== '') {
          await res.body.dump({ limit: 64 * 1024, signal }).catch(() => undefined);
          if (redirects.length >= MAX_REDIRECTS) throw new HttpFailure('redirects', `more than ${MAX_REDIRECTS} redirects`, false);
          let next: URL;
          try {
            next = new URL(location, url);
          } catch {
            throw new HttpFailure('redirects', 'a redirect named an invalid Location', false);
          }
          redirects.push({ status: res.statusCode, location: next.toString() });
          // 303, and 301/302 after a POST, continue as GET without a body (as browsers and fetch do).
          if (res.statusCode === 303 ? method !== 'HEAD' : (res.statusCode === 301 || res.statusCode === 302) && method === 'POST') {
            method = 'GET';
            body = undefined;
            headers = withoutKeys(headers, ['content-type', 'content-length', 'content-encoding']);
          }
          if (next.origin !== url.origin) headers = withoutKeys(headers, ['authorization', 'proxy-authorization', 'cookie']);
          url = next;
          continue;
        }
        const { buf, truncated } = await readCapped(res.body, r.maxResponseBytes);
        const out: HttpResponse = { status: res.statusCode, headers: flatHeaders(res.headers), body: buf, truncated };
        if (redirects.length) {
          out.url = url.toString();
          out.redirects = redirects;
        }
        return out;
      }
    } catch (e) {
      throw classify(e, signal, r.timeoutMs);
    }
  }

  /** Which agent a hop goes through, and the URL it is sent to (this server's own URLs go to its socket). */
  private route(url: URL, tlsVerify: boolean, connectMs: number): { url: URL; agent: Agent } {
    const self = this.selfUrl(url);
    if (self) return { url: self, agent: this.agent(false, tlsVerify, connectMs) };
    return { url, agent: this.agent(!allowsUrl(this.allow, url), tlsVerify, connectMs) };
  }

  private selfUrl(url: URL): URL | null {
    const self = this.opts.self?.();
    if (!self) return null;
    const href = url.toString();
    for (const base of self.bases) {
      if (!base) continue;
      const b = base.replace(/\/+$/, '');
      if (href === b || href.startsWith(`${b}/`) || href.startsWith(`${b}?`)) return new URL(self.local.replace(/\/+$/, '') + href.slice(b.length));
    }
    return null;
  }

  private agent(guarded: boolean, tlsVerify: boolean, connectMs: number): Agent {
    const key = `${guarded ? 'g' : 'o'}${tlsVerify ? 'v' : 't'}${connectMs}`;
    let agent = this.agents.get(key);
    if (!agent) {
      if (this.agents.size > 64) {
        // Many distinct connect timeouts: close the oldest agent rather than grow without bound.
        const [oldKey, old] = this.agents.entries().next().value as [string, Agent];
        this.agents.delete(oldKey);
        void old.close().catch(() => undefined);
      }
      const base = buildConnector({ timeout: connectMs, rejectUnauthorized: tlsVerify });
      agent = new Agent({ connect: this.connector(base, guarded, connectMs), keepAliveTimeout: this.opts.keepAliveMs ?? 10_000 });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** Resolves, judges every address, then connects to the first; all within the connect deadline. */
  private connector(base: buildConnector.connector, guarded: boolean, connectMs: number): buildConnector.connector {
    return (options, callback) => {
      let done = false;
      let socket: Socket | null = null;
      const finish = (err: Error | null, s?: Socket | null): void => {
        if (done) {
          s?.destroy();
          return;
        }
        done = true;
        clearTimeout(timer);
        if (err) {
          socket?.destroy();
          callback(err, null);
        } else callback(null, s!);
      };
      const timer = setTimeout(() => finish(new HttpFailure('connect_timeout', `no connection to ${options.hostname} within ${connectMs} ms`)), connectMs);
      const host = options.hostname.replace(/^\[|\]$/g, '');
      const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
      (async (): Promise<string> => {
        const literal = isIP(host) !== 0;
        const found = literal ? [{ address: host, family: isIP(host) }] : await this.resolve(host);
        if (found.length === 0) throw new HttpFailure('network', `${host} did not resolve to any address`);
        if (guarded) {
          for (const a of found) {
            const reason = blockedReason(a.address);
            if (reason && !allowsAddress(this.allow, a.address, port)) throw new HttpFailure('ssrf', refusal(host, a.address, reason), false);
          }
        }
        // Every address was judged; connect to an IPv4 one when there is one (no happy eyeballs here).
        return (found.find((a) => a.family === 4) ?? found[0]).address;
      })().then((address) => {
        if (done) return;
        this.opts.beforeConnect?.({ host, address, port, protocol: options.protocol });
        // The name stays for TLS (SNI and certificate check); the socket goes to the judged address.
        const servername = options.servername || (isIP(host) ? undefined : host);
        socket = base({ ...options, hostname: address, ...(servername ? { servername } : {}) }, (err, s) => finish(err, s)) as unknown as Socket | null;
      }).catch((e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
    };
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.close().catch(() => undefined)));
  }
}

function withoutKeys(headers: Record<string, string>, drop: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!drop.includes(k.toLowerCase())) out[k] = v;
  return out;
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return headers;
}

/** Reads at most `cap` bytes; the rest is discarded (the stream is destroyed, closing the connection). */
async function readCapped(body: AsyncIterable<unknown> & { destroy(): unknown }, cap: number): Promise<{ buf: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    if (size + buf.length > cap) {
      chunks.push(buf.subarray(0, cap - size));
      size = cap;
      body.destroy();
      return { buf: Buffer.concat(chunks, size), truncated: true };
    }
    chunks.push(buf);
    size += buf.length;
  }
  return { buf: Buffer.concat(chunks, size), truncated: false };
}

function classify(e: unknown, signal: AbortSignal, timeoutMs: number): HttpFailure {
  if (e instanceof HttpFailure) return e;
  const err = e as Error & { code?: string; cause?: Error & { code?: string } };
  const inner = err.cause instanceof HttpFailure ? err.cause : null;
  if (inner) return inner;
  if (signal.aborted) return new HttpFailure('timeout', `no complete answer within ${timeoutMs} ms`);
  const code = err.code ?? err.cause?.code ?? '';
  const message = err.cause?.message ?? err.message;
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/i.test(code)) return new HttpFailure('tls', `TLS verification failed: ${code}: ${message}`, false);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new HttpFailure('connect_timeout', 'the connection could not be made in time');
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return new HttpFailure('timeout', `no complete answer within ${timeoutMs} ms`);
  // A header value with a line break, a bad method…: the request itself is wrong, trying again cannot help.
  if (code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_CHAR' || code === 'ERR_INVALID_HTTP_TOKEN' || code === 'ERR_HTTP_INVALID_HEADER_VALUE') {
    return new HttpFailure('invalid_request', `the request cannot be sent: ${message}`, false);
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new HttpFailure('network', `the host name could not be resolved (${code})`);
  return new HttpFailure('network', `${code ? `${code}: ` : ''}${message}`);
}

/** The outgoing HTTP port with each attempt told to `observe` (metrics): its answer's status, or the failure's code, and its duration. */
export function observedHttp(port: HttpPort, observe: (outcome: { status: number } | { code: string }, seconds: number) => void): HttpPort {
  return {
    async request(req: HttpRequest): Promise<HttpResponse> {
      const started = performance.now();
      try {
        const res = await port.request(req);
        observe({ status: res.status }, (performance.now() - started) / 1000);
        return res;
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        observe({ code: typeof code === 'string' ? code : 'error' }, (performance.now() - started) / 1000);
        throw e;
      }
    },
  };
}
