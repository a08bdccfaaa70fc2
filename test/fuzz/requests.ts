/**
 * One generated request: a category of hostility, a route, a credential, and the bytes. Built with
 * fast-check's imperative generator from a per-request seed, so `(seed, index)` names a request.
 */
import type { Outgoing } from './client.js';
import type { Route } from './routes.js';
import { CATEGORIES, csvBody, definitionBody, enc, hostileParams, paramsBody, validParams, type Category, type Params } from './bodies.js';
import { bogusId, chance, hugeString, int, NUMBERS_JSON, NUMBERS_TEXT, pick, protoJson, truncate, unicodeString, bogusCursor, MALFORMED_JSON, WRONG_TYPES, type G } from './values.js';
import { ADMIN_TOKEN, type Role, type Tenant, type WorkflowFixture, type World } from './world.js';
import { sign as corezoidSign } from '../compat/corezoid-client.js';

export { CATEGORIES, type Category };

/** What the fuzzer learnt from earlier answers, per tenant (ids it may aim at). */
export interface Pools {
  scratchWorkflows: Record<Tenant, string[]>;
  scratchKeys: Record<Tenant, string[]>;
  scratchLogins: Record<Tenant, number[]>;
  scratchSecrets: Record<Tenant, string[]>;
  launchKeys: Record<Tenant, string[]>;
}

export const emptyPools = (): Pools => ({
  scratchWorkflows: { alpha: [], beta: [] }, scratchKeys: { alpha: [], beta: [] }, scratchLogins: { alpha: [], beta: [] },
  scratchSecrets: { alpha: [], beta: [] }, launchKeys: { alpha: [], beta: [] },
});

export interface FuzzRequest {
  index: number;
  category: Category;
  route: Route;
  out: Outgoing;
  /** The tenant whose credential (or workflow credential: hash, GUID, launch key) the request carries; null: none. */
  actor: Tenant | null;
  /** The workflow whose runs the request may start. */
  starts: WorkflowFixture | null;
  /** A wrong, missing or too weak credential, or another tenant's id: a 2xx answer is a finding. */
  expectRefused: boolean;
  /** The path names another tenant's id. */
  foreign: boolean;
  /** What the request authenticates with: the admin token, a tenant key, nothing or a bad credential (public routes: none). */
  credential: 'admin' | 'key' | 'none' | 'bad';
  /** What is hostile about it, in a few words. */
  note: string;
}

const ROLE_RANK: Record<Role, number> = { read: 0, trigger: 1, admin: 2 };
const other = (t: Tenant): Tenant => (t === 'alpha' ? 'beta' : 'alpha');
function kindFor(g: G, category: Category): string | null {
  if (category === 'regex') return pick(g, ['regex', 'regex', 'expr', 'params']);
  if (category === 'fan-out') return 'foreach';
  if (category === 'endless') return pick(g, ['loop', 'loop', 'code']);
  return null;
}

export interface BuildContext {
  world: World;
  pools: Pools;
  routes: Route[];
  /** Draw only from these categories (default: all). */
  categories?: readonly Category[];
}

/** Builds request `index` of a run. */
export function buildRequest(g: G, index: number, ctx: BuildContext): FuzzRequest {
  const { world, pools } = ctx;
  const category = pick(g, ctx.categories ?? CATEGORIES);
  const special = category === 'regex' || category === 'fan-out' || category === 'endless';
  let candidates = ctx.routes.filter((r) => (special ? r.starts && r.name !== 'importRuns' : true));
  if (category === 'credentials') candidates = candidates.filter((r) => !r.public || r.surface !== 'native');
  // Routes that start runs are where the known defects live: they are drawn twice as often.
  const weighted = candidates.flatMap((r) => (r.starts ? [r, r] : [r]));
  const route = pick(g, weighted);
  const tenant: Tenant = chance(g, 0.35) ? 'beta' : 'alpha';
  const fx = world.tenants[tenant];
  const wantKind = kindFor(g, category);
  const ownWorkflows = fx.workflows.filter((w) => w.kind !== 'child');
  const wf = (wantKind && fx.workflows.find((w) => w.kind === wantKind)) || pick(g, ownWorkflows.length ? ownWorkflows : fx.workflows);
  let expectRefused = false;
  let foreign = false;
  const notes: string[] = [];

  const runId = (): string => {
    if (category === 'bogus-ids' && chance(g, 0.7)) {
      notes.push('bogus run id');
      return bogusId(g);
    }
    if (chance(g, 0.1) && world.tenants[other(tenant)].runs.length) {
      foreign = true;
      notes.push("another tenant's run id");
      return pick(g, world.tenants[other(tenant)].runs);
    }
    return fx.runs.length ? pick(g, fx.runs) : bogusId(g);
  };
  const workflowId = (mutating: boolean): string => {
    if (category === 'bogus-ids' && chance(g, 0.7)) {
      notes.push('bogus workflow id');
      return bogusId(g);
    }
    if (mutating) {
      const scratch = pools.scratchWorkflows[tenant];
      return scratch.length && chance(g, 0.6) ? pick(g, scratch) : `${tenant}-scratch-${int(g, 0, 5)}`;
    }
    if (chance(g, 0.08)) {
      foreign = true;
      notes.push("another tenant's workflow id");
      return pick(g, world.tenants[other(tenant)].workflows).id;
    }
    return wf.id;
  };

  // --- credentials
  const headers: Record<string, string> = {};
  let actor: Tenant | null = tenant;
  let credential: FuzzRequest['credential'] = 'none';
  const keyed = !route.public;
  if (keyed) {
    if (category === 'credentials') {
      const bad = pick(g, ['none', 'bogus', 'empty', 'basic', 'low-role', 'huge', 'revoked-looking', 'admin-lowercase-scheme']);
      notes.push(`credential: ${bad}`);
      if (bad === 'low-role' && route.role !== 'read') {
        const low = pick(g, (['read', 'trigger'] as Role[]).filter((r) => ROLE_RANK[r] < ROLE_RANK[route.role]));
        headers.authorization = `Bearer ${fx.keys[low].token}`;
        expectRefused = true;
        credential = 'key';
      } else if (bad === 'admin-lowercase-scheme') {
        headers.authorization = `bearer ${ADMIN_TOKEN}`;
        headers['flowgate-tenant'] = tenant;
        credential = 'admin';
      } else if (bad !== 'none' && bad !== 'low-role') {
        headers.authorization = bad === 'bogus' ? 'Bearer fg_bogus' : bad === 'empty' ? 'Bearer ' : bad === 'basic' ? 'Basic dXNlcjpwYXNz' : bad === 'huge' ? `Bearer ${'x'.repeat(9000)}` : `Bearer ${fx.keys.read.token}x`;
        expectRefused = true;
        actor = null;
        credential = 'bad';
      } else {
        expectRefused = bad === 'none' || route.role !== 'read';
        actor = null;
        credential = 'none';
        if (bad === 'low-role') {
          headers.authorization = `Bearer ${fx.keys.read.token}`;
          actor = tenant;
          credential = 'key';
        }
      }
    } else if (chance(g, 0.3)) {
      headers.authorization = `Bearer ${ADMIN_TOKEN}`;
      headers['flowgate-tenant'] = tenant;
      credential = 'admin';
    } else {
      credential = 'key';
      const roles = (['read', 'trigger', 'admin'] as Role[]).filter((r) => ROLE_RANK[r] >= ROLE_RANK[route.role]);
      const token = fx.keys[pick(g, roles)].token;
      if (route.surface === 'luma' && chance(g, 0.5)) headers['itas-api-access-key'] = token;
      else headers.authorization = `Bearer ${token}`;
    }
  }

  // --- path, query, body
  const query: [string, string][] = [];
  let body: Buffer | undefined;
  let type: string | null = null;
  let starts: WorkflowFixture | null = null;
  let path = route.template;
  const setPath = (name: string, value: string, encoded = false): void => {
    path = path.replace(`{${name}}`, encoded ? value : enc(value));
  };
  const params = (): Params => hostileParams(g, wf.kind, category, world);
  const fillBody = (allowed: string[], p: Params = params()): void => {
    const b = paramsBody(g, p, category, allowed);
    body = b.body;
    type = b.type;
    notes.push(b.note);
  };
  const jsonBody = (text: string, note?: string): void => {
    const p: Params = { json: text, form: '', xml: '', note: note ?? '' };
    const b = paramsBody(g, p, category, ['application/json']);
    body = b.body;
    type = b.type;
    if (category === 'malformed' || category === 'content-type') notes.push(b.note);
    else if (note) notes.push(note);
  };
  const genericQuery = (): void => {
    for (const p of route.params.filter((x) => x.in === 'query')) {
      if (!chance(g, category === 'valid' ? 0.3 : 0.5)) continue;
      query.push([p.name, queryValue(g, p.name, category, world, tenant)]);
    }
  };

  switch (route.name) {
    case 'triggerRun': {
      const id = workflowId(false);
      setPath('id', id, category === 'bogus-ids');
      starts = foreign || category === 'bogus-ids' ? null : wf;
      fillBody(route.bodyTypes);
      if (chance(g, 0.25)) query.push(['wait', category === 'numbers' ? pick(g, NUMBERS_TEXT) : String(int(g, 0, 2))]);
      if (chance(g, 0.2)) query.push(['ref', category === 'huge' ? 'r'.repeat(pick(g, [255, 256, 5000])) : category === 'unicode' ? unicodeString(g) : `r${int(g, 0, 30)}`]);
      if (chance(g, 0.1)) query.push(['callback_url', callbackUrl(g, world)]);
      if (chance(g, 0.1)) headers.prefer = `wait=${category === 'numbers' ? pick(g, NUMBERS_TEXT) : int(g, 0, 2)}`;
      if (chance(g, 0.1)) headers['idempotency-key'] = `k${int(g, 0, 30)}`;
      break;
    }
    case 'triggerBatch': {
      setPath('id', workflowId(false), category === 'bogus-ids');
      starts = foreign || category === 'bogus-ids' ? null : wf;
      const n = category === 'huge' && chance(g, 0.5) ? pick(g, [1000, 1001, 5000]) : int(g, 1, 4);
      const one = params().json;
      const items = Array.from({ length: n }, (_, i) => (n > 10 ? `{"data":{}}` : `{${chance(g, 0.4) ? `"ref":"b${int(g, 0, 20)}",` : ''}"data":${i === 0 ? one : JSON.stringify(validParams(g, wf.kind, world))}}`));
      jsonBody(`{"items":[${items.join(',')}]}`, `a batch of ${n}`);
      break;
    }
    case 'importRuns': {
      setPath('id', workflowId(false), category === 'bogus-ids');
      starts = foreign || category === 'bogus-ids' ? null : wf;
      const csv = csvBody(g, wf.kind, category, world);
      body = Buffer.from(csv.text);
      type = category === 'content-type' ? pick(g, WRONG_TYPES) : 'text/csv';
      notes.push(csv.note);
      genericQuery();
      break;
    }
    case 'testStep': {
      setPath('id', workflowId(false), category === 'bogus-ids');
      setPath('step', category === 'bogus-ids' ? bogusId(g) : pick(g, wf.steps.length ? wf.steps : ['x']), category === 'bogus-ids');
      jsonBody(`{"data":${params().json}}`, 'step test');
      break;
    }
    case 'putWorkflow': {
      const id = workflowId(true);
      setPath('id', id, category === 'bogus-ids');
      const d = definitionBody(g, id, category, world);
      body = Buffer.from(d.text);
      type = category === 'content-type' ? pick(g, WRONG_TYPES) : d.type;
      notes.push(d.note);
      break;
    }
    case 'archiveWorkflow':
    case 'rotateHash':
    case 'getWorkflow': {
      setPath('id', workflowId(route.name !== 'getWorkflow'), category === 'bogus-ids');
      genericQuery();
      break;
    }
    case 'postCallback': {
      const tokens = world.tenants[tenant].callbackTokens;
      setPath('token', category === 'bogus-ids' || !tokens.length ? bogusId(g) : pick(g, tokens), true);
      fillBody(route.bodyTypes);
      break;
    }
    case 'putSecret':
    case 'deleteSecret': {
      const name = category === 'bogus-ids' || category === 'unicode' ? unicodeString(g) : `${tenant}_s${int(g, 0, 4)}`;
      setPath('name', name);
      if (route.method === 'PUT') jsonBody(category === 'huge' ? JSON.stringify({ value: hugeString(g) }) : category === 'proto-keys' ? protoJson(g, { value: 'v' }) : `{"value":${JSON.stringify(category === 'unicode' ? unicodeString(g) : 'v')}}`);
      break;
    }
    case 'createKey': {
      const t = chance(g, 0.3) ? other(tenant) : chance(g, 0.2) ? pick(g, ['Alpha', 'a'.repeat(65), '', '__proto__', 'gamma']) : tenant;
      jsonBody(category === 'proto-keys' ? protoJson(g, { name: 'k', role: 'read' }) : JSON.stringify({ name: category === 'huge' ? hugeString(g) : category === 'unicode' ? unicodeString(g) : 'fuzz', role: pick(g, ['read', 'trigger', 'admin', 'root', '']), ...(chance(g, 0.5) ? { tenant: t } : {}) }), `a key for ${JSON.stringify(t).slice(0, 20)}`);
      break;
    }
    case 'deleteKey': {
      const scratch = pools.scratchKeys[tenant];
      setPath('id', scratch.length && category !== 'bogus-ids' ? pick(g, scratch) : bogusId(g), true);
      break;
    }
    case 'createApiLogin':
      jsonBody(category === 'proto-keys' ? protoJson(g, { name: 'l' }) : JSON.stringify({ name: category === 'huge' ? hugeString(g) : category === 'unicode' ? unicodeString(g) : 'fuzz' }));
      break;
    case 'deleteApiLogin': {
      const scratch = pools.scratchLogins[tenant];
      setPath('login', scratch.length && category !== 'bogus-ids' ? String(pick(g, scratch)) : bogusId(g), true);
      break;
    }
    default:
      break;
  }

  if (route.surface === 'native' && path.includes('{id}') && route.template.startsWith('/v1/runs/')) setPath('id', runId(), category === 'bogus-ids');
  if (route.surface === 'native' && route.template.startsWith('/v1/runs') && route.name !== 'triggerRun') genericQuery();
  if (['listWorkflows', 'listRuns'].includes(route.name) && query.length === 0) genericQuery();

  if (route.surface === 'corezoid' || route.surface === 'corezoid-sync') {
    const r = corezoidRequest(g, route, category, tenant, wf, world, params);
    path = r.path;
    body = r.body;
    type = 'application/json';
    starts = r.starts;
    actor = r.actor;
    notes.push(r.note);
    expectRefused ||= r.expectRefused;
  } else if (route.surface === 'corezoid-direct') {
    const bad = category === 'credentials' ? pick(g, ['hash', 'conv', 'swap']) : null;
    const otherWf = pick(g, world.tenants[other(tenant)].workflows);
    setPath('conv_id', bad === 'conv' ? bogusId(g) : String(bad === 'swap' ? otherWf.convId : wf.convId), bad === 'conv');
    setPath('hash', bad === 'hash' ? pick(g, ['0'.repeat(40), wf.hash.slice(0, 39), wf.hash.toUpperCase() + '0', '']) : wf.hash);
    if (bad) {
      notes.push(`direct URL with a bad ${bad}`);
      expectRefused = true;
    }
    starts = bad ? null : wf;
    fillBody(route.bodyTypes);
    if (chance(g, 0.2)) query.push(['ref', category === 'unicode' ? unicodeString(g) : `d${int(g, 0, 30)}`]);
    if (route.name.includes('nvp') && chance(g, 0.3)) query.push([pick(g, ['name', '__proto__', 'ops', 'amount']), category === 'numbers' ? pick(g, NUMBERS_TEXT) : 'abc']);
  } else if (route.name === 'csi.execute' || route.name === 'csi.executepolling') {
    const bad = category === 'credentials' || category === 'bogus-ids';
    setPath('guid', bad ? pick(g, ['00000000-0000-4000-8000-000000000000', wf.guid.slice(0, -1), bogusId(g)]) : wf.guid, bad);
    if (bad) {
      notes.push('bad GUID');
      expectRefused = true;
    }
    starts = bad ? null : wf;
    const p = params();
    const wrapped: Params = chance(g, 0.6) ? { ...p, json: `{"${pick(g, ['QueryParameters', 'queryparameters', 'QUERYPARAMETERS'])}":${p.json}}` } : p;
    fillBody(route.bodyTypes, wrapped);
    if (chance(g, 0.1)) headers['idempotency-key'] = `c${int(g, 0, 30)}`;
  } else if (route.name === 'csi.status') {
    const own = fx.runs.length && chance(g, 0.6);
    setPath('guid', category === 'bogus-ids' ? bogusId(g) : wf.guid, category === 'bogus-ids');
    setPath('runId', own ? pick(g, fx.runs) : runId(), !own && category === 'bogus-ids');
    if (path.includes(world.tenants[other(tenant)].runs.find((r) => path.includes(r)) ?? '\0')) expectRefused = true;
  } else if (route.surface === 'luma') {
    const r = lumaRequest(g, route, category, tenant, wf, world, pools, runId, params);
    path = r.path ?? path;
    if (r.body !== undefined) jsonBody(r.body, r.note);
    starts = r.starts;
    for (const [k, v] of r.query) query.push([k, v]);
  } else if (route.surface === 'launch') {
    const keys = pools.launchKeys[tenant];
    let key: string;
    const tamper = category === 'credentials' || category === 'bogus-ids';
    if (keys.length && (!tamper || chance(g, 0.7))) {
      key = pick(g, keys);
      if (tamper) {
        // One changed character (the signature's last one half of the time): must never open the page.
        const at = chance(g, 0.5) ? key.length - 1 : int(g, 0, key.length - 1);
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        const c = alphabet[(alphabet.indexOf(key[at]!) + int(g, 1, 63)) % 64]!;
        key = key.slice(0, at) + c + key.slice(at + 1);
        expectRefused = true;
        notes.push(`launch key changed at ${at === key.length - 1 ? 'its last character' : `character ${at}`}`);
      }
    } else {
      key = bogusId(g);
      expectRefused = key !== '';
      notes.push('made-up launch key');
    }
    setPath('key', key, true);
  }

  if (foreign && keyed) expectRefused = true;
  if (foreign && route.name === 'luma.trigger') expectRefused = true;
  if (category === 'credentials' && !keyed && route.surface === 'native') expectRefused = false;
  // Leftover path parameters of routes without their own builder: a real id where one exists.
  path = path.replace(/\{([a-zA-Z_]+)\}/g, (_, name: string) => enc(name === 'id' ? wf.id : bogusId(g)));
  if (category === 'proto-keys' && chance(g, 0.5)) query.push([pick(g, ['__proto__', 'constructor', '__proto__[x]', 'constructor.prototype.x']), '1']);
  if (category === 'unicode' && chance(g, 0.3)) query.push([unicodeString(g), unicodeString(g)]);
  if (type !== null) headers['content-type'] = type;
  if (category === 'content-type' && body === undefined && chance(g, 0.5)) {
    body = Buffer.from(pick(g, ['{"a":1}', '<a/>', 'a=1', '\u0000']));
    headers['content-type'] = pick(g, WRONG_TYPES);
    notes.push('a body where none is expected');
  }
  const qs = query.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
  return {
    index, category, route, actor, starts, expectRefused, foreign, credential,
    out: { method: route.method, path: qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path, headers, body },
    note: notes.filter(Boolean).join('; ') || 'valid',
  };
}

function callbackUrl(g: G, world: World): string {
  return pick(g, [`${world.target.url}/cb`, 'ftp://127.0.0.1/x', '/relative', `http://user:pass@127.0.0.1:1/x`, `http://127.0.0.1/${'x'.repeat(2100)}`, 'http://[::1', 'javascript:alert(1)', '']);
}

function queryValue(g: G, name: string, category: Category, world: World, tenant: Tenant): string {
  if (category === 'numbers' || (category !== 'valid' && ['limit', 'version', 'skip', 'top'].includes(name) && chance(g, 0.5))) return pick(g, NUMBERS_TEXT);
  if (name === 'cursor') return category === 'valid' ? '' : bogusCursor(g);
  if (category === 'unicode') return unicodeString(g);
  if (category === 'huge') return 'q'.repeat(pick(g, [1000, 8000, 60_000]));
  if (category === 'bogus-ids' || category === 'malformed') return bogusId(g);
  switch (name) {
    case 'limit': return String(int(g, 1, 100));
    case 'status': return pick(g, ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'bogus']);
    case 'workflow': return pick(g, world.tenants[tenant].workflows).id;
    case 'since': case 'until': return pick(g, ['2024-01-01T00:00:00Z', new Date().toISOString(), 'yesterday', '0', '1e20']);
    case 'parent': return world.tenants[tenant].runs[0] ?? 'x';
    case 'version': return String(int(g, 1, 3));
    case 'delimiter': return pick(g, [',', ';', '|', 'comma', 'tab', '']);
    case 'encoding': return pick(g, ['utf-8', 'windows-1251', 'cp1251', 'utf-16', 'latin1']);
    case 'header': case 'partial': case 'dry_run': return pick(g, ['true', 'false', 'yes', '']);
    case 'format': return pick(g, ['json', 'csv', 'xml']);
    case 'ref_column': return pick(g, ['name', 'ref', 'missing']);
    case 'from': return pick(g, ['start', 'failed', '']);
    default: return 'x';
  }
}

function corezoidRequest(g: G, route: Route, category: Category, tenant: Tenant, wf: WorkflowFixture, world: World, params: () => Params): { path: string; body: Buffer; starts: WorkflowFixture | null; actor: Tenant | null; note: string; expectRefused: boolean } {
  const login = world.tenants[tenant].login;
  const v = route.name.endsWith('v2') ? 2 : 1;
  const ops: string[] = [];
  const n = category === 'huge' && chance(g, 0.3) ? pick(g, [100, 101, 1000]) : int(g, 1, 3);
  let note = `${n} op(s)`;
  for (let i = 0; i < n; i++) {
    const type = n > 3 ? 'create' : pick(g, ['create', 'create', 'show', 'modify', 'delete']);
    const runs = world.tenants[chance(g, 0.2) ? (tenant === 'alpha' ? 'beta' : 'alpha') : tenant].runs;
    const target = type === 'create' ? `"conv_id":${chance(g, 0.1) ? pick(g, ['"x"', '-1', '1e400', 'null']) : wf.convId}` : `"obj_id":${JSON.stringify(runs.length ? pick(g, runs) : 'x')}`;
    const ref = chance(g, 0.3) ? `"ref":${JSON.stringify(category === 'huge' ? 'r'.repeat(256) : `z${int(g, 0, 20)}`)},` : '';
    const data = i === 0 || n <= 3 ? params().json : '{}';
    ops.push(`{"type":"${type}","obj":"${chance(g, 0.05) ? 'conveyor' : 'task'}",${ref}${target},"data":${data}}`);
  }
  let text = `{${route.surface === 'corezoid-sync' && chance(g, 0.7) ? `"timeout":${category === 'numbers' ? pick(g, NUMBERS_JSON) : int(g, 0, 2)},` : ''}"ops":[${ops.join(',')}]}`;
  if (category === 'malformed') {
    text = chance(g, 0.5) ? truncate(g, text) : pick(g, ['{"ops":{}}', '{"ops":null}', '[]', '{"ops":[1,"x",null]}', ...MALFORMED_JSON]);
    note = 'malformed envelope';
  }
  let time = String(Math.floor(Date.now() / 1000));
  let signature = corezoidSign(time, login.secret, text);
  let loginPart = String(login.login);
  let expectRefused = false;
  if (category === 'credentials') {
    const bad = pick(g, ['signature', 'time', 'login', 'other-tenant', 'sha256-upper']);
    note = `signed API with a bad ${bad}`;
    if (bad === 'signature') signature = signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0');
    else if (bad === 'time') {
      time = pick(g, ['0', '-1', '99999999999', 'abc', String(Math.floor(Date.now() / 1000) - 10_000)]);
      signature = corezoidSign(time, login.secret, text);
    } else if (bad === 'login') loginPart = pick(g, ['1', '99999999', 'x', '-1']);
    else if (bad === 'other-tenant') {
      const o = world.tenants[tenant === 'alpha' ? 'beta' : 'alpha'].login;
      signature = corezoidSign(time, o.secret, text);
    } else signature = corezoidSign(time, login.secret, text, 'sha256').toUpperCase();
    expectRefused = bad !== 'sha256-upper';
  }
  const prefix = route.surface === 'corezoid-sync' ? '/sync' : '';
  return {
    path: `${prefix}/api/${v}/json/${enc(loginPart)}/${enc(time)}/${signature}`, body: Buffer.from(text),
    starts: expectRefused ? null : wf, actor: expectRefused ? null : tenant, note, expectRefused,
  };
}

function lumaRequest(g: G, route: Route, category: Category, tenant: Tenant, wf: WorkflowFixture, world: World, pools: Pools, runId: () => string, params: () => Params): { path?: string; body?: string; note?: string; starts: WorkflowFixture | null; query: [string, string][] } {
  const query: [string, string][] = [];
  const G_ = '/gateway/api/v1';
  void pools;
  switch (route.name) {
    case 'luma.trigger': {
      const foreignWf = chance(g, 0.1);
      const ident = category === 'bogus-ids' ? pick(g, ['', ' ', 'x'.repeat(1000), '__proto__']) : foreignWf ? world.tenants[tenant === 'alpha' ? 'beta' : 'alpha'].workflows[0]!.id : chance(g, 0.2) ? ` ${wf.id} ` : wf.id;
      const initiator = category === 'numbers' ? pick(g, NUMBERS_JSON) : chance(g, 0.5) ? String(int(g, 1, 999)) : '"c-1"';
      return {
        body: `{"workflowIdentifier":${JSON.stringify(ident)},"variables":${params().json},"initiatorContactId":${initiator},"initiationInfo":${chance(g, 0.5) ? '{"source":"fuzz"}' : '"x"'}}`,
        note: foreignWf ? "another tenant's workflow" : undefined,
        starts: category === 'bogus-ids' || foreignWf ? null : wf,
        query,
      };
    }
    case 'luma.history':
      return { path: `${G_}/workflowhistory/${enc(runId())}`, starts: null, query };
    case 'luma.stephistory': {
      const filter = category === 'regex' || category === 'huge' ? pick(g, ['status==FAILED;'.repeat(5000), 'a'.repeat(20_000) + '==', '((((((((((']) : category === 'unicode' ? unicodeString(g) : pick(g, ['status==FAILED', 'status ==completed', 'activityType!=set', 'bogus==1', '==', ';;;', '']);
      if (chance(g, 0.6)) query.push(['filter', filter]);
      if (chance(g, 0.4)) query.push(['orderBy', pick(g, ['id desc', 'startTime asc', 'endTime', 'bogus desc', 'id sideways', ''])]);
      if (chance(g, 0.4)) query.push(['skip', category === 'numbers' ? pick(g, NUMBERS_TEXT) : String(int(g, 0, 3))]);
      if (chance(g, 0.4)) query.push(['top', category === 'numbers' ? pick(g, NUMBERS_TEXT) : String(int(g, 0, 3))]);
      return { path: `${G_}/workflowhistory/${enc(runId())}/stephistory`, starts: null, query };
    }
    case 'luma.stephistory.record':
      return { path: `${G_}/workflowhistory/${enc(runId())}/stephistory/${enc(category === 'numbers' ? pick(g, NUMBERS_TEXT) : String(int(g, 0, 5)))}`, starts: null, query };
    default: {
      const ctx = chance(g, 0.85) ? 'WORKFLOW_EXECUTION_STATUS' : pick(g, ['', 'OTHER', '__proto__']);
      return { body: `{"launchContext":${JSON.stringify(ctx)},"contextInfo":{"triggerId":${JSON.stringify(runId())}}}`, starts: null, query };
    }
  }
}
