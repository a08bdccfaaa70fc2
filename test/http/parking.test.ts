// Parked runs (docs/spec.md §2 wait/delay, §4 cancel/retry, §8.4, §8.8): callbacks resume a wait step or
// become the reply, wait timeouts route to on_timeout, delays resume, cancel and retry.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, until, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  const defs: Record<string, string> = {
    merge: `id: merge
steps:
  - id: hold
    type: wait
    timeout: 1h
  - id: after
    type: set
    set: { resumed: true }
`,
    saved: `id: saved
steps:
  - id: hold
    type: wait
    timeout: 1h
    save_as: approval
  - id: answer
    type: reply
    data: { approved_by: "{{ approval.by }}" }
`,
    timeout: `id: timeout
steps:
  - id: hold
    type: wait
    timeout: 300ms
    on_timeout: late
  - id: answer
    type: set
    set: { path: callback }
  - id: finish
    type: end
    status: succeeded
  - id: late
    type: set
    set: { path: timeout }
`,
    'timeout-fails': `id: timeout-fails
steps:
  - id: hold
    type: wait
    timeout: 200ms
`,
    sleeper: `id: sleeper
steps:
  - id: nap
    type: delay
    for: 1s
  - id: woke
    type: set
    set: { woke_at: "{{ $now }}" }
`,
    alarm: `id: alarm
params:
  at: { type: string, format: date-time, required: true }
steps:
  - id: nap
    type: delay
    until: at
  - id: woke
    type: set
    set: { woke: true }
`,
    long: `id: long
steps:
  - id: nap
    type: delay
    for: 1h
`,
    flaky: `id: flaky
steps:
  - id: pre
    type: set
    set: { pre: "{{ $run.attempt }}" }
  - id: boom
    type: set
    set: { v: "{{ $run.attempt < 2 ? $error('first attempt fails') : 'fine' }}" }
  - id: post
    type: set
    set: { post: "{{ $run.attempt }}" }
`,
    ender: `id: ender
steps:
  - id: pre
    type: set
    set: { seen: "{{ $run.attempt }}" }
  - id: route
    type: condition
    cases:
      - when: $run.attempt < 3
        next: stop
    default: ok
  - id: stop
    type: end
    status: failed
    error: "attempt {{ $run.attempt }} gave up"
  - id: ok
    type: set
    set: { ok: true }
`,
  };
  for (const [id, yaml] of Object.entries(defs)) {
    const r = await s.putWorkflow(id, yaml);
    assert.equal(r.status, 201, `${id}: ${r.text}`);
  }
});
after(() => s.close());

const callbackPath = (run: any): string => new URL(run.callback_url).pathname;
const parkedRun = async (workflow: string, data: object = {}): Promise<any> => {
  const r = await s.trigger(workflow, data);
  assert.equal(r.status, 202, r.text);
  return s.waitRun(r.body.id, (x) => x.status === 'waiting');
};

test('a callback without Authorization resumes a parked wait step and merges its body into data', async () => {
  const run = await parkedRun('merge', { start: 1 });
  assert.equal(run.status, 'waiting');
  assert.match(callbackPath(run), /^\/v1\/callbacks\/[A-Za-z0-9_-]{22,}$/, 'a token of at least 128 bits');
  const cb = await s.call('POST', callbackPath(run), { json: { decision: 'yes', n: 2 }, token: null });
  assert.equal(cb.status, 202, cb.text);
  const done = await s.waitRun(run.id);
  assert.equal(done.status, 'succeeded');
  assert.deepEqual(done.data, { start: 1, decision: 'yes', n: 2, resumed: true });
  const steps = (await s.call('GET', `/v1/runs/${run.id}/steps`)).body.items;
  assert.equal(steps[0].step_id, 'hold');
  assert.equal(steps[0].status, 'succeeded');
  assert.deepEqual(steps[0].output, { decision: 'yes', n: 2 });
});

test('save_as keeps the callback body under its key', async () => {
  const run = await parkedRun('saved');
  const cb = await s.call('POST', callbackPath(run), { raw: 'by=ann&note=ok', type: 'application/x-www-form-urlencoded', token: null });
  assert.equal(cb.status, 202, cb.text);
  const done = await s.waitRun(run.id);
  assert.deepEqual(done.data, { approval: { by: 'ann', note: 'ok' } });
  assert.deepEqual(done.reply.data, { approved_by: 'ann' });
});

test('a callback to a finished run without a reply becomes its reply; a second one is 409', async () => {
  const run = await parkedRun('merge');
  assert.equal((await s.call('POST', callbackPath(run), { json: { a: 1 }, token: null })).status, 202);
  const done = await s.waitRun(run.id);
  assert.equal(done.reply, null, 'the workflow itself never replies');
  const asReply = await s.call('POST', callbackPath(run), { json: { answer: 42 }, token: null });
  assert.equal(asReply.status, 202, asReply.text);
  const result = await s.call('GET', `/v1/runs/${run.id}/result`);
  assert.equal(result.status, 200);
  assert.deepEqual(result.body, { answer: 42 });
  const third = await s.call('POST', callbackPath(run), { json: { answer: 43 }, token: null });
  assert.equal(third.status, 409, third.text);
  assert.match(third.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.deepEqual((await s.call('GET', `/v1/runs/${run.id}/result`)).body, { answer: 42 }, 'the first reply stands');
});

test('a callback to a run parked in delay becomes the reply a ?wait caller receives', async () => {
  const waiting = s.trigger('long', {}, 'ref=delay-reply&wait=5');
  const run = await until(async () => (await s.call('GET', '/v1/runs?ref=delay-reply&status=waiting')).body.items[0], 'the run to park');
  const cb = await s.call('POST', callbackPath(run), { json: { via: 'callback' }, token: null });
  assert.equal(cb.status, 202, cb.text);
  const answer = await waiting;
  assert.equal(answer.status, 200, answer.text);
  assert.deepEqual(answer.body, { via: 'callback' });
  assert.equal(answer.headers.get('flowgate-run-id'), run.id);
  assert.equal((await s.call('GET', `/v1/runs/${run.id}`)).body.status, 'waiting', 'the run itself goes on');
  await s.call('POST', `/v1/runs/${run.id}/cancel`);
});

test('an unknown callback token is 404, with or without a plausible length', async () => {
  for (const token of ['x', 'A'.repeat(32), 'A'.repeat(300)]) {
    const r = await s.call('POST', `/v1/callbacks/${token}`, { json: {}, token: null });
    assert.equal(r.status, 404, `${token.length} chars: ${r.status}`);
  }
});

test('a wait that times out follows on_timeout; without on_timeout the run fails', async () => {
  const r = await s.trigger('timeout', {});
  const done = await s.waitRun(r.body.id, undefined, { timeoutMs: 5000 });
  assert.equal(done.status, 'succeeded');
  assert.equal(done.data.path, 'timeout');
  const steps = (await s.call('GET', `/v1/runs/${r.body.id}/steps`)).body.items;
  assert.deepEqual(steps.map((x: any) => x.step_id), ['hold', 'late']);
  // A callback after the timeout no longer resumes the wait step.
  const late = await s.call('POST', callbackPath(done), { json: { x: 1 }, token: null });
  assert.notEqual((await s.call('GET', `/v1/runs/${r.body.id}`)).body.data.path, 'callback');
  assert.ok(late.status === 202 || late.status === 409);

  const f = await s.trigger('timeout-fails', {});
  const failed = await s.waitRun(f.body.id, undefined, { timeoutMs: 5000 });
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error.step, 'hold');
});

test('delay for: 1s parks the run and resumes it after the second', async () => {
  const t0 = Date.now();
  const r = await s.trigger('sleeper', {});
  const parked = await s.waitRun(r.body.id, (x) => x.status === 'waiting');
  assert.ok(parked.wake_at, 'a parked delay shows when it wakes');
  const done = await s.waitRun(r.body.id, undefined, { timeoutMs: 5000 });
  assert.equal(done.status, 'succeeded');
  assert.ok(Date.parse(done.data.woke_at) - t0 >= 950, `woke after ${Date.parse(done.data.woke_at) - t0} ms`);
});

test('delay until: an expression naming a timestamp', async () => {
  const at = new Date(Date.now() + 700).toISOString();
  const r = await s.trigger('alarm', { at });
  assert.equal(r.status, 202, r.text);
  const parked = await s.waitRun(r.body.id, (x) => x.status === 'waiting' || x.status === 'succeeded');
  assert.equal(parked.status, 'waiting');
  assert.equal(parked.wake_at, at);
  const done = await s.waitRun(r.body.id, undefined, { timeoutMs: 5000 });
  assert.equal(done.status, 'succeeded');
  assert.ok(Date.parse(done.finished_at) >= Date.parse(at));
  assert.equal(done.data.woke, true);

  const past = await s.trigger('alarm', { at: new Date(Date.now() - 60_000).toISOString() });
  assert.equal((await s.waitRun(past.body.id, undefined, { timeoutMs: 5000 })).status, 'succeeded');
});

test('cancel: a waiting run becomes cancelled; cancelling again is 409; unknown is 404', async () => {
  const run = await parkedRun('merge');
  const c = await s.call('POST', `/v1/runs/${run.id}/cancel`);
  assert.equal(c.status, 200, c.text);
  assert.equal(c.body.status, 'cancelled');
  const now = await s.call('GET', `/v1/runs/${run.id}`);
  assert.equal(now.body.status, 'cancelled');
  assert.ok(now.body.finished_at);
  const again = await s.call('POST', `/v1/runs/${run.id}/cancel`);
  assert.equal(again.status, 409, again.text);
  assert.equal((await s.call('POST', '/v1/runs/0190c1d2-0000-7000-8000-000000000000/cancel')).status, 404);
  const steps = (await s.call('GET', `/v1/runs/${run.id}/steps`)).body.items;
  assert.notEqual(steps[0].status, 'waiting', 'the parked step record is closed');
  // A cancelled run no longer resumes: its wait step is not continued by a callback.
  await s.call('POST', callbackPath(run), { json: { late: true }, token: null });
  assert.equal((await s.call('GET', `/v1/runs/${run.id}`)).body.status, 'cancelled');

  const sleeping = await parkedRun('long');
  assert.equal((await s.call('POST', `/v1/runs/${sleeping.id}/cancel`)).body.status, 'cancelled');
});

test('retry after a failing expression runs again from the failed step only', async () => {
  const r = await s.trigger('flaky', {});
  const failed = await s.waitRun(r.body.id);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error.step, 'boom');
  assert.match(failed.error.message, /first attempt fails/);

  const retry = await s.call('POST', `/v1/runs/${r.body.id}/retry`);
  assert.equal(retry.status, 202, retry.text);
  const done = await s.waitRun(r.body.id);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.attempt, 2);
  assert.deepEqual(done.data, { pre: 1, v: 'fine', post: 2 }, 'pre ran once, boom and post in the retry');
  const steps = (await s.call('GET', `/v1/runs/${r.body.id}/steps`)).body.items;
  assert.deepEqual(steps.map((x: any) => [x.step_id, x.status]), [['pre', 'succeeded'], ['boom', 'failed'], ['boom', 'succeeded'], ['post', 'succeeded']]);
  assert.equal((await s.call('POST', `/v1/runs/${r.body.id}/retry`)).status, 409, 'only failed runs can be retried');
});

test('retry of an end status: failed run; ?from=start begins again with the original input', async () => {
  const r = await s.trigger('ender', { given: 'x' });
  const failed = await s.waitRun(r.body.id);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error.step, 'stop');
  assert.match(failed.error.message, /attempt 1 gave up/);

  assert.equal((await s.call('POST', `/v1/runs/${r.body.id}/retry`)).status, 202);
  const again = await s.waitRun(r.body.id, (x) => x.status === 'failed' && x.attempt === 2);
  assert.match(again.error.message, /attempt 2 gave up/, 'the end step ran again');
  let steps = (await s.call('GET', `/v1/runs/${r.body.id}/steps`)).body.items;
  assert.deepEqual(steps.map((x: any) => x.step_id), ['pre', 'route', 'stop', 'stop'], 'the retry started at the failed step');

  const fromStart = await s.call('POST', `/v1/runs/${r.body.id}/retry?from=start`);
  assert.equal(fromStart.status, 202, fromStart.text);
  const done = await s.waitRun(r.body.id);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.attempt, 3);
  assert.deepEqual(done.data, { given: 'x', seen: 3, ok: true });
  steps = (await s.call('GET', `/v1/runs/${r.body.id}/steps`)).body.items;
  assert.deepEqual(steps.map((x: any) => x.step_id), ['pre', 'route', 'stop', 'stop', 'pre', 'route', 'ok']);
});
