// Native triggers (docs/spec.md §4 "Bodies" and "Response modes", §8.9, §8.15): body formats coerced by
// params, the 202 answer, ?wait / Prefer: wait, reply status and headers, degraded waits, failures,
// the result endpoint; and params validation that refuses with every problem and creates nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  const put = (id: string, yaml: string) => s.createWorkflow(id, yaml);
  await put('echo', `id: echo
params:
  amount: { type: number, required: true }
  note:   { type: string, default: none }
steps:
  - id: answer
    type: reply
    http_status: 201
    headers: { X-Echo: "amount={{ amount }}", X-Run: "{{ $run.id }}" }
    data: { amount: "{{ amount }}", note: "{{ note }}", kind: "{{ $type(amount) }}" }
`);
  await put('quiet', `id: quiet
steps:
  - id: compute
    type: set
    set: { doubled: "{{ n * 2 }}" }
`);
  await put('slow', `id: slow
steps:
  - id: pause
    type: delay
    for: 2s
  - id: answer
    type: reply
    data: { done: true }
`);
  await put('doomed', `id: doomed
steps:
  - id: stop
    type: end
    status: failed
    error: "no luck"
`);
  await put('checked', `id: checked
params:
  amount:   { type: number, required: true, minimum: 0, maximum: 100 }
  code:     { type: string, pattern: "^[A-Z]{3}$" }
  color:    { type: string, enum: [red, green] }
  count:    { type: integer }
  currency: { type: string, default: EUR }
  email:    { type: string, format: email }
steps:
  - id: done
    type: set
    set: { ok: true }
`);
  await put('strict', `id: strict
undeclared: reject
params:
  name: { type: string, required: true }
steps:
  - id: done
    type: set
    set: { ok: true }
`);
});
after(() => s.close());

const INTEGER = /^\d+$/;

test('default mode: 202 with the status monitor as absolute Location, integer Retry-After and { id, status, ref, links }', async () => {
  const r = await s.trigger('echo', { amount: 5 }, 'ref=first-ref');
  assert.equal(r.status, 202, r.text);
  assert.equal(r.headers.get('location'), `${s.url}/v1/runs/${r.body.id}/result`);
  assert.equal(r.body.links.result, r.headers.get('location'));
  assert.match(r.headers.get('retry-after') ?? '', INTEGER);
  assert.match(r.body.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'run ids are UUIDv7');
  assert.equal(typeof r.body.status, 'string');
  assert.equal(r.body.ref, 'first-ref');
  assert.equal(r.body.links.self, `${s.url}/v1/runs/${r.body.id}`);
  assert.equal(r.body.links.result, `${s.url}/v1/runs/${r.body.id}/result`);
  const done = await s.waitRun(r.body.id);
  assert.equal(done.status, 'succeeded');
  assert.deepEqual(done.input, { amount: 5 });
});

test('JSON, form and XML bodies are coerced by the declared params', async () => {
  const bodies: [string, string][] = [
    ['application/json', '{"amount": "10"}'],
    ['application/x-www-form-urlencoded', 'amount=10&note=from+form'],
    ['application/xml', '<task><amount>10</amount><note>from xml</note></task>'],
    ['text/xml; charset=utf-8', '<?xml version="1.0"?><task><amount>10</amount></task>'],
  ];
  for (const [type, raw] of bodies) {
    const r = await s.call('POST', '/v1/workflows/echo/runs?wait=5', { raw, type });
    assert.equal(r.status, 201, `${type}: ${r.text}`);
    assert.equal(r.body.amount, 10, `${type}: amount is a number`);
    assert.equal(r.body.kind, 'number');
  }
  const form = await s.call('POST', '/v1/workflows/echo/runs?wait=5', { raw: 'amount=2.5&note=from+form', type: 'application/x-www-form-urlencoded' });
  assert.equal(form.body.note, 'from form');
  const xml = await s.call('POST', '/v1/workflows/echo/runs?wait=5', { raw: '<task><amount>3</amount><note>from xml</note></task>', type: 'application/xml' });
  assert.equal(xml.body.note, 'from xml');
  const bad = await s.call('POST', '/v1/workflows/echo/runs', { raw: '<task><amount>ten</amount></task>', type: 'application/xml' });
  assert.equal(bad.status, 422);
  assert.deepEqual(bad.body.errors.map((e: any) => e.path), ['amount']);
});

test('?wait=N answers the reply with its status and headers plus Flowgate-Run-Id and -Status', async () => {
  const r = await s.trigger('echo', { amount: 7 }, 'wait=5');
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body, { amount: 7, note: 'none', kind: 'number' });
  const id = r.headers.get('flowgate-run-id');
  assert.match(id ?? '', /^[0-9a-f-]{36}$/);
  assert.ok(['running', 'succeeded'].includes(r.headers.get('flowgate-run-status') ?? ''), r.headers.get('flowgate-run-status') ?? 'none');
  assert.equal(r.headers.get('x-echo'), 'amount=7');
  assert.equal(r.headers.get('x-run'), id);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
});

test('Prefer: wait=N works like ?wait=N', async () => {
  const r = await s.trigger('echo', { amount: 8 }, '', { headers: { prefer: 'respond-async, wait=5' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.amount, 8);
  assert.ok(r.headers.get('flowgate-run-id'));
});

test('a run that ends without replying answers its final data with 200', async () => {
  const r = await s.trigger('quiet', { n: 21 }, 'wait=5');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { n: 21, doubled: 42 });
  assert.equal(r.headers.get('flowgate-run-status'), 'succeeded');
});

test('a wait that expires degrades to 202, and the result endpoint answers 202 then 200', async () => {
  const t0 = Date.now();
  const r = await s.trigger('slow', {}, 'wait=1');
  const took = Date.now() - t0;
  assert.equal(r.status, 202, r.text);
  assert.ok(took >= 900 && took < 1900, `the wait lasted about 1 s (${took} ms)`);
  const id = r.body.id;
  assert.equal(r.headers.get('location'), `${s.url}/v1/runs/${id}/result`, 'a degraded wait names the same status monitor');
  assert.match(r.headers.get('retry-after') ?? '', INTEGER);

  const pending = await s.call('GET', `/v1/runs/${id}/result`);
  assert.equal(pending.status, 202, pending.text);
  assert.match(pending.headers.get('retry-after') ?? '', INTEGER);
  assert.equal(pending.headers.get('location'), `${s.url}/v1/runs/${id}/result`, 'the monitor points at itself while the run has not settled');
  const view = await s.call('GET', `/v1/runs/${id}`);
  assert.equal(view.status, 200, 'the run resource stays a 200 view');

  await s.waitRun(id, (run) => run.reply !== null || run.status === 'succeeded');
  const done = await s.call('GET', `/v1/runs/${id}/result`);
  assert.equal(done.status, 200, done.text);
  assert.deepEqual(done.body, { done: true });
  assert.equal(done.headers.get('flowgate-run-id'), id);
});

test('a run that fails without replying: ?wait answers problem+json 500 run-failed', async () => {
  const r = await s.trigger('doomed', {}, 'wait=5');
  assert.equal(r.status, 500, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.match(r.body.type, /run-failed$/);
  assert.equal(r.body.status, 500);
  assert.match(r.body.detail, /no luck/);
  const id = r.headers.get('flowgate-run-id');
  assert.ok(id);
  assert.equal(r.headers.get('flowgate-run-status'), 'failed');
  // The result endpoint answers exactly the same (§8.9).
  const again = await s.call('GET', `/v1/runs/${id}/result`);
  assert.equal(again.status, 500);
  assert.match(again.body.type, /run-failed$/);
});

test('?wait=abc is a 422, not a run', async () => {
  const before = await s.runCount();
  const r = await s.trigger('echo', { amount: 1 }, 'wait=abc');
  assert.equal(r.status, 422, r.text);
  assert.equal(await s.runCount(), before);
});

test('an unknown workflow is 404 problem', async () => {
  const r = await s.trigger('no-such-flow', {});
  assert.equal(r.status, 404);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
});

// ---------------------------------------------------------------- params validation

test('every bad param is reported with its path in one 422, and nothing is created', async () => {
  const before = await s.runCount();
  const r = await s.trigger('checked', { code: 'abc', color: 'blue', count: '2.5', email: 'not-an-email' });
  assert.equal(r.status, 422, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.match(r.body.type, /validation-failed$/);
  const paths = r.body.errors.map((e: any) => e.path).sort();
  assert.deepEqual(paths, ['amount', 'code', 'color', 'count', 'email']);
  for (const e of r.body.errors) assert.ok(e.message.length > 0);

  const high = await s.trigger('checked', { amount: 101 });
  assert.equal(high.status, 422);
  assert.deepEqual(high.body.errors.map((e: any) => e.path), ['amount']);
  const low = await s.trigger('checked', { amount: -1 });
  assert.equal(low.status, 422);
  assert.deepEqual(low.body.errors.map((e: any) => e.path), ['amount']);
  const wrongType = await s.trigger('checked', { amount: 'lots' });
  assert.equal(wrongType.status, 422);
  assert.deepEqual(wrongType.body.errors.map((e: any) => e.path), ['amount']);
  // A refused ?wait call creates nothing either.
  const waited = await s.trigger('checked', { amount: 500 }, 'wait=2');
  assert.equal(waited.status, 422);

  assert.equal(await s.runCount(), before, 'no run was created by refused triggers');
});

test('defaults are applied (also for null and ""), and valid strings are coerced', async () => {
  for (const currency of [undefined, null, '']) {
    const r = await s.trigger('checked', { amount: '100', count: '3', currency }, 'wait=5');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.currency, 'EUR', `currency ${JSON.stringify(currency)} takes the default`);
    assert.equal(r.body.amount, 100);
    assert.equal(r.body.count, 3);
  }
  const given = await s.trigger('checked', { amount: 0, currency: 'USD', code: 'ABC', color: 'red', email: 'a@b.example' }, 'wait=5');
  assert.equal(given.status, 200, given.text);
  assert.equal(given.body.currency, 'USD');
  assert.equal(given.body.ok, true);
});

test('undeclared: reject refuses extra keys (422) and creates nothing; keep keeps them', async () => {
  const before = await s.runCount();
  const r = await s.trigger('strict', { name: 'x', extra: 1 });
  assert.equal(r.status, 422, r.text);
  assert.ok(r.body.errors.some((e: any) => e.path === 'extra'), JSON.stringify(r.body.errors));
  assert.equal(await s.runCount(), before);
  const ok = await s.trigger('strict', { name: 'x' }, 'wait=5');
  assert.equal(ok.status, 200, ok.text);

  const kept = await s.trigger('checked', { amount: 1, extra: { deep: true } }, 'wait=5');
  assert.equal(kept.status, 200);
  assert.deepEqual(kept.body.extra, { deep: true });
});
