// Moving over changes only the base URL (docs/compatibility.md "Moving over"): an operator brings the
// identifiers existing clients already use — an MPO company (tenant), a process's conv_id and
// direct-URL hash, a task's CSI GUID, an API login's number and secret — and a client written from
// the products' own documentation, with their literal ids, works against Flowgate unchanged but for
// its base URL.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sign } from './corezoid-client.js';

let s: TestServer;

// The identifiers of the documentation's examples, and what an existing client has configured.
const COMPANY_ID = 'i123456789';
const CONV_ID = 66305;
const DIRECT_HASH = '5f0c0e2a1b9d4c3e8f7a6b5c4d3e2f1a0b9c8d7e';
const CSI_GUID = '555e1a89-5d7d-4daf-ae0e-7b9b2b7933dd';
const API_LOGIN = 54321;
const API_SECRET = 'Z3mTq8vR2pLk9sWx4yBn7cFh1dGj6aEu0iOoKeXr';

/** An MPO client as its documentation writes one: BASE_URL/api/1/json/API_LOGIN/GMT_UNIXTIME/SIGNATURE. */
async function mpoClient(baseUrl: string, body: unknown, sync = false): Promise<{ status: number; body: any }> {
  const text = JSON.stringify(body);
  const time = String(Math.floor(Date.now() / 1000));
  const signature = sign(time, API_SECRET, text);
  const res = await fetch(`${baseUrl}${sync ? '/sync' : ''}/api/1/json/${API_LOGIN}/${time}/${signature}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: text,
  });
  return { status: res.status, body: await res.json() };
}

before(async () => {
  s = await startTestServer();
  // The operator's part, once: the tenant, the workflow, its identifiers and the API login.
  const tenant = await s.call('POST', '/v1/tenants', { json: { id: COMPANY_ID } });
  assert.equal(tenant.status, 201, tenant.text);
  const put = await s.putWorkflow('loan', `id: loan
params:
  parameterName1: { type: string }
steps:
  - { id: answer, type: reply, data: { echoed: "{{ parameterName1 }}" } }
`, { tenant: COMPANY_ID });
  assert.equal(put.status, 201, put.text);
  const ids = await s.call('PUT', '/v1/workflows/loan/identifiers', { json: { conv_id: CONV_ID, hash: DIRECT_HASH, guid: CSI_GUID }, tenant: COMPANY_ID });
  assert.equal(ids.status, 200, ids.text);
  assert.deepEqual([ids.body.triggers.conv_id, ids.body.triggers.hash, ids.body.triggers.guid], [CONV_ID, DIRECT_HASH, CSI_GUID]);
  const login = await s.call('POST', '/v1/api-logins', { json: { name: 'erp', login: API_LOGIN, secret: API_SECRET }, tenant: COMPANY_ID });
  assert.equal(login.status, 201, login.text);
  assert.equal(login.body.login, API_LOGIN);
  assert.equal(login.body.secret, API_SECRET);
});
after(() => s.close());

test('the documentation\'s MPO API request, with its literal company_id, conv_id and ref, works with only the base URL changed', async () => {
  const r = await mpoClient(s.url, { ops: [{
    type: 'create', obj: 'task', company_id: COMPANY_ID, conv_id: CONV_ID, ref: '3159895014223541328',
    data: { parameterName1: 'parameterValue1' },
  }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.request_proc, 'ok');
  assert.equal(r.body.ops[0].ref, '3159895014223541328');
  const run = await s.waitRun(r.body.ops[0].obj_id, undefined, { tenant: COMPANY_ID });
  assert.equal(run.workflow, 'loan');
});

test('the Sync API request with processID, the direct URL and the CSI GUID all reach the same workflow', async () => {
  const sync = await mpoClient(s.url, { timeout: 30, ops: [{ processID: CONV_ID, type: 'create', obj: 'task', data: { parameterName1: 'x' } }] }, true);
  assert.equal(sync.status, 200, JSON.stringify(sync.body));
  assert.deepEqual(sync.body, { ops: [{ proc: 'ok', data: { info: { echoed: 'x' } } }], request_proc: 'ok' });

  const direct = await fetch(`${s.url}/api/1/json/public/${CONV_ID}/${DIRECT_HASH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"parameterName1":"d"}' });
  assert.equal(direct.status, 200);
  assert.equal((await direct.json()).request_proc, 'ok');

  const csi = await fetch(`${s.url}/task/execute/${CSI_GUID}`, { method: 'POST' });
  assert.equal(csi.status, 200, await csi.clone().text());
  const { runId } = await csi.json();
  assert.equal((await s.waitRun(runId, undefined, { tenant: COMPANY_ID })).workflow, 'loan');
});

test('brought identifiers are unique: a clash is 409, naming the holder only within its tenant; rotation still works', async () => {
  await s.putWorkflow('second', 'id: second\nsteps:\n  - { id: a, type: set, set: { x: 1 } }\n', { tenant: COMPANY_ID });
  const mine = await s.call('PUT', '/v1/workflows/second/identifiers', { json: { conv_id: CONV_ID }, tenant: COMPANY_ID });
  assert.equal(mine.status, 409, mine.text);
  assert.match(mine.body.detail, /conv_id 66305 is already used by workflow loan/);
  await s.putWorkflow('elsewhere', 'id: elsewhere\nsteps:\n  - { id: a, type: set, set: { x: 1 } }\n');
  const theirs = await s.call('PUT', '/v1/workflows/elsewhere/identifiers', { json: { guid: CSI_GUID.toUpperCase() } });
  assert.equal(theirs.status, 409, theirs.text);
  assert.doesNotMatch(theirs.body.detail, /loan/, 'another tenant\'s workflow is not named');
  const login = await s.call('POST', '/v1/api-logins', { json: { login: API_LOGIN, secret: API_SECRET } });
  assert.equal(login.status, 409);
  assert.doesNotMatch(login.body.detail, /erp/);
  for (const bad of [{ conv_id: 0 }, { conv_id: '66305' }, { hash: 'xyz' }, { guid: '00000000-0000-0000-0000-000000000000' }, {}, { name: 'x' }]) {
    const r = await s.call('PUT', '/v1/workflows/elsewhere/identifiers', { json: bad });
    assert.equal(r.status, 422, `${JSON.stringify(bad)} → ${r.status}`);
  }
  assert.equal((await s.call('PUT', '/v1/workflows/nope/identifiers', { json: { conv_id: 5 } })).status, 404);
  // The brought hash can still be rotated: the old URL stops at once.
  const rotated = await s.call('POST', '/v1/workflows/loan/hash/rotate', { tenant: COMPANY_ID });
  assert.notEqual(rotated.body.triggers.hash, DIRECT_HASH);
  const old = await fetch(`${s.url}/api/1/json/public/${CONV_ID}/${DIRECT_HASH}`, { method: 'POST', body: '{}' });
  assert.equal(old.status, 400);
});

test('a conv_id moved to another workflow is followed at once by the signed API, not served from memory', async () => {
  await s.putWorkflow('third', 'id: third\nsteps:\n  - { id: a, type: reply, data: { from: third } }\n', { tenant: COMPANY_ID });
  const before = await mpoClient(s.url, { timeout: 10, ops: [{ conv_id: 777001, type: 'create', obj: 'task', data: {} }] }, true);
  assert.match(before.body.ops[0].description, /process 777001 not found/);
  assert.equal((await s.call('PUT', '/v1/workflows/third/identifiers', { json: { conv_id: 777001 }, tenant: COMPANY_ID })).status, 200);
  const after1 = await mpoClient(s.url, { timeout: 10, ops: [{ conv_id: 777001, type: 'create', obj: 'task', data: {} }] }, true);
  assert.deepEqual(after1.body.ops[0].data?.info, { from: 'third' });
  assert.equal((await s.call('PUT', '/v1/workflows/loan/identifiers', { json: { conv_id: 777002 }, tenant: COMPANY_ID })).status, 200);
  const gone = await mpoClient(s.url, { ops: [{ conv_id: CONV_ID, type: 'create', obj: 'task', data: {} }] });
  assert.match(gone.body.ops[0].description, /process 66305 not found/, 'the old conv_id no longer starts loan');
});

test('POST /v1/tenants: admin token only, 409 when it exists; an unknown tenant\'s 404 says how to create it', async () => {
  assert.equal((await s.call('POST', '/v1/tenants', { json: { id: COMPANY_ID } })).status, 409);
  assert.equal((await s.call('POST', '/v1/tenants', { json: { id: 'Not Valid' } })).status, 422);
  const key = await s.call('POST', '/v1/keys', { json: { name: 'a', role: 'admin' } });
  assert.equal((await s.call('POST', '/v1/tenants', { json: { id: 'newco' }, token: key.body.token })).status, 403);
  const unknown = await s.call('GET', '/v1/workflows', { tenant: 'nowhere' });
  assert.equal(unknown.status, 404);
  assert.match(unknown.body.detail, /POST \/v1\/tenants \{"id": "nowhere"\}/);
});
