// Auth, roles and tenants (docs/spec.md §4, §8.4) and write-only secrets that never show up in step
// records (docs/spec.md §2 $secrets, §6).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { reply, startTarget, startTestServer, type Target, type TestServer } from '../helpers/server.js';

let s: TestServer;
let target: Target;
const keys: Record<string, string> = {};
let defaultRun = '';

before(async () => {
  s = await startTestServer();
  target = await startTarget((req, res) => reply(res, 200, { echoed: req.headers['x-api-key'] ?? null }));
  const r = await s.putWorkflow('private', `id: private
steps:
  - id: hold
    type: wait
    timeout: 1h
`);
  assert.equal(r.status, 201, r.text);
  defaultRun = (await s.trigger('private', {})).body.id;
  for (const [name, role, tenant] of [['reader', 'read', 'default'], ['caller', 'trigger', 'default'], ['boss', 'admin', 'default'], ['b-admin', 'admin', 'b']]) {
    const k = await s.call('POST', '/v1/keys', { json: { name, role, tenant } });
    assert.equal(k.status, 201, k.text);
    keys[name] = k.body.token;
  }
});
after(async () => {
  await s.close();
  await target.close();
});

test('no token, a bad token or another scheme: 401 with WWW-Authenticate: Bearer', async () => {
  for (const headers of [{} as Record<string, string>, { authorization: 'Bearer nope-not-a-token' }, { authorization: 'Basic dXNlcjpwYXNz' }, { authorization: 'Bearer' }]) {
    const r = await s.call('GET', '/v1/runs', { token: null, headers });
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer\b/);
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(r.body.status, 401);
  }
  const put = await s.putWorkflow('x', { steps: [{ id: 'a', type: 'set', set: { a: 1 } }] }, { token: null });
  assert.equal(put.status, 401);
  assert.equal((await s.call('GET', '/v1/workflows/x')).status, 404, 'nothing was created');
  // Public endpoints need no token.
  assert.equal((await s.call('GET', '/healthz', { token: null })).status, 200);
});

test('keys: the token is shown once; GET /v1/keys never shows it', async () => {
  const created = await s.call('POST', '/v1/keys', { json: { name: 'once', role: 'read', tenant: 'default' } });
  assert.equal(created.status, 201, created.text);
  assert.equal(typeof created.body.id, 'string');
  assert.ok(created.body.token.length >= 20);
  assert.equal(created.body.role, 'read');
  assert.equal(created.body.tenant, 'default');
  const list = await s.call('GET', '/v1/keys');
  assert.equal(list.status, 200);
  const names = list.body.items.map((k: any) => k.name);
  for (const n of ['once', 'reader', 'caller', 'boss']) assert.ok(names.includes(n), n);
  assert.ok(!names.includes('b-admin'), 'another tenant\'s key is not listed');
  for (const token of [created.body.token, ...Object.values(keys)]) assert.ok(!list.text.includes(token), 'no token in the list');
  for (const k of list.body.items) assert.equal(k.token, undefined);

  const bad = await s.call('POST', '/v1/keys', { json: { name: '', role: 'root', tenant: 'Not Valid!' } });
  assert.equal(bad.status, 422);
  assert.deepEqual(bad.body.errors.map((e: any) => e.path).sort(), ['name', 'role', 'tenant']);

  // A deleted key stops working at once.
  assert.equal((await s.call('GET', '/v1/runs', { token: created.body.token })).status, 200);
  assert.equal((await s.call('DELETE', `/v1/keys/${created.body.id}`)).status, 204);
  assert.equal((await s.call('GET', '/v1/runs', { token: created.body.token })).status, 401);
  assert.equal((await s.call('DELETE', `/v1/keys/${created.body.id}`)).status, 404);
});

test('a read key reads but gets 403 on triggers, PUT, cancel and keys', async () => {
  const token = keys.reader;
  assert.equal((await s.call('GET', '/v1/runs', { token })).status, 200);
  assert.equal((await s.call('GET', `/v1/runs/${defaultRun}`, { token })).status, 200);
  assert.equal((await s.call('GET', '/v1/workflows/private', { token })).status, 200);
  const before = await s.runCount();
  for (const [method, path, json] of [
    ['POST', '/v1/workflows/private/runs', {}],
    ['POST', '/v1/workflows/private/runs/batch', { items: [{ data: {} }] }],
    ['PUT', '/v1/workflows/private', { steps: [{ id: 'a', type: 'set', set: { a: 2 } }] }],
    ['POST', `/v1/runs/${defaultRun}/cancel`, undefined],
    ['POST', '/v1/keys', { name: 'n', role: 'admin' }],
    ['PUT', '/v1/secrets/sneaky', { value: 'abcdef' }],
  ] as const) {
    const r = await s.call(method, path, { token, json });
    assert.equal(r.status, 403, `${method} ${path}: ${r.status}`);
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  }
  assert.equal(await s.runCount(), before);
  assert.equal((await s.call('GET', '/v1/workflows/private')).body.version, 1);
  assert.equal((await s.call('GET', `/v1/runs/${defaultRun}`)).body.status, 'waiting');
});

test('a trigger key starts runs but cannot PUT workflows', async () => {
  const token = keys.caller;
  const r = await s.trigger('private', {}, '', { token });
  assert.equal(r.status, 202, r.text);
  assert.equal((await s.call('GET', `/v1/runs/${r.body.id}`, { token })).status, 200);
  assert.equal((await s.call('POST', `/v1/runs/${r.body.id}/cancel`, { token })).status, 200);
  const put = await s.putWorkflow('private', { steps: [{ id: 'a', type: 'set', set: { a: 3 } }] }, { token });
  assert.equal(put.status, 403);
  assert.equal((await s.call('GET', '/v1/keys', { token })).status, 403);
});

test('a key of tenant b sees nothing of tenant default: 404 for its workflow and run ids', async () => {
  const token = keys['b-admin'];
  for (const [method, path] of [
    ['GET', '/v1/workflows/private'],
    ['POST', '/v1/workflows/private/runs'],
    ['DELETE', '/v1/workflows/private'],
    ['GET', `/v1/runs/${defaultRun}`],
    ['GET', `/v1/runs/${defaultRun}/steps`],
    ['GET', `/v1/runs/${defaultRun}/result`],
    ['GET', `/v1/runs/${defaultRun}/events`],
    ['POST', `/v1/runs/${defaultRun}/cancel`],
    ['POST', `/v1/runs/${defaultRun}/retry`],
  ]) {
    const r = await s.call(method, path, { token, json: method === 'POST' ? {} : undefined });
    assert.equal(r.status, 404, `${method} ${path}: ${r.status} ${r.text}`);
  }
  const list = await s.call('GET', '/v1/runs', { token });
  assert.deepEqual(list.body.items, []);
  assert.deepEqual((await s.call('GET', '/v1/workflows', { token })).body.items, []);
  assert.equal((await s.call('GET', `/v1/runs/${defaultRun}`)).body.status, 'waiting', 'the run is untouched');
  // A tenant admin key cannot mint keys for another tenant.
  const cross = await s.call('POST', '/v1/keys', { token, json: { name: 'x', role: 'admin', tenant: 'default' } });
  assert.equal(cross.status, 403);
});

test('the admin token with Flowgate-Tenant acts on that tenant; the same id may exist in both', async () => {
  const put = await s.putWorkflow('private', `id: private
steps:
  - id: answer
    type: reply
    data: { tenant: b }
`, { tenant: 'b' });
  assert.equal(put.status, 201, put.text);
  assert.equal(put.body.version, 1);
  const viaKey = await s.trigger('private', {}, 'wait=5', { token: keys['b-admin'] });
  assert.equal(viaKey.status, 200, viaKey.text);
  assert.deepEqual(viaKey.body, { tenant: 'b' });
  const runId = viaKey.headers.get('flowgate-run-id')!;
  assert.equal((await s.call('GET', `/v1/runs/${runId}`, { tenant: 'b' })).status, 200);
  assert.equal((await s.call('GET', `/v1/runs/${runId}`)).status, 404, 'default does not see tenant b\'s run');
  assert.equal((await s.call('GET', '/v1/workflows/private')).body.definition.steps[0].type, 'wait', 'default keeps its own workflow');
  const unknown = await s.call('GET', '/v1/runs', { tenant: 'nobody-here' });
  assert.ok(unknown.status === 404 || unknown.status === 400, `unknown tenant: ${unknown.status}`);
});

// ---------------------------------------------------------------- secrets

const SECRET = 'sk_live_4f7c1e9a2b';

test('secrets: PUT creates then updates, GET lists names only, DELETE removes; per tenant', async () => {
  const first = await s.call('PUT', '/v1/secrets/api_key', { json: { value: 'first-value-123' } });
  assert.equal(first.status, 201, first.text);
  const second = await s.call('PUT', '/v1/secrets/api_key', { json: { value: SECRET } });
  assert.equal(second.status, 200, second.text);
  assert.ok(!first.text.includes('first-value-123') && !second.text.includes(SECRET), 'a PUT does not echo the value');
  const list = await s.call('GET', '/v1/secrets');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items.map((x: any) => x.name), ['api_key']);
  assert.ok(!list.text.includes(SECRET) && !list.text.includes('first-value-123'));
  assert.deepEqual((await s.call('GET', '/v1/secrets', { tenant: 'b' })).body.items, []);
  assert.equal((await s.call('GET', '/v1/secrets', { token: keys.reader })).status, 403);

  assert.equal((await s.call('PUT', '/v1/secrets/temp', { json: { value: 'temporary' } })).status, 201);
  assert.equal((await s.call('DELETE', '/v1/secrets/temp')).status, 204);
  assert.equal((await s.call('DELETE', '/v1/secrets/temp')).status, 404);
  assert.equal((await s.call('PUT', '/v1/secrets/bad name', { json: { value: 'x' } })).status, 422);
  assert.equal((await s.call('PUT', '/v1/secrets/empty', { json: { value: '' } })).status, 422);
});

test('$secrets works in templates; an http step sends the real value, its step record never shows it', async () => {
  const put = await s.putWorkflow('uses-secret', `id: uses-secret
steps:
  - id: call
    type: http
    method: POST
    url: ${target.url}/hook
    headers: { X-Api-Key: "{{ $secrets.api_key }}" }
    body: { auth: "key {{ $secrets.api_key }}" }
  - id: answer
    type: reply
    data: { key: "{{ $secrets.api_key }}", status: "{{ $steps.call.output.status }}" }
`);
  assert.equal(put.status, 201, put.text);
  const before = target.requests.length;
  const r = await s.trigger('uses-secret', {}, 'wait=5');
  assert.equal(r.status, 200, r.text);
  // A reply is shown and stored: a secret it names is redacted there (docs/workflow-format.md "Secrets").
  assert.deepEqual(r.body, { key: '[redacted]', status: 200 }, 'the reply that names the secret shows it redacted');
  const sent = target.requests[before];
  assert.equal(sent.headers['x-api-key'], SECRET, 'the target sees the real value');
  assert.deepEqual(JSON.parse(sent.body), { auth: `key ${SECRET}` });

  const runId = r.headers.get('flowgate-run-id')!;
  const steps = await s.call('GET', `/v1/runs/${runId}/steps`);
  assert.equal(steps.status, 200);
  assert.ok(!steps.text.includes(SECRET), `the secret leaked into step records: ${steps.text}`);
  const call = steps.body.items.find((x: any) => x.step_id === 'call');
  assert.ok(call.attempts.length >= 1);
  assert.match(JSON.stringify(call.attempts[0].request), /redacted/, 'the recorded request marks the redaction');

  // A new value is used by the next run at once.
  await s.call('PUT', '/v1/secrets/api_key', { json: { value: 'rotated-value-99' } });
  const next = await s.trigger('uses-secret', {}, 'wait=5');
  assert.equal(next.body.key, '[redacted]', 'the new value is redacted in the reply too');
  assert.equal(target.requests[target.requests.length - 1].headers['x-api-key'], 'rotated-value-99', 'and sent, real, by the step naming it');
  const nextSteps = await s.call('GET', `/v1/runs/${next.headers.get('flowgate-run-id')}/steps`);
  assert.ok(!nextSteps.text.includes('rotated-value-99'));
  await s.call('PUT', '/v1/secrets/api_key', { json: { value: SECRET } });
});
