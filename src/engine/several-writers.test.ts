/**
 * What a second node relies on, pinned against real stores: engines on ONE SQLite file opened by
 * two stores (SqliteOptions.shared, a multi-claimer store), and the per-workflow concurrency cap.
 * Each case fails when the mechanism it names is switched off (see the commit that added it).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { randomToken, uuidv7 } from '../core/ids.js';
import type { Run, Workflow } from '../core/types.js';
import type { HttpPort, HttpResponse } from '../steps/types.js';
import type { SqliteStore } from '../store/sqlite/store.js';
import { deployTo, engineConfig, migratedStore, NO_HTTP, sharedStores } from '../../test/helpers/engine.js';
import { Engine, type EngineConfig } from './engine.js';

const silent = { info() {}, warn() {}, error() {} };

/** Two stores on one file, each as another node would open it; closed and removed after the test. */
async function twoNodes(t: TestContext): Promise<{ a: SqliteStore; b: SqliteStore; engine(store: SqliteStore, cfg?: Partial<EngineConfig>): Engine }> {
  const { a, b, engines } = await sharedStores(t, 'two-nodes');
  return {
    a, b,
    engine(store, cfg = {}) {
      const e = new Engine(store, { http: NO_HTTP, secrets: { values: async () => ({}) }, log: silent }, engineConfig(cfg));
      engines.push(e);
      return e;
    },
  };
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a ?wait waiter whose time is up answers with the stored run, not its own memory of it', async (t) => {
  const { a, b, engine } = await twoNodes(t);
  const wf = await deployTo(a, { id: 'hold', steps: [{ id: 'hold', type: 'wait', timeout: '1h' }, { id: 'answer', type: 'reply', data: { approved: true } }] });
  const nodeA = engine(a);
  const nodeB = engine(b);
  await nodeA.start();
  await nodeB.start();
  const started = await nodeA.startRun({ workflow: wf, data: {}, input: {}, ref: null, refPolicy: 'native' });
  assert.equal(started.kind, 'created');
  assert.equal(started.run.status, 'waiting');
  // The caller waits on node A; node B gets the callback and finishes the run. Node A hears
  // nothing of it (no shared bus): only the store knows, and the waiter must read it at its timeout.
  const waiting = nodeA.awaitSettled(started.run, 400, false);
  const resumed = await nodeB.callback(started.run.callback_token, { go: true });
  assert.equal(resumed.kind, 'resumed');
  await until(() => b.loadRun(started.run.id), (r) => r?.status === 'succeeded', 'node B finishes the run');
  const answered = await waiting;
  assert.equal(answered.status, 'succeeded', 'the stored state, not the waiting run node A had in memory');
  assert.deepEqual(answered.reply?.data, { approved: true });
});

test('a run whose lease is live on another node is taken over only once that lease has expired', async (t) => {
  const { a, b, engine } = await twoNodes(t);
  const wf: Workflow = await deployTo(a, { id: 'quick', steps: [{ id: 'answer', type: 'reply', data: { ok: true } }] });
  const now = Date.now();
  const leaseUntil = now + 1200;
  // Node A started this run and holds its lease; it then stops renewing (it died).
  const run: Run = {
    id: uuidv7(now), tenant: 'default', workflow: wf.id, version: wf.version, ref: null, status: 'running', input: {}, data: {},
    progress: 0, step: 'answer', step_seq: 0, reply: null, error: null, parking: null, wake_at: null,
    callback_token: randomToken(), result_url: null, parent: null, attempt: 1, owner: 'node-a', lease_until: leaseUntil, rev: 1,
    created_at: now, started_at: now, finished_at: null, updated_at: now,
  };
  await a.createRuns([{ run, refPolicy: 'native' }]);
  // Node B renews (and looks for expired leases) every second.
  const nodeB = engine(b, { leaseMs: 3000 });
  const { recovered } = await nodeB.start();
  assert.equal(recovered, 0, 'a live lease of another node is not an orphan at start');
  assert.equal((await a.loadRun(run.id))?.owner, 'node-a');
  const done = (await until(() => a.loadRun(run.id), (r) => r?.status === 'succeeded', 'node B finishes the run after the lease expired', 6000))!;
  assert.ok(done.finished_at! > leaseUntil, `taken over after the lease expired (finished ${done.finished_at! - leaseUntil} ms after it)`);
  assert.deepEqual(done.reply?.data, { ok: true });
  assert.equal(done.owner, null);
});

test('trigger.concurrency caps the runs of a workflow executing at once; the others wait queued', async (t) => {
  const { store, engines } = await migratedStore(t, 'capped');
  const wf = await deployTo(store, {
    id: 'capped', trigger: { concurrency: 2 }, steps: [{ id: 'call', type: 'http', url: 'https://api.example.com/slow' }],
  });
  let inFlight = 0;
  let most = 0;
  const held: (() => void)[] = [];
  const http: HttpPort = {
    request(): Promise<HttpResponse> {
      inFlight++;
      most = Math.max(most, inFlight);
      return new Promise((resolve) => held.push(() => {
        inFlight--;
        resolve({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{}'), truncated: false });
      }));
    },
  };
  const engine = new Engine(store, { http, secrets: { values: async () => ({}) }, log: silent }, engineConfig());
  engines.push(engine);
  await engine.start();
  const runs = await Promise.all(Array.from({ length: 6 }, async () => {
    const res = await engine.startRun({ workflow: wf, data: {}, input: {}, ref: null, refPolicy: 'native' });
    assert.equal(res.kind, 'created');
    return res.run;
  }));
  await until(async () => held.length, (n) => n === 2, 'two runs reach their request');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(inFlight, 2, 'no third run starts while two execute');
  const queued = (await Promise.all(runs.map((r) => store.loadRun(r.id)))).filter((r) => r?.status === 'queued');
  assert.equal(queued.length, 4, 'the others wait, still queued');
  let released = 0;
  while (released < runs.length) {
    await until(async () => held.length, (n) => n > 0, 'a waiting run gets its turn');
    const batch = held.splice(0);
    released += batch.length;
    for (const release of batch) release();
  }
  for (const r of runs) await until(() => store.loadRun(r.id), (x) => x?.status === 'succeeded', `run ${r.id} succeeds`);
  assert.equal(most, 2, 'at most two at once, over the whole test');
});
