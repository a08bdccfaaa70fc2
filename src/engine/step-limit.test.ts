/**
 * The per-run step limit (FLOWGATE_MAX_STEPS_PER_RUN) at, below and above a slice boundary: a
 * runaway loop always ends `failed` with `too_many_steps`, durably, whether the limit falls inside a
 * slice or exactly where one slice ends and the next would begin; and a run left at the limit by a
 * previous process is failed by the next one's recovery instead of staying `running`.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { randomToken, uuidv7 } from '../core/ids.js';
import type { Run, Workflow } from '../core/types.js';
import type { Store } from '../store/types.js';
import { deployTo, engineConfig, migratedStore, NO_HTTP } from '../../test/helpers/engine.js';
import { Engine } from './engine.js';

const silent = { info() {}, warn() {}, error() {} };
const SLICE = 200;

/** Two steps that loop for ever: each pass adds one to n. */
const LOOP = {
  id: 'loop',
  steps: [
    { id: 'check', type: 'condition', cases: [{ when: 'true', next: 'bump' }] },
    { id: 'bump', type: 'set', set: { n: '{{ n + 1 }}' }, next: 'check' },
  ],
};

async function setup(t: TestContext): Promise<{ store: Store; wf: Workflow; engine: (max: number) => Engine }> {
  const { store, engines } = await migratedStore(t, 'step-limit');
  const wf = await deployTo(store, LOOP);
  const engine = (max: number): Engine => {
    const e = new Engine(store, { http: NO_HTTP, secrets: { values: async () => ({}) }, log: silent }, engineConfig({ stepsPerSlice: SLICE, maxStepsPerRun: max }));
    engines.push(e);
    return e;
  };
  return { store, wf, engine };
}

async function until(store: Store, id: string, ok: (r: Run) => boolean, what: string, ms = 10_000): Promise<Run> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await store.loadRun(id);
    if (r && ok(r)) return r;
    if (Date.now() > deadline) assert.fail(`run ${id} did not become ${what} within ${ms} ms; it is ${r?.status} at seq ${r?.step_seq}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

describe('the step limit around a slice boundary (slices of 200 steps)', () => {
  for (const max of [SLICE - 1, SLICE, SLICE + 1, 2 * SLICE]) {
    test(`a limit of ${max} fails the run with too_many_steps after exactly ${max} steps`, async (t) => {
      const { store, wf, engine } = await setup(t);
      const e = engine(max);
      await e.start();
      const res = await e.startRun({ workflow: wf, data: { n: 0 }, input: { n: 0 }, ref: null, refPolicy: 'native' });
      assert.equal(res.kind, 'created');
      const done = await until(store, res.run.id, (r) => r.status !== 'running' && r.status !== 'queued', 'ended');
      assert.equal(done.status, 'failed');
      assert.equal(done.error?.code, 'too_many_steps');
      assert.equal(done.error?.message, `the run executed ${max} steps; the limit is ${max}`);
      assert.equal(done.step_seq, max);
      assert.equal(done.owner, null, 'the failed run holds no lease');
      assert.ok(done.finished_at !== null);
      assert.equal((await store.listSteps(res.run.id)).length, max);
    });
  }

  test('a run left running at the limit by a previous process is failed by the next start', async (t) => {
    const { store, wf, engine } = await setup(t);
    // The state a process leaves when it stops right after committing a full slice that reached the limit.
    const now = Date.now();
    const run: Run = {
      id: uuidv7(now), tenant: 'default', workflow: wf.id, version: wf.version, ref: null, status: 'running', input: { n: 0 },
      data: { n: SLICE / 2 }, progress: 0, step: 'check', step_seq: SLICE, reply: null, error: null, parking: null, wake_at: null,
      callback_token: randomToken(24), result_url: null, parent: null, attempt: 1, owner: 'dead-node',
      // A live lease of another owner is a dead process's on a single-claimer store, another node's otherwise.
      lease_until: store.capabilities.concurrentClaimers ? now - 1 : now + 60_000,
      rev: 1, created_at: now, started_at: now, finished_at: null, updated_at: now,
    };
    const [created] = await store.createRuns([{ run, refPolicy: 'native' }]);
    assert.equal(created.kind, 'created');
    const e = engine(SLICE);
    const { recovered } = await e.start();
    assert.equal(recovered, 1);
    const done = await until(store, run.id, (r) => r.status !== 'running', 'ended', 5000);
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.code, 'too_many_steps');
    assert.equal(done.step_seq, SLICE);
    assert.equal(done.owner, null);
  });
});
