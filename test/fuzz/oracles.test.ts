// The fuzzer's oracles on hand-made answers: each one flags what it must and lets the documented answers pass.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Reply } from './client.js';
import { acknowledged, authBypass, crossTenantLeak, serverFault } from './oracles.js';
import type { FuzzRequest } from './requests.js';
import { COMPAT_ROUTES, routesFromOpenApi, type Route } from './routes.js';
import { A_MARKER } from './world.js';

const route = (over: Partial<Route> = {}): Route => ({ name: 'triggerRun', surface: 'native', method: 'POST', template: '/v1/workflows/{id}/runs', params: [], bodyTypes: [], public: false, role: 'trigger', starts: true, ...over });
const request = (over: Partial<FuzzRequest> = {}): FuzzRequest => ({
  index: 0, category: 'valid', route: route(), out: { method: 'POST', path: '/v1/workflows/beta-params/runs', headers: {} }, actor: 'beta', starts: null,
  expectRefused: false, foreign: false, credential: 'key', note: '', ...over,
});
const reply = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({ status, headers, text: typeof body === 'string' ? body : JSON.stringify(body), ms: 1 });

test('serverFault: a 500 is a fault; a 503 with Retry-After, a run-failed result and a Sync 504 are documented', () => {
  assert.equal(serverFault(request(), reply(500, { type: 'https://flowgate.dev/problems/internal' })), 'answered 500');
  assert.equal(serverFault(request(), reply(503, {}, { 'retry-after': '1' })), null);
  assert.equal(serverFault(request(), reply(503, {})), 'answered 503');
  assert.equal(serverFault(request(), reply(500, { type: 'https://flowgate.dev/problems/run-failed' })), null);
  assert.equal(serverFault(request(), reply(500, {}, { 'flowgate-run-id': 'r' })), null);
  assert.equal(serverFault(request({ route: route({ surface: 'corezoid-sync' }) }), reply(504, { request_proc: 'error' })), null);
  assert.match(serverFault(request({ route: route({ surface: 'corezoid-direct' }) }), reply(200, { ops: [{ proc: 'error', description: 'internal error; it has been logged' }] }))!, /internal error/);
});

test("crossTenantLeak: tenant B sees A's marker or an A id it did not send", () => {
  const ids = new Set(['01a2-run-of-a']);
  assert.match(crossTenantLeak(request(), reply(200, { name: A_MARKER }), ids)!, /marker/);
  assert.match(crossTenantLeak(request(), reply(200, { items: [{ id: '01a2-run-of-a' }] }), ids)!, /01a2-run-of-a/);
  // Echoing the id B's own request named is no leak; A's own requests are not checked.
  assert.equal(crossTenantLeak(request({ out: { method: 'GET', path: '/v1/runs/01a2-run-of-a', headers: {} } }), reply(404, { detail: 'run 01a2-run-of-a' }), ids), null);
  assert.equal(crossTenantLeak(request({ actor: 'alpha' }), reply(200, { name: A_MARKER }), ids), null);
  assert.match(crossTenantLeak(request(), reply(201, { id: 'k', tenant: 'alpha' }), ids)!, /tenant A/);
  // /metrics is server-wide: the admin token may read every tenant's series there; a tenant key is refused.
  const metrics = route({ name: 'metrics' });
  assert.equal(crossTenantLeak(request({ route: metrics, credential: 'admin' }), reply(200, { text: '01a2-run-of-a' }), ids), null);
  assert.match(crossTenantLeak(request({ route: metrics, credential: 'key' }), reply(200, { text: '01a2-run-of-a' }), ids)!, /01a2-run-of-a/);
});

test('authBypass: a refused credential or a foreign id must not get a 2xx', () => {
  assert.ok(authBypass(request({ expectRefused: true }), reply(200, {})));
  assert.equal(authBypass(request({ expectRefused: true }), reply(401, {})), null);
  assert.equal(authBypass(request(), reply(200, {})), null);
});

test('acknowledged: the run ids each surface hands back', () => {
  const native = acknowledged(request(), reply(202, { id: 'r1' }));
  assert.deepEqual(native, { ids: ['r1'], refused: false, known: true });
  assert.deepEqual(acknowledged(request(), reply(422, {})).refused, true);
  assert.deepEqual(acknowledged(request(), reply(500, {}, { 'flowgate-run-id': 'r2' })).ids, ['r2']);
  assert.deepEqual(acknowledged(request({ route: route({ name: 'triggerBatch' }) }), reply(200, { items: [{ run_id: 'a' }, { error: {} }] })).ids, ['a']);
  assert.equal(acknowledged(request({ route: route({ name: 'importRuns' }) }), reply(200, { created: 3 })).created, 3);
  assert.deepEqual(acknowledged(request({ route: COMPAT_ROUTES.find((r) => r.name === 'corezoid.ops.v1')! }), reply(200, { ops: [{ proc: 'ok', obj_id: 'x' }, { proc: 'error' }] })).ids, ['x']);
  assert.deepEqual(acknowledged(request({ route: COMPAT_ROUTES.find((r) => r.name === 'corezoid.direct.xml.v1')! }), reply(200, '<response><ops><proc>ok</proc><obj_id>y</obj_id></ops></response>')).ids, ['y']);
  assert.deepEqual(acknowledged(request({ route: COMPAT_ROUTES.find((r) => r.name === 'csi.execute')! }), reply(200, { runId: 'c' })).ids, ['c']);
  assert.deepEqual(acknowledged(request({ route: COMPAT_ROUTES.find((r) => r.name === 'luma.trigger')! }), reply(200, { resultData: { executionConfig: { triggerId: 'l' } } })).ids, ['l']);
});

test('routesFromOpenApi: paths, methods, parameter locations (through $ref) and body types', () => {
  const doc = {
    paths: { '/v1/runs/{id}': { parameters: [{ $ref: '#/components/parameters/RunId' }], get: { operationId: 'getRun', parameters: [{ name: 'x', in: 'query', schema: {} }] }, post: { operationId: 'cancelRun', requestBody: { content: { 'application/json': {} } } } } },
    components: { parameters: { RunId: { name: 'id', in: 'path', schema: { type: 'string' } } } },
  };
  const routes = routesFromOpenApi(doc);
  assert.deepEqual(routes.map((r) => [r.method, r.name, r.role, r.params.map((p) => `${p.name}@${p.in}`), r.bodyTypes]), [
    ['GET', 'getRun', 'read', ['id@path', 'x@query'], []],
    ['POST', 'cancelRun', 'trigger', ['id@path'], ['application/json']],
  ]);
});
