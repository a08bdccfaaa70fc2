/**
 * The HTTP server: plain node:http, a radix router, auth per route, problem+json for every error.
 * Route modules register RouteDefs; nothing here knows which store or surface is behind a route.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import FindMyWay from 'find-my-way';
import { FlowgateError } from '../core/errors.js';
import type { Logger } from '../engine/executor.js';
import { requireRole, type Authenticator, type Principal } from './auth.js';
import type { ConsoleSite } from './console.js';
import type { Ctx, RouteDef } from './context.js';
import { corsPolicy, type CorsPolicy } from './cors.js';
import type { Metrics } from './metrics.js';
import type { RateLimiter } from './rate-limit.js';
import { sendProblem } from './problem.js';

export interface ServerOptions {
  routes: RouteDef[];
  auth: Authenticator;
  metrics: Metrics;
  log: Logger;
  /** FLOWGATE_PUBLIC_URL without a trailing slash, or null to derive it from each request's Host. */
  publicUrl: string | null;
  /** False while the server shuts down: new requests (but health checks) get 503. */
  isAccepting: () => boolean;
  /** Per-key and per-workflow request rates (off unless configured). */
  rateLimiter?: RateLimiter;
  /** Header and request deadlines and the per-client connection cap (0 turns each off). */
  connections: ConnectionLimits;
  /** The web console, answering the GETs no route matches outside the API's paths. */
  console?: ConsoleSite;
  /** Cross-origin requests (off unless FLOWGATE_CORS_ORIGINS names origins). */
  cors?: CorsPolicy;
  /** Writes the access log line of each request (FLOWGATE_ACCESS_LOG); absent: none. */
  accessLog?: (line: AccessLine) => void;
}

/** One request as the access log shows it. */
export interface AccessLine {
  method: string | undefined;
  /** The request's path, or the route's pattern when its URL is its credential; never the query. */
  path: string;
  route: string;
  status: number;
  duration_ms: number;
  client: string | undefined;
}

export interface ConnectionLimits {
  /** The header block must arrive within this (ms): of the connection's opening for its first request, of the request's first byte after that. */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (ms); else 408 and the connection closes. */
  requestTimeoutMs: number;
  /** Open connections one client address may hold; further ones are closed at once. */
  maxConnectionsPerClient: number;
}

/** Idle keep-alive connections close after this (longer than the 60 s idle timeout of common load balancers). */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

const ANONYMOUS: Principal = { kind: 'key', role: 'read', tenant: '' };

export function baseUrl(req: IncomingMessage, publicUrl: string | null): string {
  if (publicUrl) return publicUrl;
  const host = req.headers.host ?? `127.0.0.1:${req.socket.localPort}`;
  return `http://${host}`;
}

export function createHttpServer(opts: ServerOptions): http.Server {
  const router = FindMyWay({ ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 512 });
  const byPath = new Map<string, Set<string>>();
  for (const route of opts.routes) {
    router.on(route.method, route.path, () => undefined, route);
    if (!byPath.has(route.path)) byPath.set(route.path, new Set());
    byPath.get(route.path)!.add(route.method);
  }

  /** The methods a path answers (HEAD wherever GET, OPTIONS everywhere), for Allow and 405s. */
  const allowed = (path: string): string[] => {
    const methods = ['GET', 'POST', 'PUT', 'DELETE'].filter((m) => router.find(m as 'GET', path));
    if (methods.length === 0) return [];
    if (methods.includes('GET')) methods.splice(1, 0, 'HEAD');
    return [...methods, 'OPTIONS'];
  };
  const cors = opts.cors ?? corsPolicy([]);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    // HEAD is GET without the body (node:http drops the body of a HEAD answer by itself).
    const found = router.find((req.method === 'HEAD' ? 'GET' : req.method) as 'GET', path);
    const route = found?.store as RouteDef | undefined;
    const label = route?.name ?? (req.method === 'OPTIONS' ? 'options' : 'unmatched');
    try {
      cors.apply(req, res);
      if (req.method === 'OPTIONS') return options(req, res, path);
      if ((!found || !route) && opts.console?.serve(req, res, path)) return;
      if (!found || !route) {
        const allow = allowed(path);
        if (allow.length) throw new FlowgateError('method_not_allowed', `${req.method} is not allowed here`, { headers: { Allow: allow.join(', ') } });
        throw new FlowgateError('not_found', `no route for ${req.method} ${path}`);
      }
      if (!opts.isAccepting() && route.auth !== 'public') {
        throw new FlowgateError('unavailable', 'the server is shutting down', { headers: { 'Retry-After': '1', Connection: 'close' } });
      }
      const ctx: Ctx = {
        req, res, params: found.params, query: new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1)),
        base: baseUrl(req, opts.publicUrl), principal: ANONYMOUS,
      };
      if (route.auth !== 'public') {
        const tenantHeader = req.headers['flowgate-tenant'];
        const tenant = Array.isArray(tenantHeader) ? tenantHeader[0] : tenantHeader;
        ctx.principal = opts.auth.knownPrincipal(req.headers.authorization, tenant) ?? await opts.auth.authenticate(req.headers.authorization, tenant);
        requireRole(ctx.principal, route.auth);
        if (opts.rateLimiter?.enabled && ctx.principal.kind !== 'admin') {
          await opts.rateLimiter.admit(ctx.principal.key_id, route.startsRuns && ctx.params.id ? [{ tenant: ctx.principal.tenant, id: ctx.params.id }] : []);
        }
      }
      await route.handler(ctx);
    } catch (e) {
      if (!(e instanceof FlowgateError)) opts.log.error({ err: e, method: req.method, path }, 'request failed');
      if (!res.headersSent) sendProblem(res, e, path);
      else res.destroy();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      opts.metrics.observeRequest(label, res.statusCode, seconds);
      // The path of a route whose URL is its credential (a callback token, a direct-URL hash, a
      // launch key) is logged as the route's pattern; no query string is logged (it may carry refs).
      opts.accessLog?.({
        method: req.method, path: route && route.auth !== 'public' ? path : route?.path ?? 'unmatched', route: label,
        status: res.statusCode, duration_ms: Math.round(seconds * 1e5) / 100, client: req.socket.remoteAddress,
      });
    }
  };

  /**
   * OPTIONS answers which methods the path takes (no credentials needed: a browser's preflight
   * carries none), with the preflight headers for an allowed origin; `OPTIONS *` asks of the server.
   */
  const options = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    const allow = path === '*' ? ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'] : allowed(path);
    if (allow.length === 0) {
      if (!opts.console?.serves(path)) throw new FlowgateError('not_found', `no route for OPTIONS ${path}`);
      allow.push('GET', 'HEAD', 'OPTIONS');
    }
    res.setHeader('Allow', allow.join(', '));
    cors.preflight(req, res, allow.join(', '));
    res.writeHead(204).end();
  };

  const limits = opts.connections;
  const server = http.createServer({
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks both deadlines on this interval (30 s by default): a fraction of the shorter one
    // keeps a deadline from being overrun by more than that.
    connectionsCheckingInterval: checkingInterval(limits),
  }, (req, res) => void handle(req, res));
  if (limits.maxConnectionsPerClient > 0) capConnectionsPerClient(server, limits.maxConnectionsPerClient);
  return server;
}

function checkingInterval(limits: ConnectionLimits): number {
  const deadlines = [limits.headersTimeoutMs, limits.requestTimeoutMs].filter((ms) => ms > 0);
  if (deadlines.length === 0) return 30_000;
  return Math.max(50, Math.min(1000, Math.floor(Math.min(...deadlines) / 4)));
}

/**
 * At most `max` open connections per client address: one address cannot take every socket and
 * file descriptor of the server (slow or idle clients). A connection over the cap is closed at once,
 * before anything of it is read.
 */
function capConnectionsPerClient(server: http.Server, max: number): void {
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) return; // already closed
    const n = (open.get(address) ?? 0) + 1;
    if (n > max) {
      socket.destroy();
      return;
    }
    open.set(address, n);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}
