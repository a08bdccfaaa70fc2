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

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const found = router.find(req.method as 'GET', path);
    const route = found?.store as RouteDef | undefined;
    const label = route?.name ?? 'unmatched';
    try {
      if ((!found || !route) && opts.console?.serve(req, res, path)) return;
      if (!found || !route) {
        const other = ['GET', 'POST', 'PUT', 'DELETE'].filter((m) => m !== req.method && router.find(m as 'GET', path));
        if (other.length) throw new FlowgateError('method_not_allowed', `${req.method} is not allowed here`, { headers: { Allow: other.join(', ') } });
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
    }
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
