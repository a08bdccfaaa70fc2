/**
 * The engine against the real SQLite store in a temp dir. Crash and concurrency cases are built as
 * states in the store (a run left `running` by a dead owner, a callback-claimed run whose slice
 * never ran, two callbacks at once), then a fresh engine must do the right thing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { loadConfig } from '../app/config.js';
import { startServer } from '../app/app.js';
import { FlowgateError } from '../core/errors.js';
import { randomToken, uuidv7 } from '../core/ids.js';
import { isTerminal, type JsonObject, type Run, type RunStatus, type StepRecord, type Workflow } from '../core/types.js';
import { stepExecutionKey } from '../steps/http.js';
import type { HttpPort, HttpRequest, HttpResponse } from '../steps/types.js';
import type { Store } from '../store/types.js';
import { deployTo, engineConfig, migratedStore, NO_HTTP } from '../../test/helpers/engine.js';
import { Engine, type EngineConfig } from './engine.js';

const silent = { info() {}, warn() {}, error() {} };

interface Harness {
  store: Store;
  engines: Engine[];
  engine(opts?: Partial<EngineConfig> & { http?: HttpPort }): Engine;
  deploy(doc: Record<string, unknown>): Promise<Workflow>;
  start(wf: Workflow, data?: JsonObject, ref?: string | null): Promise<Run>;
  until(id: string, ok: (r: Run) => boolean, what: string, ms?: number): Promise<Run>;
}

async function harness(t: TestContext): Promise<Harness> {
  const { store, engines: stoppers } = await migratedStore(t, 'engine');
  const engines: Engine[] = [];
  const h: Harness = {
    store, engines,
    engine(opts = {}) {
      const { http, ...cfg } = opts;
      const e = new Engine(store, { http: http ?? NO_HTTP, secrets: { values: async () => ({}) }, log: silent }, engineConfig(cfg));
      engines.push(e);
      stoppers.push(e);
      return e;
    },
    deploy: (doc) => deployTo(store, doc),
    async start(wf, data = {}, ref = null) {
      const e = engines[engines.length - 1];
      const res = await e.startRun({ workflow: wf, data, input: data, ref, refPolicy: 'native' });
      assert.equal(res.kind, 'created');
      return res.run;
    },
    async until(id, ok, what, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const r = await store.loadRun(id);
        if (r && ok(r)) return r;
        if (Date.now() > deadline) assert.fail(`run ${id} did not become ${what} within ${ms} ms; it is ${r?.status} at ${r?.step} (${JSON.stringify(r?.error)})`);
        await new Promise((res) => setTimeout(res, 10));
      }
    },
  };
  return h;
}

const is = (s: RunStatus) => (r: Run): boolean => r.status === s;

/** A run as the engine would have written it, for building states directly in the store. */
function runOf(wf: Workflow, over: Partial<Run>): Run {
  const now = Date.now();
  return {
    id: uuidv7(now), tenant: 'default', workflow: wf.id, version: wf.version, ref: null, status: 'queued', input: {}, data: {},
    progress: 0, step: wf.definition.steps[0].id, step_seq: 0, reply: null, error: null, parking: null, wake_at: null,
    callback_token: randomToken(24), result_url: null, parent: null, attempt: 1, owner: null, lease_until: null, rev: 1,
    created_at: now, started_at: null, finished_at: null, updated_at: now, ...over,
  };
}

function recordOf(run: Run, seq: number, stepId: string, type: string, over: Partial<StepRecord> = {}): StepRecord {
  return {
    run_id: run.id, seq, step_id: stepId, type, name: null, status: 'running', attempts: [], input: null, output: null,
    error: null, started_at: run.created_at, finished_at: null, ...over,
  };
}

/** Writes runs (and their records) exactly as given: create, then one unfenced-by-owner advance. */
async function plant(h: Harness, run: Run, records: StepRecord[] = []): Promise<void> {
  const [created] = await h.store.createRuns([{ run: { ...run, rev: 1 }, refPolicy: 'native' }]);
  assert.equal(created.kind, 'created');
  const [res] = await h.store.applyTransitions([{ run: { ...run, rev: 2 }, expectRev: 1, steps: records }]);
  assert.ok(res.ok);
}

const FAST = { id: 'fast', steps: [{ id: 'calc', type: 'set', set: { doubled: '{{ n * 2 }}' } }, { id: 'answer', type: 'reply' }] };
const DELAY = { id: 'nap', steps: [{ id: 'nap', type: 'delay', for: '300ms' }, { id: 'after', type: 'set', set: { woke: true } }] };
const WAIT = {
  id: 'hold',
  steps: [
    { id: 'hold', type: 'wait', timeout: '1h' },
    { id: 'after', type: 'set', set: { resumed: true } },
  ],
};

describe('timers', () => {
  test('a run parked in delay is woken by the timer loop, and the step records show the park', async (t) => {
    const h = await harness(t);
    const e = h.engine();
    await e.start();
    const wf = await h.deploy(DELAY);
    const started = Date.now();
    const run = await h.start(wf, { n: 1 });
    const parked = await h.until(run.id, is('waiting'), 'waiting');
    assert.equal(parked.parking?.kind, 'delay');
    assert.ok(parked.wake_at! >= started + 300);
    assert.equal(parked.owner, null, 'a parked run holds no lease');
    const done = await h.until(run.id, is('succeeded'), 'succeeded', 3000);
    assert.ok(Date.now() - started >= 300, 'not before its time');
    assert.deepEqual(done.data, { n: 1, woke: true });
    const recs = await h.store.listSteps(run.id);
    assert.deepEqual(recs.map((r) => [r.step_id, r.status]), [['nap', 'succeeded'], ['after', 'succeeded']]);
  });

  test('a delay that ended while no engine ran fires at the next start (late rather than never)', async (t) => {
    const h = await harness(t);
    const wf = await h.deploy(DELAY);
    const run = runOf(wf, {
      status: 'waiting', step: 'nap', step_seq: 1, started_at: Date.now() - 5000, parking: { kind: 'delay', step: 'nap', seq: 1 }, wake_at: Date.now() - 1000,
    });
    await plant(h, run, [recordOf(run, 1, 'nap', 'delay', { status: 'waiting' })]);
    await h.engine().start();
    const done = await h.until(run.id, is('succeeded'), 'succeeded');
    assert.equal(done.data.woke, true);
  });
});

describe('recovery', () => {
  test('runs left queued or running by a dead owner (expired lease or not) are finished by engine.start()', async (t) => {
    const h = await harness(t);
    const wf = await h.deploy(FAST);
    const now = Date.now();
    const runs = [
      runOf(wf, { status: 'queued', owner: 'dead-node', lease_until: now - 1000, input: { n: 1 }, data: { n: 1 } }),
      runOf(wf, { status: 'running', owner: 'dead-node', lease_until: now - 1000, started_at: now - 2000, input: { n: 2 }, data: { n: 2 } }),
      // Single-claimer store: any other owner is a dead process, even with a lease still in the future.
      // With concurrent claimers a live lease is another node's: this one has just expired there.
      runOf(wf, {
        status: 'running', owner: 'dead-node', lease_until: h.store.capabilities.concurrentClaimers ? now - 1 : now + 60_000,
        started_at: now - 2000, input: { n: 3 }, data: { n: 3 },
      }),
      runOf(wf, { status: 'queued', owner: null, input: { n: 4 }, data: { n: 4 } }),
      // Half-way: calc done and committed, the reply not yet.
      runOf(wf, { status: 'running', owner: 'dead-node', lease_until: now - 1, step: 'answer', step_seq: 1, input: { n: 5 }, data: { n: 5, doubled: 10 } }),
    ];
    for (const r of runs) await plant(h, r, r.step_seq ? [recordOf(r, 1, 'calc', 'set', { status: 'succeeded', finished_at: now })] : []);
    const e = h.engine();
    const { recovered } = await e.start();
    assert.equal(recovered, runs.length);
    for (const r of runs) {
      const done = await h.until(r.id, is('succeeded'), 'succeeded');
      const n = r.input.n as number;
      assert.deepEqual(done.reply?.data, { n, doubled: n * 2 });
      assert.equal(done.owner, null);
      const recs = await h.store.listSteps(r.id);
      assert.deepEqual(recs.map((x) => x.step_id), ['calc', 'answer'], 'no step record is written twice');
    }
  });

  test('an http step interrupted mid-request is re-run under the same record and idempotency key', async (t) => {
    const h = await harness(t);
    const wf = await h.deploy({ id: 'call', steps: [{ id: 'post', type: 'http', method: 'POST', url: 'https://api.example.com/x', body: { a: 1 }, save_as: 'res' }] });
    const run = runOf(wf, { status: 'running', owner: 'dead-node', lease_until: Date.now() - 1, step: 'post', step_seq: 1, started_at: Date.now() - 100 });
    await plant(h, run, [recordOf(run, 1, 'post', 'http')]);
    const seen: HttpRequest[] = [];
    const http: HttpPort = {
      async request(req): Promise<HttpResponse> {
        seen.push(req);
        return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"ok":true}'), truncated: false };
      },
    };
    await h.engine({ http }).start();
    const done = await h.until(run.id, is('succeeded'), 'succeeded');
    assert.equal(seen.length, 1);
    assert.equal(seen[0].headers['idempotency-key'], stepExecutionKey(run.id, 1));
    assert.deepEqual((done.data.res as JsonObject).body, { ok: true });
    const [rec] = await h.store.listSteps(run.id);
    assert.equal(rec.seq, 1);
    assert.equal(rec.status, 'succeeded');
    assert.deepEqual(rec.attempts.map((a) => a.error?.class ?? 'ok'), ['interrupted', 'ok']);
  });

  test('a run claimed by the timer but not advanced before the crash resumes its delay', async (t) => {
    const h = await harness(t);
    const wf = await h.deploy(DELAY);
    const run = runOf(wf, {
      status: 'running', owner: 'dead-node', lease_until: Date.now() - 1, step: 'nap', step_seq: 1,
      parking: { kind: 'delay', step: 'nap', seq: 1 }, wake_at: Date.now() - 10, started_at: Date.now() - 1000,
    });
    await plant(h, run, [recordOf(run, 1, 'nap', 'delay', { status: 'waiting' })]);
    await h.engine().start();
    const done = await h.until(run.id, is('succeeded'), 'succeeded');
    assert.equal(done.data.woke, true);
  });

  test('a callback acknowledged just before a crash is not lost: the next engine resumes with its body', async (t) => {
    const h = await harness(t);
    const wf = await h.deploy(WAIT);
    // With concurrent claimers, node B takes A's run once A's lease expires: make that soon.
    const concurrent = h.store.capabilities.concurrentClaimers;
    const a = h.engine(concurrent ? { leaseMs: 300 } : {});
    const run = await h.start(wf, { n: 1 });
    const parked = await h.until(run.id, is('waiting'), 'waiting');
    // Node A accepts the callback (the claim is committed, the caller gets 202) and dies before
    // its executor runs the slice: a stopped executor drops the dispatch, like a SIGKILL would.
    await a.executor.stop();
    const accepted = await a.callback(parked.callback_token, { answer: 42 });
    assert.equal(accepted.kind, 'resumed');
    if (concurrent) await h.until(run.id, (r) => (r.lease_until ?? 0) < Date.now() - 5, 'past its lease', 5000);
    const b = h.engine();
    await b.start();
    const done = await h.until(run.id, (r) => isTerminal(r.status), 'finished');
    assert.equal(done.status, 'succeeded', `the run ${done.status}: ${JSON.stringify(done.error)}`);
    assert.deepEqual(done.data, { n: 1, answer: 42, resumed: true });
  });
});

describe('fencing', () => {
  /** A run whose http step is in flight, held at a gate the test opens. */
  async function inFlight(h: Harness): Promise<{ e: Engine; run: Run; during: Run; release: () => void; calls: () => number }> {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const started = new Promise<void>((r) => (entered = r));
    let calls = 0;
    const http: HttpPort = {
      async request(): Promise<HttpResponse> {
        calls++;
        entered();
        await gate;
        return { status: 200, headers: {}, body: Buffer.from('ok'), truncated: false };
      },
    };
    const e = h.engine({ http });
    const wf = await h.deploy({ id: 'slow', steps: [{ id: 'call', type: 'http', url: 'https://a.example/' }, { id: 'after', type: 'set', set: { after: true } }] });
    const run = await h.start(wf);
    await started;
    const during = (await h.store.loadRun(run.id))!;
    assert.equal(during.status, 'running');
    return { e, run, during, release, calls: () => calls };
  }

  test('a stale transition (wrong rev) is refused and the slice stops when the run is no longer its own', async (t) => {
    const h = await harness(t);
    const { e, run, during, release } = await inFlight(h);
    // Another node took the run meanwhile (a fenced write that bumps rev and changes the owner).
    const [res] = await h.store.applyTransitions([{ run: { ...during, owner: 'other-node', data: { elsewhere: true }, rev: during.rev + 1 }, expectRev: during.rev, steps: [] }]);
    assert.ok(res.ok);
    // The same stale write again is refused by the store.
    const [stale] = await h.store.applyTransitions([{ run: { ...during, rev: during.rev + 1 }, expectRev: during.rev, steps: [] }]);
    assert.deepEqual(stale, { ok: false });
    release();
    const deadline = Date.now() + 2000;
    while (e.executor.activeIds.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(e.executor.activeIds, [], 'the slice stopped');
    await new Promise((r) => setTimeout(r, 50));
    const after = (await h.store.loadRun(run.id))!;
    assert.equal(after.rev, during.rev + 1, 'nothing written over the newer version');
    assert.equal(after.owner, 'other-node');
    assert.deepEqual(after.data, { elsewhere: true });
    const recs = await h.store.listSteps(run.id);
    assert.deepEqual(recs.map((r) => [r.step_id, r.status]), [['call', 'running']], 'the refused slice wrote no record');
  });

  test('a refused slice whose run is still its own continues from the stored state (the step runs again)', async (t) => {
    const h = await harness(t);
    const { run, during, release, calls } = await inFlight(h);
    const [res] = await h.store.applyTransitions([{ run: { ...during, data: { merged: 1 }, rev: during.rev + 1 }, expectRev: during.rev, steps: [] }]);
    assert.ok(res.ok);
    release();
    const done = await h.until(run.id, is('succeeded'), 'succeeded');
    assert.deepEqual(done.data, { merged: 1, after: true }, 'the stored data won; the slice state was dropped');
    assert.equal(calls(), 2, 'steps since the last commit ran again (at least once)');
  });

  test('a slice for a run held by another owner is refused (owner fence)', async (t) => {
    const h = await harness(t);
    const wf = await h.deploy(FAST);
    const run = runOf(wf, { status: 'running', owner: 'other-live-node', lease_until: Date.now() + 60_000, input: { n: 1 }, data: { n: 1 } });
    await plant(h, run);
    const e = h.engine();
    const stored = (await h.store.loadRun(run.id))!;
    e.executor.dispatch({ run: stored });
    await new Promise((r) => setTimeout(r, 100));
    const after = (await h.store.loadRun(run.id))!;
    assert.equal(after.status, 'running');
    assert.equal(after.owner, 'other-live-node');
    assert.equal(after.rev, stored.rev);
  });
});

describe('cancel', () => {
  test('cancelling a waiting run ends it, fails its parked step, and its timer never fires', async (t) => {
    const h = await harness(t);
    const e = h.engine();
    await e.start();
    const wf = await h.deploy({ id: 'short', steps: [{ id: 'nap', type: 'delay', for: '200ms' }, { id: 'after', type: 'set', set: { woke: true } }] });
    const run = await h.start(wf);
    await h.until(run.id, is('waiting'), 'waiting');
    const c = await e.cancel('default', run.id);
    assert.equal(c.status, 'cancelled');
    await new Promise((r) => setTimeout(r, 400));
    const after = (await h.store.loadRun(run.id))!;
    assert.equal(after.status, 'cancelled');
    assert.equal(after.wake_at, null);
    assert.equal(after.data.woke, undefined);
    const recs = await h.store.listSteps(run.id);
    assert.deepEqual(recs.map((r) => [r.step_id, r.status, r.error?.code]), [['nap', 'failed', 'cancelled']]);
    await assert.rejects(e.cancel('default', run.id), (err: unknown) => err instanceof FlowgateError && err.code === 'conflict');
    await assert.rejects(e.cancel('other-tenant', run.id), (err: unknown) => err instanceof FlowgateError && err.code === 'not_found');
  });

  test('cancelling a run parked in wait makes its callback URL stop resuming it', async (t) => {
    const h = await harness(t);
    const e = h.engine();
    await e.start();
    const wf = await h.deploy(WAIT);
    const run = await h.start(wf);
    const parked = await h.until(run.id, is('waiting'), 'waiting');
    await e.cancel('default', run.id);
    const res: { kind: string } | FlowgateError = await e.callback(parked.callback_token, { late: true }).catch((err: FlowgateError) => err);
    // Not parked any more: the body may become the (never-given) reply, but the run stays cancelled.
    assert.ok(res instanceof FlowgateError ? res.code === 'conflict' : res.kind === 'replied');
    await new Promise((r) => setTimeout(r, 50));
    const after = (await h.store.loadRun(run.id))!;
    assert.equal(after.status, 'cancelled');
    assert.equal(after.data.late, undefined);
  });
});

describe('callbacks', () => {
  test('two callbacks at once: exactly one resumes; the other becomes the reply or a conflict', async (t) => {
    const h = await harness(t);
    const e = h.engine();
    await e.start();
    const wf = await h.deploy({ id: 'race', steps: [{ id: 'hold', type: 'wait', timeout: '1h' }, { id: 'after', type: 'set', set: { resumed: true } }] });
    for (let round = 0; round < 10; round++) {
      const run = await h.start(wf);
      const parked = await h.until(run.id, is('waiting'), 'waiting');
      const results = await Promise.allSettled([
        e.callback(parked.callback_token, { from: 'a' }),
        e.callback(parked.callback_token, { from: 'b' }),
      ]);
      const resumed = results.filter((r) => r.status === 'fulfilled' && r.value.kind === 'resumed');
      assert.equal(resumed.length, 1, `round ${round}: ${JSON.stringify(results)}`);
      const other = results.find((r) => r !== resumed[0])!;
      if (other.status === 'fulfilled') assert.equal(other.value.kind, 'replied');
      else assert.equal((other.reason as FlowgateError).code, 'conflict');
      const done = await h.until(run.id, is('succeeded'), 'succeeded');
      const winner = (resumed[0] as PromiseFulfilledResult<{ kind: string }>).value;
      assert.ok(winner);
      assert.equal(done.data.resumed, true);
      assert.ok(done.data.from === 'a' || done.data.from === 'b');
      if (other.status === 'fulfilled') {
        assert.ok(done.reply, 'the losing body is the stored reply');
        assert.notEqual((done.reply.data as JsonObject).from, done.data.from);
      }
      const recs = await h.store.listSteps(run.id);
      assert.deepEqual(recs.map((r) => [r.step_id, r.status]), [['hold', 'succeeded'], ['after', 'succeeded']]);
    }
  });

  test('a wait that times out fails the run, and a callback after that does not resume it', async (t) => {
    const h = await harness(t);
    const e = h.engine();
    await e.start();
    const wf = await h.deploy({ id: 'brief', steps: [{ id: 'hold', type: 'wait', timeout: '150ms' }, { id: 'after', type: 'set', set: { resumed: true } }] });
    const run = await h.start(wf);
    const done = await h.until(run.id, is('failed'), 'failed', 3000);
    assert.equal(done.error?.code, 'wait_timeout');
    assert.equal(done.error?.step, 'hold');
  });

  test('an unknown token is not found', async (t) => {
    const h = await harness(t);
    const e = h.engine();
    await assert.rejects(e.callback('no-such-token-at-all', {}), (err: unknown) => err instanceof FlowgateError && err.code === 'not_found');
  });
});

describe('limits', () => {
  test('a runaway loop fails with too_many_steps', async (t) => {
    const h = await harness(t);
    h.engine({ maxStepsPerRun: 50, stepsPerSlice: 7 });
    const wf = await h.deploy({
      id: 'loop',
      steps: [
        { id: 'check', type: 'condition', cases: [{ when: 'true', next: 'bump' }] },
        { id: 'bump', type: 'set', set: { n: '{{ n + 1 }}' }, next: 'check' },
      ],
    });
    const run = await h.start(wf, { n: 0 });
    const done = await h.until(run.id, is('failed'), 'failed');
    assert.equal(done.error?.code, 'too_many_steps');
    assert.equal(done.step_seq, 50);
    assert.equal(done.data.n, 25);
    assert.equal((await h.store.listSteps(run.id)).length, 50);
  });
  test('FLOWGATE_MAX_STEPS_PER_RUN reaches the engine through the server config', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'flowgate-engine-cfg-'));
    const config = loadConfig({ dataDir: dir, port: 0, examples: false, logLevel: 'silent' }, { FLOWGATE_ADMIN_TOKEN: 'test-admin-token', FLOWGATE_MAX_STEPS_PER_RUN: '30' });
    const server = await startServer(config);
    t.after(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const auth = { authorization: 'Bearer test-admin-token' };
    const put = await fetch(`${server.url}/v1/workflows/spin`, {
      method: 'PUT', headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ steps: [{ id: 'again', type: 'condition', cases: [{ when: 'true', next: 'again' }] }] }),
    });
    assert.equal(put.status, 201, await put.text());
    const res = await fetch(`${server.url}/v1/workflows/spin/runs?wait=5`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 500);
    const problem = (await res.json()) as { error?: { code: string } };
    assert.equal(problem.error?.code, 'too_many_steps');
    const run = (await server.store.loadRun(res.headers.get('flowgate-run-id')!))!;
    assert.equal(run.status, 'failed');
    assert.equal(run.step_seq, 30);
  });
});
