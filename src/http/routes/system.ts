/** Liveness, readiness (not while starting, stopping or out of storage space), metrics, who the caller is, and the OpenAPI document. */
import { FlowgateError } from '../../core/errors.js';
import type { RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { openApiDocument } from '../openapi.js';
import { sendJson, sendText } from '../problem.js';

export function systemRoutes(d: RouteDeps): RouteDef[] {
  return [
    { method: 'GET', path: '/healthz', auth: 'public', name: 'healthz', handler: async (ctx) => sendJson(ctx.res, 200, { status: 'ok' }) },
    {
      method: 'GET', path: '/readyz', auth: 'public', name: 'readyz',
      handler: async (ctx) => {
        if (!d.isReady()) throw new FlowgateError('unavailable', 'the server is starting or stopping', { headers: { 'Retry-After': '1' } });
        if (d.storeAway()) {
          throw new FlowgateError('unavailable', 'the database cannot be reached; the node retries its connection', { headers: { 'Retry-After': String(d.retryAfterSeconds) } });
        }
        if (d.storageFull()) {
          throw new FlowgateError('storage_full', 'the server has no storage space left and refuses writes', { headers: { 'Retry-After': String(d.retryAfterSeconds) } });
        }
        sendJson(ctx.res, 200, { status: 'ready' });
      },
    },
    {
      // Its labels name every tenant's workflows: the admin token or the metrics token, never a tenant key.
      method: 'GET', path: '/metrics', auth: 'public', name: 'metrics',
      handler: async (ctx) => {
        if (!d.auth.mayScrape(ctx.req.headers.authorization)) throw new FlowgateError('forbidden', '/metrics needs the admin token or FLOWGATE_METRICS_TOKEN');
        sendText(ctx.res, 200, d.metrics.registry.contentType, await d.metrics.registry.metrics());
      },
    },
    {
      method: 'GET', path: '/v1/whoami', auth: 'read', name: 'whoami',
      handler: async (ctx) => {
        const p = ctx.principal;
        sendJson(ctx.res, 200, { kind: p.kind, role: p.role, tenant: p.tenant, ...(p.key_id ? { key_id: p.key_id } : {}) });
      },
    },
    { method: 'GET', path: '/v1/openapi.json', auth: 'public', name: 'openapi', handler: async (ctx) => sendJson(ctx.res, 200, openApiDocument(ctx.base)) },
  ];
}
