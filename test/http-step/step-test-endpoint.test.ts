/**
 * `POST /v1/workflows/{id}/steps/{step}/test` (docs/spec.md §4, the "Test" button): one http step on given
 * data, no run; the request really goes out through the same guard; the full exchange comes back.
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
    if (r.url.startsWith('/fail')) return json(res, 503, { down: true }, { 'retry-after': '30' });
    if (r.url.startsWith('/async')) return json(res, 202, { queued: true }, { location: '/async/status' });
    json(res, 201, { got: JSON.parse(r.body || 'null'), key: r.headers['x-api-key'] ?? null }, { 'x-served-by': 'target' });
  });
  await s.call('PUT', '/v1/secrets/api_key', { json: { value: 'key-for-the-test-endpoint' } });
  const put = await s.putWorkflow('testable', `id: testable
params:
  order: { type: string }
steps:
  - id: notify
    type: http
    method: POST
    url: ${target.url}/orders/{{ order }}
    headers: { X-Api-Key: "{{ $secrets.api_key }}" }
    body: { order: "{{ order }}", plan: "{{ $plan.name }}" }
    save_as: resp
  - id: flaky
    type: http
    url: ${target.url}/fail
    retry: { max_attempts: 3 }
  - id: async
    type: http
    url: ${target.url}/async
    follow_async: true
  - id: note
    type: set
    set: { noted: true }
`);
  assert.equal(put.status, 201, put.text);
});
after(async () => {
  await s.close();
  await target.close();
});

const testStep = (wf: string, step: string, data: unknown, opts = {}) => s.call('POST', `/v1/workflows/${wf}/steps/${step}/test`, { json: { data }, ...opts });

test('the request goes out and the full exchange comes back, secrets redacted; nothing is stored', async () => {
  const before = target.requests.length;
  const runsBefore = await s.runCount();
  const r = await testStep('testable', 'notify', { order: 'o-9' });
  assert.equal(r.status, 200, r.text);
  assert.equal(target.requests.length, before + 1, 'the request really went out');
  const sent = target.requests.at(-1)!;
  assert.equal(sent.headers['x-api-key'], 'key-for-the-test-endpoint');
  assert.equal(r.body.request.method, 'POST');
  assert.equal(r.body.request.url, `${target.url}/orders/o-9`);
  assert.equal(r.body.request.headers['x-api-key'], '[redacted]');
  assert.equal(JSON.parse(r.body.request.body).order, 'o-9');
  assert.equal(r.body.response.status, 201);
  assert.equal(r.body.response.headers['x-served-by'], 'target');
  assert.deepEqual(r.body.response.body, { got: { order: 'o-9', plan: 'testable' }, key: '[redacted]' });
  assert.equal(typeof r.body.duration_ms, 'number');
  assert.equal(r.body.error, undefined);
  assert.equal(r.body.outcome.kind, 'continue');
  assert.ok(!r.text.includes('key-for-the-test-endpoint'));
  assert.equal(await s.runCount(), runsBefore, 'no run was created');
});

test('a failing exchange is still answered 200, with the error; no retry, no follow', async () => {
  const before = target.requests.length;
  const r = await testStep('testable', 'flaky', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(target.requests.length, before + 1, 'one attempt, no retry');
  assert.equal(r.body.response.status, 503);
  assert.equal(r.body.error.code, 'http_status');
  assert.equal(r.body.outcome.kind, 'retry', 'a run would retry it');

  const a = await testStep('testable', 'async', {});
  assert.equal(a.status, 200, a.text);
  assert.equal(a.body.response.status, 202);
  assert.deepEqual([a.body.outcome.kind, a.body.outcome.location], ['follow', `${target.url}/async/status`]);
  assert.equal(target.requests.filter((g) => g.url === '/async/status').length, 0, 'the Location is not polled');
});

test('unknown workflow or step: 404; a step that is not http: 422; readers and trigger keys: 403', async () => {
  assert.equal((await testStep('nope', 'notify', {})).status, 404);
  assert.equal((await testStep('testable', 'nope', {})).status, 404);
  const notHttp = await testStep('testable', 'note', {});
  assert.equal(notHttp.status, 422, notHttp.text);
  assert.match(notHttp.body.detail, /only http steps/);
  assert.equal((await s.call('POST', '/v1/workflows/testable/steps/notify/test', { raw: '[1]', type: 'application/json' })).status, 400);
  const key = await s.call('POST', '/v1/keys', { json: { name: 'trigger-only', role: 'trigger', tenant: 'default' } });
  assert.equal((await testStep('testable', 'notify', {}, { token: key.body.token })).status, 403);
});

test('the test goes through the same SSRF guard', async () => {
  const bare = await startTestServer({ FLOWGATE_HTTP_ALLOW: '' });
  try {
    await bare.putWorkflow('guarded', `id: guarded
steps:
  - id: call
    type: http
    url: ${target.url}/guarded
`);
    const r = await bare.call('POST', '/v1/workflows/guarded/steps/call/test', { json: { data: {} } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.error.code, 'ssrf');
    assert.equal(r.body.response, null);
    assert.equal(target.requests.filter((g) => g.url === '/guarded').length, 0);
  } finally {
    await bare.close();
  }
});
