// The outgoing `http` step against a local target (docs/spec.md §6, §8.12): templates, save_as, merge,
// expect with on_error and $error, timeouts, retries carrying the same idempotency headers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { reply, sleep, startTarget, startTestServer, type Received, type Target, type TestServer } from '../helpers/server.js';

let s: TestServer;
let target: Target;
/** Per-path behaviour of the target; the default echoes the request as JSON. */
const routes = new Map<string, (req: Received, res: import('node:http').ServerResponse, n: number) => void>();

before(async () => {
  // Loopback targets must be allow-listed once the SSRF guard exists (docs/spec.md §6).
  s = await startTestServer({ FLOWGATE_HTTP_ALLOW: '127.0.0.1' });
  target = await startTarget((req, res, n) => {
    const path = req.url.split('?')[0];
    const handler = routes.get(path);
    if (handler) return handler(req, res, n);
    reply(res, 200, { method: req.method, url: req.url, body: req.body });
  });
});
after(async () => {
  await s.close();
  await target.close();
});

const put = (id: string, yaml: string) => s.createWorkflow(id, yaml);
const sentTo = (path: string): Received[] => target.requests.filter((r) => r.url.split('?')[0] === path);
const stepsOf = async (runId: string): Promise<any[]> => (await s.call('GET', `/v1/runs/${runId}/steps`)).body.items;

test('method, url, query, headers and body come from templates; save_as stores { status, headers, body }', async () => {
  routes.set('/orders/o-17', (req, res) => reply(res, 201, { accepted: true, echo: JSON.parse(req.body) }, { 'x-order': 'o-17' }));
  await put('templated', `id: templated
params:
  order: { type: string, required: true }
  amount: { type: number, required: true }
steps:
  - id: send
    type: http
    method: "{{ verb }}"
    url: "${target.url}/orders/{{ order }}"
    query: { source: flowgate, n: "{{ amount }}" }
    headers: { X-Trace: "trace-{{ order }}", X-Run: "{{ $run.id }}" }
    body: { amount: "{{ amount }}", doubled: "{{ amount * 2 }}", label: "order {{ order }}" }
    save_as: resp
`);
  const r = await s.trigger('templated', { order: 'o-17', amount: '21', verb: 'put' }, 'wait=5');
  assert.equal(r.status, 200, r.text);
  const [req] = sentTo('/orders/o-17');
  assert.equal(req.method, 'PUT');
  const query = new URLSearchParams(req.url.split('?')[1]);
  assert.equal(query.get('source'), 'flowgate');
  assert.equal(query.get('n'), '21');
  assert.equal(req.headers['x-trace'], 'trace-o-17');
  assert.equal(req.headers['x-run'], r.headers.get('flowgate-run-id'));
  assert.match(req.headers['content-type'] ?? '', /^application\/json/);
  assert.deepEqual(JSON.parse(req.body), { amount: 21, doubled: 42, label: 'order o-17' });

  const resp = r.body.resp;
  assert.equal(resp.status, 201);
  assert.equal(resp.headers['x-order'], 'o-17');
  assert.deepEqual(resp.body, { accepted: true, echo: { amount: 21, doubled: 42, label: 'order o-17' } });

  const [record] = await stepsOf(r.headers.get('flowgate-run-id')!);
  assert.equal(record.type, 'http');
  assert.equal(record.status, 'succeeded');
  assert.equal(record.attempts.length, 1);
  assert.equal(record.attempts[0].response.status, 201);
  assert.equal(record.attempts[0].request.method, 'PUT');
});

test('merge: true merges a JSON object answer into data; format: form sends a form body', async () => {
  routes.set('/form', (req, res) => reply(res, 200, { got: req.body, type: req.headers['content-type'], merged: 'yes' }));
  await put('merging', `id: merging
steps:
  - id: send
    type: http
    method: POST
    url: ${target.url}/form
    format: form
    body: { a: "1", b: "two words" }
    merge: true
`);
  const r = await s.trigger('merging', {}, 'wait=5');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.merged, 'yes');
  assert.equal(r.body.got, 'a=1&b=two+words');
  assert.match(r.body.type, /^application\/x-www-form-urlencoded/);
});

test('a non-2xx answer fails the step and the run; expect widens what counts as success', async () => {
  routes.set('/missing', (_req, res) => reply(res, 404, { error: 'nope' }));
  await put('strict-expect', `id: strict-expect
steps:
  - id: fetch
    type: http
    url: ${target.url}/missing
  - id: never
    type: set
    set: { reached: true }
`);
  const r = await s.trigger('strict-expect', {}, 'wait=5');
  assert.equal(r.status, 500, r.text);
  assert.match(r.body.type, /run-failed$/);
  const run = (await s.call('GET', `/v1/runs/${r.headers.get('flowgate-run-id')}`)).body;
  assert.equal(run.status, 'failed');
  assert.equal(run.error.step, 'fetch');
  assert.equal(run.data.reached, undefined);
  assert.equal(sentTo('/missing').length, 1, 'without retry, exactly one attempt');

  await put('lenient', `id: lenient
steps:
  - id: fetch
    type: http
    url: ${target.url}/missing
    expect: [200-299, 404]
    save_as: resp
`);
  const ok = await s.trigger('lenient', {}, 'wait=5');
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.resp.status, 404);
});

test('expect may be a single status or a single range (as the definition check accepts)', async () => {
  routes.set('/gone', (_req, res) => reply(res, 410, { gone: true }));
  for (const [id, expect] of [['single-status', '410'], ['single-range', '"400-499"']]) {
    await put(id, `id: ${id}
steps:
  - id: fetch
    type: http
    url: ${target.url}/gone
    expect: ${expect}
    save_as: resp
`);
    const r = await s.trigger(id, {}, 'wait=5');
    assert.equal(r.status, 200, `expect: ${expect} → ${r.status} ${r.text}`);
    assert.equal(r.body.resp.status, 410);
  }
});

test('on_error routes a failed http step with $error bound', async () => {
  routes.set('/broken', (_req, res) => reply(res, 500, { error: 'kaput' }));
  await put('handled', `id: handled
steps:
  - id: fetch
    type: http
    url: ${target.url}/broken
    on_error: recover
  - id: fine
    type: set
    set: { path: happy }
    next: answer
  - id: recover
    type: set
    set: { path: recovered, failed_step: "{{ $error.step }}", code: "{{ $error.code }}", message: "{{ $error.message }}" }
  - id: answer
    type: reply
`);
  const r = await s.trigger('handled', {}, 'wait=5');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.path, 'recovered');
  assert.equal(r.body.failed_step, 'fetch');
  assert.equal(typeof r.body.code, 'string');
  assert.match(r.body.message, /500/);
  const steps = await stepsOf(r.headers.get('flowgate-run-id')!);
  assert.deepEqual(steps.map((x) => [x.step_id, x.status]), [['fetch', 'failed'], ['recover', 'succeeded'], ['answer', 'succeeded']]);
  assert.equal(steps[0].attempts[0].response.status, 500);
});

test('timeout: a slow target fails the step within the timeout', async () => {
  routes.set('/slow', (_req, res) => {
    const t = setTimeout(() => reply(res, 200, { late: true }), 3000);
    res.on('close', () => clearTimeout(t));
  });
  await put('impatient', `id: impatient
steps:
  - id: fetch
    type: http
    url: ${target.url}/slow
    timeout: 300ms
    on_error: note
  - id: done
    type: end
    status: succeeded
  - id: note
    type: set
    set: { timed_out: true, code: "{{ $error.code }}" }
`);
  const t0 = Date.now();
  const r = await s.trigger('impatient', {}, 'wait=5');
  const took = Date.now() - t0;
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.timed_out, true);
  assert.ok(took < 2500, `answered after ${took} ms`);
  const [record] = await stepsOf(r.headers.get('flowgate-run-id')!);
  assert.equal(record.status, 'failed');
  assert.ok(record.attempts[0].error, 'the attempt records its error');
});

test('retries carry identical Idempotency-Key and X-Http-Task-Guid headers on every attempt', async () => {
  routes.set('/flaky', (_req, res) => {
    const n = sentTo('/flaky').length;
    if (n <= 2) reply(res, 503, { busy: n });
    else reply(res, 200, { ok: true, attempt: n });
  });
  await put('retrying', `id: retrying
steps:
  - id: call
    type: http
    method: POST
    url: ${target.url}/flaky
    body: { x: 1 }
    retry: { max_attempts: 3, initial: 100ms }
    save_as: resp
  - id: again
    type: http
    url: ${target.url}/other
`);
  const r = await s.trigger('retrying', {}, 'wait=5');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.resp.body, { ok: true, attempt: 3 });
  const attempts = sentTo('/flaky');
  assert.equal(attempts.length, 3);
  const key = attempts[0].headers['idempotency-key'];
  const guid = attempts[0].headers['x-http-task-guid'];
  assert.ok(key && guid, 'both headers are sent');
  for (const a of attempts) {
    assert.equal(a.headers['idempotency-key'], key);
    assert.equal(a.headers['x-http-task-guid'], guid);
  }
  const other = sentTo('/other').at(-1)!;
  assert.notEqual(other.headers['idempotency-key'], key, 'another step execution has another key');

  const [record] = await stepsOf(r.headers.get('flowgate-run-id')!);
  assert.equal(record.status, 'succeeded');
  assert.equal(record.attempts.length, 3);
  assert.deepEqual(record.attempts.map((a: any) => a.response?.status), [503, 503, 200]);
  assert.ok(record.attempts[0].error && record.attempts[1].error && !record.attempts[2].error);
  assert.ok(Date.parse(record.attempts[1].started_at) - Date.parse(record.attempts[0].started_at) >= 100, 'backoff of at least initial');
});

test('4xx is not retried by default; retry stops at max_attempts', async () => {
  routes.set('/bad-request', (_req, res) => reply(res, 400, { error: 'bad' }));
  routes.set('/always-down', (_req, res) => reply(res, 502, { down: true }));
  await put('no-4xx-retry', `id: no-4xx-retry
steps:
  - id: call
    type: http
    url: ${target.url}/bad-request
    retry: { max_attempts: 3, initial: 50ms }
`);
  await put('gives-up', `id: gives-up
steps:
  - id: call
    type: http
    url: ${target.url}/always-down
    retry: { max_attempts: 2, initial: 50ms }
`);
  const a = await s.trigger('no-4xx-retry', {}, 'wait=5');
  assert.equal(a.status, 500);
  assert.equal(sentTo('/bad-request').length, 1);
  const b = await s.trigger('gives-up', {}, 'wait=5');
  assert.equal(b.status, 500);
  await sleep(200);
  assert.equal(sentTo('/always-down').length, 2);
  const [record] = await stepsOf(b.headers.get('flowgate-run-id')!);
  assert.equal(record.status, 'failed');
  assert.equal(record.attempts.length, 2);
});

test('a retry never comes before Retry-After', async () => {
  routes.set('/throttled', (_req, res) => {
    if (sentTo('/throttled').length === 1) reply(res, 429, { slow: 'down' }, { 'retry-after': '1' });
    else reply(res, 200, { ok: true });
  });
  await put('throttled', `id: throttled
steps:
  - id: call
    type: http
    url: ${target.url}/throttled
    retry: { max_attempts: 2, initial: 10ms }
`);
  const r = await s.trigger('throttled', {}, 'wait=5');
  assert.equal(r.status, 200, r.text);
  const [record] = await stepsOf(r.headers.get('flowgate-run-id')!);
  const gap = Date.parse(record.attempts[1].started_at) - Date.parse(record.attempts[0].finished_at);
  assert.ok(gap >= 950, `second attempt came ${gap} ms after the 429`);
});

test('a loopback target is refused without an allow-list entry (SSRF guard), and never retried', async () => {
  const bare = await startTestServer({ FLOWGATE_HTTP_ALLOW: '' });
  try {
    const r = await bare.putWorkflow('ssrf', `id: ssrf
steps:
  - id: call
    type: http
    url: ${target.url}/ssrf
    retry: { max_attempts: 3, initial: 10ms }
`);
    assert.equal(r.status, 201);
    const run = await bare.trigger('ssrf', {}, 'wait=5');
    assert.equal(run.status, 500);
    assert.equal(sentTo('/ssrf').length, 0, 'nothing reached the loopback target');
  } finally {
    await bare.close();
  }
});

test('an http step sends User-Agent: Flowgate/<version> unless it sets its own', async () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  await put('ua-default', `id: ua-default
steps:
  - { id: send, type: http, method: GET, url: "${target.url}/ua/default" }
`);
  await put('ua-own', `id: ua-own
steps:
  - { id: send, type: http, method: GET, url: "${target.url}/ua/own", headers: { User-Agent: "billing-sync/2.1" } }
`);
  assert.equal((await s.trigger('ua-default', {}, 'wait=5')).status, 200);
  assert.equal((await s.trigger('ua-own', {}, 'wait=5')).status, 200);
  assert.equal(sentTo('/ua/default')[0].headers['user-agent'], `Flowgate/${version}`);
  assert.equal(sentTo('/ua/own')[0].headers['user-agent'], 'billing-sync/2.1');
});
