// foreach (docs/spec.md §2, §8.11) over the real server: one child run per item, non-object items as
// { item }, a failing child counted in `failed` (the step itself succeeds), save_as in item order,
// progress floor(100 × done / total) visible in GET /v1/runs/{id} and in the SSE stream while the
// parent waits, data.stats in both, and step-level `progress` (number or expression).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN, startTestServer, until, type TestServer } from '../helpers/server.js';
import { openSse, sseUntil } from '../helpers/sse.js';

let s: TestServer;

before(async () => {
  s = await startTestServer();
  const put = (id: string, yaml: string) => s.createWorkflow(id, yaml);
  // A child that fails when asked to, else marks its data.
  await put('echo', `id: echo
steps:
  - id: check
    type: condition
    cases:
      - when: fail = true
        next: boom
    default: mark
  - id: mark
    type: set
    set: { seen: true }
    next: fine
  - id: boom
    type: end
    status: failed
    error: { code: asked, message: "asked to fail" }
  - id: fine
    type: end
    status: succeeded
`);
  // A child held in a wait until the test posts its callback URL.
  await put('held-child', `id: held-child
steps:
  - id: hold
    type: wait
    timeout: 1h
  - id: check
    type: condition
    cases:
      - when: fail = true
        next: boom
    default: fine
  - id: fine
    type: end
    status: succeeded
  - id: boom
    type: end
    status: failed
`);
  await put('fan', `id: fan
params:
  items: { type: array, required: true }
steps:
  - id: each
    type: foreach
    items: items
    workflow: echo
    concurrency: 2
    save_as: results
  - id: mark
    type: set
    set: { marked: true }
    progress: "stats.failed * 10"
  - id: hold
    type: wait
    timeout: 1h
`);
  await put('slow-fan', `id: slow-fan
params:
  items: { type: array, required: true }
steps:
  - id: each
    type: foreach
    items: items
    workflow: held-child
    concurrency: 2
`);
});
after(() => s.close());

const children = async (parent: string): Promise<any[]> => {
  const r = await s.call('GET', `/v1/runs?parent=${parent}&limit=1000`);
  assert.equal(r.status, 200, r.text);
  return r.body.items;
};

test('one child per item; non-object items become { item }; a failing child counts in failed; save_as in item order', async () => {
  const items = [5, { n: 2 }, { n: 3, fail: true }, 'x', null];
  const r = await s.trigger('fan', { items });
  assert.equal(r.status, 202, r.text);
  const id = r.body.id;
  // The run parks in its final wait step after the foreach and the `mark` step with its progress.
  const parked = await s.waitRun(id, (x) => x.status === 'waiting' && x.step === 'hold');
  assert.deepEqual(parked.data.stats, { total: 5, succeeded: 4, failed: 1 });
  assert.equal(parked.progress, 10, 'the `mark` step set progress to stats.failed * 10');
  assert.equal(parked.data.marked, true);

  const kids = await children(id);
  assert.equal(kids.length, 5, 'exactly one child run per item');
  assert.ok(kids.every((k) => k.parent_run_id === id && k.workflow === 'echo'));
  const inputs = kids.map((k) => JSON.stringify(k.input)).sort();
  assert.deepEqual(inputs, [{ item: 5 }, { n: 2 }, { n: 3, fail: true }, { item: 'x' }, { item: null }].map((x) => JSON.stringify(x)).sort());
  assert.equal(kids.filter((k) => k.status === 'failed').length, 1);

  // save_as holds each child's result (its final data: none of them replied), in item order.
  assert.deepEqual(parked.data.results, [
    { item: 5, seen: true }, { n: 2, seen: true }, { n: 3, fail: true }, { item: 'x', seen: true }, { item: null, seen: true },
  ]);
  const steps = await s.call('GET', `/v1/runs/${id}/steps`);
  const each = steps.body.items.find((x: any) => x.step_id === 'each');
  assert.equal(each.status, 'succeeded', 'a failed child does not fail the foreach step');
  assert.deepEqual(each.output, { total: 5, succeeded: 4, failed: 1 });

  const cb = await s.call('POST', new URL(parked.callback_url).pathname, { json: {}, token: null });
  assert.equal(cb.status, 202);
  const done = await s.waitRun(id);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.progress, 100, 'a succeeded run reports 100');
});

test('an empty item list: stats all zero, progress 100, no children', async () => {
  const r = await s.trigger('fan', { items: [] });
  const parked = await s.waitRun(r.body.id, (x) => x.status === 'waiting' && x.step === 'hold');
  assert.deepEqual(parked.data.stats, { total: 0, succeeded: 0, failed: 0 });
  assert.deepEqual(parked.data.results, []);
  assert.equal((await children(r.body.id)).length, 0);
});

test('progress = floor(100 × done / total) while the parent waits, in GET /v1/runs/{id} and in SSE; stats at the end', async () => {
  const r = await s.trigger('slow-fan', { items: [{ a: 1 }, { a: 2 }, { a: 3, fail: true }] });
  const id = r.body.id;
  const stream = await openSse(`${s.url}/v1/runs/${id}/events`, { authorization: `Bearer ${ADMIN}` });
  try {
    // Concurrency 2: two children start, the third waits for a free slot.
    const firstTwo = await until(async () => {
      const k = (await children(id)).filter((x) => x.status === 'waiting');
      return k.length === 2 ? k : null;
    }, 'two children parked in their wait');
    assert.equal((await children(id)).length, 2, 'the concurrency bound holds');
    const parent = await s.waitRun(id, (x) => x.status === 'waiting');
    assert.equal(parent.progress, 0);

    const release = async (child: any, body: object = {}): Promise<void> => {
      const cb = await s.call('POST', new URL(child.callback_url).pathname, { json: body, token: null });
      assert.equal(cb.status, 202, cb.text);
    };
    // Oldest first (the list is newest first): item 0.
    const ordered = [...firstTwo].sort((a, b) => (a.id < b.id ? -1 : 1));
    await release(ordered[0]);
    const at33 = await s.waitRun(id, (x) => x.progress === 33);
    assert.equal(at33.status, 'waiting', 'the parent is still waiting for the other children');
    const sse33 = await sseUntil(stream, (e) => e.event === 'run' && e.data.progress === 33);
    assert.ok(sse33.hit, `SSE shows progress 33: ${JSON.stringify(sse33.seen.map((e) => [e.event, e.data.progress]))}`);

    // The third child starts once a slot is free.
    const third = await until(async () => {
      const k = await children(id);
      return k.length === 3 ? k.find((x) => x.input.a === 3 && x.status === 'waiting') : null;
    }, 'the third child');
    await release(third); // fails (its input asks to), counted in failed
    const at66 = await s.waitRun(id, (x) => x.progress === 66);
    assert.equal(at66.status, 'waiting');
    await release(ordered[1]);
    const done = await s.waitRun(id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.progress, 100);
    assert.deepEqual(done.data.stats, { total: 3, succeeded: 2, failed: 1 });

    const end = await sseUntil(stream, (e) => e.event === 'run' && e.data.status === 'succeeded');
    assert.ok(end.hit);
    assert.deepEqual(end.hit!.data.data.stats, { total: 3, succeeded: 2, failed: 1 }, 'data.stats in the SSE run event');
    assert.equal(end.hit!.data.progress, 100);
    assert.equal(await stream.next(), null, 'the stream ends with the run');
  } finally {
    stream.close();
  }
});

test('GET /v1/runs/{id}/result follows the 202-and-poll pattern while a foreach runs, then answers the result', async () => {
  const r = await s.trigger('slow-fan', { items: [{ a: 1 }] });
  const id = r.body.id;
  const kid = await until(async () => (await children(id)).find((x) => x.status === 'waiting'), 'the child');
  const pending = await s.call('GET', `/v1/runs/${id}/result`);
  assert.equal(pending.status, 202);
  assert.match(pending.headers.get('retry-after') ?? '', /^\d+$/);
  assert.equal(pending.headers.get('location'), `${s.url}/v1/runs/${id}/result`);
  await s.call('POST', new URL(kid.callback_url).pathname, { json: {}, token: null });
  await s.waitRun(id);
  const done = await s.call('GET', `/v1/runs/${id}/result`);
  assert.equal(done.status, 200);
  assert.deepEqual(done.body.stats, { total: 1, succeeded: 1, failed: 0 });
  const again = await s.call('GET', `/v1/runs/${id}/result`);
  assert.deepEqual(again.body, done.body, 'the same answer on every later GET');
});
