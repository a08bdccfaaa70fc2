/**
 * Every route the fuzzer sends to: the native API as the server's own OpenAPI document describes it
 * (paths, methods, parameter locations, body types), and the compatibility surfaces, which that document
 * does not cover (docs/compatibility.md).
 */
import type { Role } from './world.js';

export interface RouteParam {
  name: string;
  in: 'path' | 'query' | 'header';
  schema: Record<string, unknown>;
}

export interface Route {
  /** operationId for native routes; a surface name for compatibility routes. */
  name: string;
  surface: 'native' | 'corezoid' | 'corezoid-sync' | 'corezoid-direct' | 'csi' | 'luma' | 'launch';
  method: string;
  /** `{name}` marks path parameters. */
  template: string;
  params: RouteParam[];
  bodyTypes: string[];
  /** No bearer token: the path carries its own credential, or the route is a probe. */
  public: boolean;
  /** The role a tenant key needs (keyed routes). */
  role: Role;
  /** The route can start runs. */
  starts: boolean;
}

const TRIGGER_ROLE = new Set(['triggerRun', 'triggerBatch', 'importRuns', 'cancelRun', 'retryRun']);
const STARTS = new Set(['triggerRun', 'triggerBatch', 'importRuns']);

/** The native routes of an OpenAPI 3.1 document (`$ref`s to components resolved). */
export function routesFromOpenApi(doc: any): Route[] {
  const resolve = (p: any): any => {
    if (!p?.$ref) return p;
    const path = String(p.$ref).replace(/^#\//, '').split('/');
    let v: any = doc;
    for (const k of path) v = v?.[k];
    return v;
  };
  const routes: Route[] = [];
  for (const [template, item] of Object.entries<any>(doc.paths ?? {})) {
    const shared = (item.parameters ?? []).map(resolve);
    for (const [method, op] of Object.entries<any>(item)) {
      if (!['get', 'put', 'post', 'delete', 'patch'].includes(method)) continue;
      const params: RouteParam[] = [...shared, ...(op.parameters ?? []).map(resolve)]
        .filter((p: any) => p && ['path', 'query', 'header'].includes(p.in))
        .map((p: any) => ({ name: p.name, in: p.in, schema: p.schema ?? {} }));
      const name: string = op.operationId ?? `${method} ${template}`;
      routes.push({
        name, surface: 'native', method: method.toUpperCase(), template, params,
        bodyTypes: Object.keys(resolve(op.requestBody)?.content ?? {}),
        public: Array.isArray(op.security) && op.security.length === 0,
        role: TRIGGER_ROLE.has(name) ? 'trigger' : method === 'get' ? 'read' : 'admin',
        starts: STARTS.has(name),
      });
    }
  }
  return routes;
}

const q = (name: string, schema: Record<string, unknown> = { type: 'string' }): RouteParam => ({ name, in: 'query', schema });
const P = (name: string): RouteParam => ({ name, in: 'path', schema: { type: 'string' } });
const G = '/gateway/api/v1';

/** The compatibility routes (docs/compatibility.md). */
export const COMPAT_ROUTES: Route[] = [
  ...[1, 2].flatMap((v) => [
    { name: `corezoid.ops.v${v}`, surface: 'corezoid' as const, method: 'POST', template: `/api/${v}/json/{login}/{time}/{signature}`, params: [P('login'), P('time'), P('signature')], bodyTypes: ['application/json'], public: true, role: 'trigger' as Role, starts: true },
    { name: `corezoid.sync.v${v}`, surface: 'corezoid-sync' as const, method: 'POST', template: `/sync/api/${v}/json/{login}/{time}/{signature}`, params: [P('login'), P('time'), P('signature')], bodyTypes: ['application/json'], public: true, role: 'trigger' as Role, starts: true },
    ...(['json', 'xml', 'nvp'] as const).map((f) => ({
      name: `corezoid.direct.${f}.v${v}`, surface: 'corezoid-direct' as const, method: 'POST', template: `/api/${v}/${f}/public/{conv_id}/{hash}`,
      params: [P('conv_id'), P('hash'), q('ref')], bodyTypes: f === 'json' ? ['application/json'] : f === 'xml' ? ['application/xml', 'text/xml'] : ['application/x-www-form-urlencoded'],
      public: true, role: 'trigger' as Role, starts: true,
    })),
  ]),
  { name: 'csi.execute', surface: 'csi', method: 'POST', template: '/task/execute/{guid}', params: [P('guid')], bodyTypes: ['application/json', 'application/x-www-form-urlencoded', 'application/xml'], public: true, role: 'trigger', starts: true },
  { name: 'csi.executepolling', surface: 'csi', method: 'POST', template: '/task/executepolling/{guid}', params: [P('guid')], bodyTypes: ['application/json', 'application/x-www-form-urlencoded', 'application/xml'], public: true, role: 'trigger', starts: true },
  { name: 'csi.status', surface: 'csi', method: 'GET', template: '/task/executepolling/{guid}/{runId}/status', params: [P('guid'), P('runId')], bodyTypes: [], public: true, role: 'read', starts: false },
  { name: 'luma.trigger', surface: 'luma', method: 'POST', template: `${G}/workflow/trigger`, params: [], bodyTypes: ['application/json'], public: false, role: 'trigger', starts: true },
  { name: 'luma.history', surface: 'luma', method: 'GET', template: `${G}/workflowhistory/{triggerId}`, params: [P('triggerId')], bodyTypes: [], public: false, role: 'read', starts: false },
  {
    name: 'luma.stephistory', surface: 'luma', method: 'GET', template: `${G}/workflowhistory/{triggerId}/stephistory`,
    params: [P('triggerId'), q('filter'), q('orderBy'), q('skip', { type: 'integer' }), q('top', { type: 'integer' })], bodyTypes: [], public: false, role: 'read', starts: false,
  },
  { name: 'luma.stephistory.record', surface: 'luma', method: 'GET', template: `${G}/workflowhistory/{triggerId}/stephistory/{stepHistoryId}`, params: [P('triggerId'), P('stepHistoryId')], bodyTypes: [], public: false, role: 'read', starts: false },
  { name: 'luma.launch', surface: 'luma', method: 'POST', template: `${G}/launchincontexturl/generate`, params: [], bodyTypes: ['application/json'], public: false, role: 'read', starts: false },
  { name: 'launch.page', surface: 'launch', method: 'GET', template: '/launch/{key}', params: [P('key')], bodyTypes: [], public: true, role: 'read', starts: false },
];
