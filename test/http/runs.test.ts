// Reading runs (docs/spec.md §4, §8.5, §8.11, §8.19): lists with filters and cursors, the run document,
// step records in execution order, and the live Server-Sent Events stream.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startTestServer, until, type TestServer } from '../helpers/server.js';
import { openSse, type Sse, type SseStream } from '../helpers/sse.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  const put = (id: string, yaml: string) => s.createWorkflow(id, yaml);
  await put('pager', `id: pager
steps:
  - id: done
    type: set
    set: { ok: true }
`);
  await put('shape', `id: shape
params:
  amount: { type: number, required: true }
steps:
  - id: prepare
    type: set
    set: { fee: "{{ amount / 10 }}" }
    progress: 40
  - id: route
    type: condition
    cases:
      - when: amount > 100
        next: big
    default: answer
  - id: big
    type: set
    set: { big: true }
  - id: answer
    type: reply
    data: { fee: "{{ fee }}" }
  - id: tail
    type: set
    set: { after_reply: true }
`);
  await put('held', `id: held
steps:
  - id: hold
    type: wait
    timeout: 1h
  - id: answer
    type: reply
    data: { got: "{{ got }}" }
`);
});
after(() => s.close());

test('the list is newest first, cursor-paged (limit=2 over 5 runs), and filtered by workflow', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await s.trigger('pager', { i });
    assert.equal(r.status, 202);
    ids.push(r.body.id);
  }
  await s.trigger('shape', { amount: 1 });
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const r: any = await s.call('GET', `/v1/runs?workflow=pager&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.items.length <= 2);
    for (const run of r.body.items) assert.equal(run.workflow, 'pager');
    seen.push(...r.body.items.map((x: any) => x.id));
    cursor = r.body.next_cursor;
    assert.ok(cursor === null || typeof cursor === 'string');
    pages++;
  } while (cursor && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(seen, [...ids].reverse(), 'newest first, each run exactly once');
});

test('limit is clamped to 1..1000, never an error', async () => {
  const zero = await s.call('GET', '/v1/runs?limit=0');
  assert.equal(zero.status, 200, zero.text);
  assert.equal(zero.body.items.length, 1);
  assert.equal(typeof zero.body.next_cursor, 'string');
  const negative = await s.call('GET', '/v1/runs?limit=-7');
  assert.equal(negative.status, 200);
  assert.equal(negative.body.items.length, 1);
  const huge = await s.call('GET', '/v1/runs?limit=5000');
  assert.equal(huge.status, 200, huge.text);
  assert.equal(huge.body.items.length, await s.runCount());
  assert.equal(huge.body.next_cursor, null);
  const junk = await s.call('GET', '/v1/runs?limit=lots');
  assert.equal(junk.status, 200);
});

test('filters: status and ref; an unknown status is 422', async () => {
  const parked = await s.trigger('held', {}, 'ref=held-1');
  await s.waitRun(parked.body.id, (r) => r.status === 'waiting');
  const waiting = await s.call('GET', '/v1/runs?status=waiting');
  assert.equal(waiting.status, 200);
  assert.deepEqual(waiting.body.items.map((r: any) => r.id), [parked.body.id]);
  const byRef = await s.call('GET', '/v1/runs?ref=held-1');
  assert.deepEqual(byRef.body.items.map((r: any) => r.id), [parked.body.id]);
  const noRef = await s.call('GET', '/v1/runs?ref=nothing-has-this');
  assert.deepEqual(noRef.body.items, []);
  const succeeded = await s.call('GET', '/v1/runs?status=succeeded&workflow=held');
  assert.deepEqual(succeeded.body.items, []);
  const bad = await s.call('GET', '/v1/runs?status=sleeping');
  assert.equal(bad.status, 422);
  await s.call('POST', `/v1/runs/${parked.body.id}/cancel`);
});

test('GET a run: status, progress, input, data, reply and timings', async () => {
  const r = await s.trigger('shape', { amount: 50, extra: 'kept' });
  const run = await s.waitRun(r.body.id);
  assert.equal(run.id, r.body.id);
  assert.equal(run.workflow, 'shape');
  assert.equal(run.version, 1);
  assert.equal(run.status, 'succeeded');
  assert.equal(run.progress, 100);
  assert.deepEqual(run.input, { amount: 50, extra: 'kept' });
  assert.deepEqual(run.data, { amount: 50, extra: 'kept', fee: 5, after_reply: true });
  assert.equal(run.reply.data.fee, 5);
  assert.equal(run.error, null);
  for (const t of ['created_at', 'started_at', 'finished_at']) {
    assert.ok(!Number.isNaN(Date.parse(run[t])), `${t} is a timestamp: ${run[t]}`);
  }
  assert.ok(Date.parse(run.created_at) <= Date.parse(run.started_at));
  assert.ok(Date.parse(run.started_at) <= Date.parse(run.finished_at));
  assert.equal((await s.call('GET', '/v1/runs/0190c1d2-0000-7000-8000-000000000000')).status, 404);
  assert.equal((await s.call('GET', '/v1/runs/not-a-uuid')).status, 404);
});

test('a step progress becomes the run progress while it runs', async () => {
  const put = await s.putWorkflow('partial', `id: partial
steps:
  - id: first
    type: set
    set: { a: 1 }
    progress: 40
  - id: hold
    type: wait
`);
  assert.equal(put.status, 201);
  const r = await s.trigger('partial', {});
  const run = await s.waitRun(r.body.id, (x) => x.status === 'waiting');
  assert.equal(run.progress, 40);
  await s.call('POST', `/v1/runs/${run.id}/cancel`);
});

test('step records come in execution order with their fields', async () => {
  const r = await s.trigger('shape', { amount: 500 });
  await s.waitRun(r.body.id);
  const steps = await s.call('GET', `/v1/runs/${r.body.id}/steps`);
  assert.equal(steps.status, 200, steps.text);
  const items = steps.body.items;
  assert.deepEqual(items.map((x: any) => x.step_id), ['prepare', 'route', 'big', 'answer', 'tail']);
  assert.deepEqual(items.map((x: any) => x.type), ['set', 'condition', 'set', 'reply', 'set']);
  for (const x of items) {
    assert.equal(x.status, 'succeeded');
    assert.ok(Array.isArray(x.attempts), 'attempts is a list');
    assert.ok('input' in x && 'output' in x && 'error' in x && 'name' in x);
    assert.ok(!Number.isNaN(Date.parse(x.started_at)));
    assert.ok(!Number.isNaN(Date.parse(x.finished_at)));
    assert.ok(Date.parse(x.started_at) <= Date.parse(x.finished_at));
  }
  assert.deepEqual(items[0].output, { fee: 50 });
  assert.equal(items[1].output.next, 'big');
  for (let i = 1; i < items.length; i++) assert.ok(Date.parse(items[i - 1].started_at) <= Date.parse(items[i].started_at));
});

// ---------------------------------------------------------------- SSE

/** Opens the run's event stream as the admin. */
const openEvents = (runId: string): Promise<SseStream> => openSse(`${s.url}/v1/runs/${runId}/events`, { authorization: `Bearer ${ADMIN}` });

test('SSE: headers at once, the current state first, then live step and run events until the end', async () => {
  const r = await s.trigger('held', {});
  const run = await s.waitRun(r.body.id, (x) => x.status === 'waiting');
  const t0 = Date.now();
  const stream = await openEvents(run.id);
  try {
    assert.ok(Date.now() - t0 < 1000, 'headers arrive at once, before any run change');
    assert.equal(stream.res.status, 200);
    assert.match(stream.res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const first = await stream.next();
    assert.equal(first?.event, 'run');
    assert.equal(first?.data.id, run.id);
    assert.equal(first?.data.status, 'waiting');

    const cb = await s.call('POST', new URL(run.callback_url).pathname, { json: { got: 'sse' }, token: null });
    assert.equal(cb.status, 202);
    const events: Sse[] = [];
    for (;;) {
      const e = await stream.next();
      if (e === null) break;
      events.push(e);
    }
    const steps = events.filter((e) => e.event === 'step');
    assert.ok(steps.some((e) => e.data.step_id === 'hold' && e.data.status === 'succeeded'), JSON.stringify(events.map((e) => [e.event, e.data.step_id ?? e.data.status])));
    assert.ok(steps.some((e) => e.data.step_id === 'answer'));
    const last = events[events.length - 1];
    assert.equal(last.event, 'run');
    assert.equal(last.data.status, 'succeeded', 'the stream ends with the final run state');
    assert.deepEqual(last.data.reply.data, { got: 'sse' });
  } finally {
    stream.close();
  }
});

test('SSE on a finished run sends its state and ends; an unknown run is 404', async () => {
  const r = await s.trigger('pager', {});
  await s.waitRun(r.body.id);
  const stream = await openEvents(r.body.id);
  try {
    const first = await stream.next();
    assert.equal(first?.event, 'run');
    assert.equal(first?.data.status, 'succeeded');
    assert.equal(await stream.next(), null, 'the stream ends');
  } finally {
    stream.close();
  }
  const missing = await s.call('GET', '/v1/runs/0190c1d2-0000-7000-8000-000000000000/events');
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get('content-type') ?? '', /^application\/problem\+json/);
});

test('SSE sees a run from its waiting state to cancelled', async () => {
  const r = await s.trigger('held', {});
  await s.waitRun(r.body.id, (x) => x.status === 'waiting');
  const stream = await openEvents(r.body.id);
  try {
    assert.equal((await stream.next())?.data.status, 'waiting');
    assert.equal((await s.call('POST', `/v1/runs/${r.body.id}/cancel`)).status, 200);
    const seen = await until(async () => {
      const e = await stream.next();
      return e === null ? 'end' : e.event === 'run' && e.data.status === 'cancelled' ? 'cancelled' : null;
    }, 'a cancelled event');
    assert.equal(seen, 'cancelled');
  } finally {
    stream.close();
  }
});
