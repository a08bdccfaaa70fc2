/**
 * `POST /v1/steps/test`: an http step definition that is not saved yet (the editor's), tested as a
 * saved one is: validated as the definition validator validates a step (422 at paths under `step`),
 * the request really goes out through the same guard, the answer is the same exchange, redacted.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { json, startLocalTarget, type LocalTarget } from './targets.js';

let s: TestServer;
let target: LocalTarget;

before(async () => {
  s = await startTestServer({ FLOWGATE_HTTP_ALLOW: '127.0.0.1' });
  target = await startLocalTarget((r, res) => {
    json(res, 201, { got: JSON.parse(r.body || 'null'), key: r.headers['x-api-key'] ?? null }, { 'x-served-by': 'target' });
  });
  await s.call('PUT', '/v1/secrets/api_key', { json: { value: 'key-for-the-unsaved-test' } });
  const put = await s.putWorkflow('context', `id: context
name: Order intake
params:
  order: { type: string }
steps:
  - id: notify
    type: http
    method: POST
    url: ${target.url}/orders/{{ order }}
    body: { order: "{{ order }}", plan: "{{ $plan.name }}" }
`);
  assert.equal(put.status, 201, put.text);
});
after(async () => {
  await s.close();
  await target.close();
});

const step = (over: Record<string, unknown> = {}) => ({
  id: 'draft', type: 'http', method: 'POST', url: `${target.url}/orders/{{ order }}`,
  headers: { 'X-Api-Key': '{{ $secrets.api_key }}' }, body: { order: '{{ order }}', plan: '{{ $plan.name }}' }, next: 'somewhere-unsaved',
  ...over,
});
const testUnsaved = (body: unknown, opts = {}) => s.call('POST', '/v1/steps/test', { json: body, ...opts });

test('the same answer as the saved-step test: the exchange, secrets redacted, nothing stored', async () => {
  const before = target.requests.length;
  const runsBefore = await s.runCount();
  const r = await testUnsaved({ step: step(), data: { order: 'o-1' }, workflow: 'context' });
  assert.equal(r.status, 200, r.text);
  assert.equal(target.requests.length, before + 1);
  assert.equal(target.requests.at(-1)!.headers['x-api-key'], 'key-for-the-unsaved-test');
  assert.equal(r.body.request.url, `${target.url}/orders/o-1`);
  assert.equal(r.body.request.headers['x-api-key'], '[redacted]');
  assert.deepEqual(r.body.response.body, { got: { order: 'o-1', plan: 'Order intake' }, key: '[redacted]' }, 'the workflow\'s context ($plan.name)');
  assert.equal(r.body.outcome.kind, 'continue');
  assert.ok(!r.text.includes('key-for-the-unsaved-test'));
  assert.equal(await s.runCount(), runsBefore, 'no run was created');

  // The saved step of the same shape answers the same way (one home for both).
  const saved = await s.call('POST', '/v1/workflows/context/steps/notify/test', { json: { data: { order: 'o-1' } } });
  assert.equal(saved.status, 200, saved.text);
  assert.deepEqual(Object.keys(saved.body).sort(), Object.keys(r.body).sort());
  assert.deepEqual(saved.body.response.body.got, r.body.response.body.got);

  // Without a workflow: a workflow of its own; data defaults to {}.
  const alone = await testUnsaved({ step: step({ url: `${target.url}/plain` }) });
  assert.equal(alone.status, 200, alone.text);
  assert.equal(alone.body.response.status, 201);
  assert.equal(alone.body.response.body.got.plan, 'step-test');
});

test('the step is validated as the definition validator would: every problem at its path under step', async () => {
  const r = await testUnsaved({ step: { id: 'bad id!', type: 'http', method: 'FETCH', timeout: 'soon', headers: { 'bad header': 'x' } } });
  assert.equal(r.status, 422, r.text);
  assert.match(r.body.type, /invalid-definition$/);
  const paths = r.body.errors.map((e: any) => e.path);
  for (const p of ['step.id', 'step.method', 'step.timeout', 'step.url']) assert.ok(paths.includes(p), `${p} in ${JSON.stringify(r.body.errors)}`);
  assert.ok(paths.every((p: string) => p.startsWith('step')), JSON.stringify(paths));
  assert.equal(target.requests.filter((g) => g.url.includes('bad')).length, 0);

  const badTemplate = await testUnsaved({ step: step({ url: `${target.url}/{{ order ` }) });
  assert.equal(badTemplate.status, 422);
  assert.equal(badTemplate.body.errors[0].path, 'step.url');

  const wrongRef = await testUnsaved({ step: step({ next: 5 }) });
  assert.equal(wrongRef.status, 422, 'a reference of the wrong type is still a problem');
  assert.equal(wrongRef.body.errors[0].path, 'step.next');

  const notHttp = await testUnsaved({ step: { id: 'note', type: 'set', set: { a: 1 } } });
  assert.equal(notHttp.status, 422);
  assert.match(notHttp.body.detail, /only http steps/);
  const unknownType = await testUnsaved({ step: { id: 'x', type: 'teleport' } });
  assert.equal(unknownType.status, 422);
  assert.equal(unknownType.body.errors[0].path, 'step.type');
});

test('bad requests: 422 for the body\'s own fields, 404 for an unknown or another tenant\'s workflow, 403 below admin', async () => {
  const missing = await testUnsaved({ data: {} });
  assert.equal(missing.status, 422);
  assert.equal(missing.body.errors[0].path, 'step');
  const extra = await testUnsaved({ step: step(), dat: {} });
  assert.equal(extra.status, 422);
  assert.equal(extra.body.errors[0].path, 'dat');
  assert.equal((await testUnsaved({ step: step(), data: [1] })).status, 422);
  assert.equal((await testUnsaved({ step: 'http' })).status, 422);
  assert.equal((await testUnsaved({ step: step(), workflow: 7 })).status, 422);
  assert.equal((await s.call('POST', '/v1/steps/test', { raw: '[1]', type: 'application/json' })).status, 400);
  assert.equal((await testUnsaved({ step: step(), workflow: 'nope' })).status, 404);
  assert.equal((await testUnsaved({ step: step(), workflow: 'context' }, { tenant: 'acme' })).status, 404, 'another tenant\'s workflow');
  const key = await s.call('POST', '/v1/keys', { json: { name: 'trigger-only', role: 'trigger', tenant: 'default' } });
  assert.equal((await testUnsaved({ step: step() }, { token: key.body.token })).status, 403);
});

test('the same SSRF guard as a run\'s', async () => {
  const bare = await startTestServer({ FLOWGATE_HTTP_ALLOW: '' });
  try {
    const r = await bare.call('POST', '/v1/steps/test', { json: { step: { id: 'call', type: 'http', url: `${target.url}/guarded` } } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.error.code, 'ssrf');
    assert.equal(r.body.response, null);
    assert.equal(target.requests.filter((g) => g.url === '/guarded').length, 0);
  } finally {
    await bare.close();
  }
});
