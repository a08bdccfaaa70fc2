/**
 * Group commit: requests that arrive together share one store call; requests that arrive while a
 * write is in flight form the next batch (no fixed sleep). Checked with a counting fake Store and
 * with the real SQLite store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { randomToken, uuidv7 } from '../core/ids.js';
import type { Run } from '../core/types.js';
import { openSqliteStore } from '../store/sqlite/store.js';
import type { CreateResult, NewRun, Store, Transition, TransitionResult } from '../store/types.js';
import { Committer } from './committer.js';

const T0 = 1_700_000_000_000;

function makeRun(over: Partial<Run> = {}): Run {
  return {
    id: uuidv7(T0), tenant: 'default', workflow: 'wf', version: 1, ref: null, status: 'queued', input: { n: 1 }, data: { n: 1 },
    progress: 0, step: 'a', step_seq: 0, reply: null, error: null, parking: null, wake_at: null, callback_token: randomToken(),
    result_url: null, parent: null, attempt: 1, owner: null, lease_until: null, rev: 1, created_at: T0, started_at: null,
    finished_at: null, updated_at: T0, ...over,
  };
}

/** Records each batch; a write takes `delayMs` (like an fsync), so later requests pile up. */
class CountingStore {
  readonly createBatches: NewRun[][] = [];
  readonly transitionBatches: Transition[][] = [];
  writes = 0;
  /** Runs whose creation the store refuses (a batch holding one fails whole, like a rolled-back transaction). */
  readonly poison = new Set<string>();
  constructor(private readonly delayMs = 5) {}
  async writeBatch(creates: NewRun[], transitions: Transition[]): Promise<{ creates: CreateResult[]; transitions: TransitionResult[] }> {
    this.writes++;
    if (creates.length) this.createBatches.push(creates);
    if (transitions.length) this.transitionBatches.push(transitions);
    await new Promise((r) => setTimeout(r, this.delayMs));
    if (creates.some((c) => this.poison.has(c.run.id))) throw new Error('constraint failed');
    return {
      creates: creates.map((b) => ({ kind: 'created', run: b.run })),
      transitions: transitions.map(() => ({ ok: true, replied: false })),
    };
  }
}

describe('Committer with a counting store', () => {
  test('many concurrent creates resolve from one store call, each with its own result, in order', async () => {
    const store = new CountingStore();
    const c = new Committer(store as unknown as Store);
    const runs = Array.from({ length: 500 }, () => makeRun());
    const results = await Promise.all(runs.map((run) => c.create({ run, refPolicy: 'native' })));
    assert.equal(store.createBatches.length, 1);
    assert.equal(store.createBatches[0].length, 500);
    assert.deepEqual(results.map((r) => r.run.id), runs.map((r) => r.id));
    assert.deepEqual(store.createBatches[0].map((n) => n.run.id), runs.map((r) => r.id));
  });

  test('creates arriving during a write form exactly one next batch', async () => {
    const store = new CountingStore(20);
    const c = new Committer(store as unknown as Store);
    const first = Array.from({ length: 10 }, () => c.create({ run: makeRun(), refPolicy: 'native' }));
    await new Promise((r) => setTimeout(r, 5)); // the first batch is now being written
    assert.equal(store.createBatches.length, 1);
    const second = Array.from({ length: 30 }, () => c.create({ run: makeRun(), refPolicy: 'native' }));
    await Promise.all([...first, ...second]);
    assert.deepEqual(store.createBatches.map((b) => b.length), [10, 30]);
  });

  test('maxBatch splits a burst', async () => {
    const store = new CountingStore(1);
    const c = new Committer(store as unknown as Store, { maxBatch: 100 });
    await Promise.all(Array.from({ length: 250 }, () => c.create({ run: makeRun(), refPolicy: 'native' })));
    assert.deepEqual(store.createBatches.map((b) => b.length), [100, 100, 50]);
  });

  test('transitions are batched the same way, beside creates', async () => {
    const store = new CountingStore();
    const c = new Committer(store as unknown as Store);
    const runs = Array.from({ length: 50 }, () => makeRun());
    await Promise.all([
      ...runs.map((run) => c.transition({ run: { ...run, rev: 2 }, expectRev: 1, steps: [] })),
      ...runs.map((run) => c.create({ run, refPolicy: 'native' })),
    ]);
    assert.equal(store.writes, 1, 'creates and transitions share one write (one transaction)');
    assert.equal(store.createBatches.length, 1);
    assert.equal(store.transitionBatches.length, 1);
    assert.equal(store.transitionBatches[0].length, 50);
  });

  test('a failed batch is written again item by item: only the bad item fails, and later batches work', async () => {
    const store = new CountingStore();
    const c = new Committer(store as unknown as Store);
    const runs = Array.from({ length: 5 }, () => makeRun());
    store.poison.add(runs[2].id);
    const settled = await Promise.allSettled(runs.map((run) => c.create({ run, refPolicy: 'native' })));
    assert.deepEqual(settled.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    assert.equal(store.writes, 6, 'the batch, then each of its five items alone');
    const ok = await c.create({ run: makeRun(), refPolicy: 'native' });
    assert.equal(ok.kind, 'created');
  });

  test('drain waits for everything queued', async () => {
    const store = new CountingStore(10);
    const c = new Committer(store as unknown as Store);
    let done = 0;
    for (let i = 0; i < 20; i++) void c.create({ run: makeRun(), refPolicy: 'native' }).then(() => done++);
    await c.drain();
    assert.equal(done, 20);
  });
});

test('Committer with the real SQLite store: one durable commit for a burst, refs stay unique', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-committer-'));
  const store = await openSqliteStore({ path: join(dir, 'db.sqlite') });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.migrate();
  await store.saveWorkflow('default', {
    id: 'wf', name: 'wf', params: {}, undeclared: 'keep', trigger: { public: true }, steps: [{ id: 'a', type: 'set', set: { x: 1 } }],
  }, 'id: wf', { hash: 'a'.repeat(40), guid: '00000000-0000-4000-8000-000000000001' }, T0);
  let calls = 0;
  const counting = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'writeBatch') return (b: NewRun[], t: Transition[]) => { calls++; return target.writeBatch(b, t); };
      return Reflect.get(target, prop, receiver);
    },
  });
  const c = new Committer(counting);
  // 300 distinct refs, each asked twice with the same input: 300 created + 300 existing.
  const reqs = Array.from({ length: 600 }, (_, i) => makeRun({ ref: `r${i % 300}`, input: { i: i % 300 }, data: { i: i % 300 } }));
  const results = await Promise.all(reqs.map((run) => c.create({ run, refPolicy: 'native' })));
  assert.equal(calls, 1, 'one store call (one transaction, one fsync) for the burst');
  assert.equal(results.filter((r) => r.kind === 'created').length, 300);
  assert.equal(results.filter((r) => r.kind === 'existing').length, 300);
  for (let i = 0; i < 300; i++) assert.equal(results[i + 300].run.id, results[i].run.id, `ref r${i} maps to one run`);
  const page = await store.listRuns('default', { limit: 1000 });
  assert.equal(page.runs.length, 300);
});
