/**
 * The timer loop and the lease keeper against small fakes: the store is a list of parked runs,
 * the executor records what it was handed. Races are built by acting inside a store call.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Run } from '../core/types.js';
import type { Store } from '../store/types.js';
import type { Executor, Job } from './executor.js';
import { LeaseKeeper, TimerLoop } from './timers.js';

const silent = { info() {}, warn() {}, error() {} };

class FakeStore {
  parked: { id: string; wake_at: number }[] = [];
  orphans: string[] = [];
  /** Runs inside nextWakeAt, after the value is read: "another commit happened meanwhile". */
  duringNextWake: (() => void) | null = null;
  capabilities = { concurrentClaimers: false, notify: false };
  async claimDueRuns(owner: string, now: number, _lease: number, limit: number): Promise<Run[]> {
    const due = this.parked.filter((p) => p.wake_at <= now).slice(0, limit);
    this.parked = this.parked.filter((p) => !due.includes(p));
    return due.map((p) => ({ id: p.id, owner, status: 'running' }) as Run);
  }
  async nextWakeAt(): Promise<number | null> {
    const value = this.parked.length ? Math.min(...this.parked.map((p) => p.wake_at)) : null;
    const hook = this.duringNextWake;
    this.duringNextWake = null;
    hook?.();
    return value;
  }
  async claimOrphanedRuns(owner: string, _now: number, _lease: number, limit: number): Promise<Run[]> {
    const got = this.orphans.splice(0, limit);
    return got.map((id) => ({ id, owner, status: 'running' }) as Run);
  }
}

class FakeExecutor {
  jobs: Job[] = [];
  /** The jobs it is executing (their runs leased to it). */
  held: Job[] = [];
  lost: Job[] = [];
  /** Runs it holds but has not started (ready, or waiting for a concurrency slot). */
  queued: string[] = [];
  dispatch(job: Job): void {
    this.jobs.push(job);
  }
  leasedJobs(): Job[] {
    return [...this.held];
  }
  leaseLost(job: Job): void {
    this.lost.push(job);
    job.leaseLost = true;
  }
  get heldIds(): string[] {
    return [...this.held.map((j) => j.run.id), ...this.queued];
  }
}

async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a due run is claimed and dispatched; the loop sleeps until the earliest wake-up', async () => {
  const store = new FakeStore();
  const exec = new FakeExecutor();
  const now = Date.now();
  store.parked = [{ id: 'late', wake_at: now + 150 }, { id: 'due', wake_at: now - 5 }];
  const loop = new TimerLoop(store as unknown as Store, exec as unknown as Executor, { owner: 'me', leaseMs: 30_000, clock: Date.now, log: silent });
  loop.start();
  try {
    await until(() => exec.jobs.length === 1, 500, 'the due run is dispatched');
    assert.equal(exec.jobs[0].run.id, 'due');
    await until(() => exec.jobs.length === 2, 1000, 'the later run is dispatched at its time');
    assert.ok(Date.now() >= now + 150);
  } finally {
    loop.stop();
  }
});

test('a nudge that arrives while the loop reads the next wake-up is not overwritten by the stale value', async () => {
  const store = new FakeStore();
  const exec = new FakeExecutor();
  const loop = new TimerLoop(store as unknown as Store, exec as unknown as Executor, { owner: 'me', leaseMs: 30_000, clock: Date.now, log: silent });
  // Nothing is parked, so the loop would sleep its maximum (30 s). While it reads nextWakeAt, a
  // slice commits a run due in 30 ms and nudges the loop.
  store.duringNextWake = () => {
    const at = Date.now() + 30;
    store.parked.push({ id: 'fresh', wake_at: at });
    loop.nudge(at);
  };
  loop.start();
  try {
    await until(() => exec.jobs.length === 1, 1000, 'the freshly parked run is woken on time');
    assert.equal(exec.jobs[0].run.id, 'fresh');
  } finally {
    loop.stop();
  }
});

test('a nudge for a later time does not delay an earlier wake-up', async () => {
  const store = new FakeStore();
  const exec = new FakeExecutor();
  const now = Date.now();
  store.parked = [{ id: 'soon', wake_at: now + 60 }];
  const loop = new TimerLoop(store as unknown as Store, exec as unknown as Executor, { owner: 'me', leaseMs: 30_000, clock: Date.now, log: silent });
  loop.start();
  try {
    await new Promise((r) => setTimeout(r, 10));
    loop.nudge(now + 10_000);
    await until(() => exec.jobs.length === 1, 1000, 'the earlier run still fires');
  } finally {
    loop.stop();
  }
});

test('a store failure in the loop is logged and retried, never thrown', async () => {
  const store = new FakeStore();
  const exec = new FakeExecutor();
  let fails = 1;
  const errors: unknown[] = [];
  const flaky = Object.assign(Object.create(store), {
    claimDueRuns: async (...args: Parameters<FakeStore['claimDueRuns']>) => {
      if (fails-- > 0) throw new Error('disk I/O error');
      return store.claimDueRuns(...args);
    },
  });
  store.parked = [{ id: 'due', wake_at: Date.now() - 1 }];
  const loop = new TimerLoop(flaky as Store, exec as unknown as Executor, {
    owner: 'me', leaseMs: 30_000, clock: Date.now, log: { ...silent, error: (o: object) => void errors.push(o) },
  });
  loop.start();
  try {
    await until(() => exec.jobs.length === 1, 3000, 'the run is dispatched after the retry');
    assert.equal(errors.length, 1);
  } finally {
    loop.stop();
  }
});

test('recover claims orphans in batches until none are left and marks them recovered', async () => {
  const store = new FakeStore();
  const exec = new FakeExecutor();
  store.orphans = Array.from({ length: 450 }, (_, i) => `r${i}`);
  const keeper = new LeaseKeeper(store as unknown as Store, exec as unknown as Executor, { owner: 'me', leaseMs: 30_000, clock: Date.now, log: silent });
  assert.equal(await keeper.recover(), 450);
  assert.equal(exec.jobs.length, 450);
  assert.ok(exec.jobs.every((j) => j.recovered === true));
});

/** A store whose renewLeases extends only the leases `holds` says are still the owner's. */
class RenewingStore extends FakeStore {
  holds = new Set<string>();
  renewals: { owner: string; ids: string[]; leaseUntil: number }[] = [];
  async renewLeases(owner: string, ids: string[], leaseUntil: number): Promise<string[]> {
    this.renewals.push({ owner, ids, leaseUntil });
    return ids.filter((id) => this.holds.has(id));
  }
}

const heldJob = (id: string): Job => ({ run: { id } as Run });

test('renew extends the lease of every run the node executes, for leaseMs from now', async () => {
  const store = new RenewingStore();
  const exec = new FakeExecutor();
  exec.held = [heldJob('a'), heldJob('b')];
  store.holds = new Set(['a', 'b']);
  const warned: object[] = [];
  const keeper = new LeaseKeeper(store as unknown as Store, exec as unknown as Executor, {
    owner: 'me', leaseMs: 30_000, clock: () => 1_000, log: { ...silent, warn: (o: object) => void warned.push(o) },
  });
  await keeper.renew();
  assert.deepEqual(store.renewals, [{ owner: 'me', ids: ['a', 'b'], leaseUntil: 31_000 }]);
  assert.deepEqual(exec.lost, []);
  assert.deepEqual(warned, []);
  assert.equal(exec.jobs.length, 0, 'a single-claimer store is not searched for orphans at every renewal');
});

test('a lease renewal refuses is noticed: logged, and the slice holding that run is told to stop', async () => {
  const store = new RenewingStore();
  const exec = new FakeExecutor();
  const [kept, takenOver] = [heldJob('kept'), heldJob('taken-over')];
  exec.held = [kept, takenOver];
  store.holds = new Set(['kept']);
  const warned: { run_ids?: string[] }[] = [];
  const keeper = new LeaseKeeper(store as unknown as Store, exec as unknown as Executor, {
    owner: 'me', leaseMs: 30_000, clock: Date.now, log: { ...silent, warn: (o: object) => void warned.push(o) },
  });
  await keeper.renew();
  assert.deepEqual(exec.lost, [takenOver]);
  assert.equal(takenOver.leaseLost, true);
  assert.equal(kept.leaseLost, undefined);
  assert.deepEqual(warned.map((w) => w.run_ids), [['taken-over']]);
});

test('renew also extends the leases of runs held but not started yet; only a run being executed can be told to stop', async () => {
  const store = new RenewingStore();
  const exec = new FakeExecutor();
  exec.held = [heldJob('executing')];
  exec.queued = ['ready', 'waiting-for-a-slot'];
  store.holds = new Set(['executing', 'ready']);
  const keeper = new LeaseKeeper(store as unknown as Store, exec as unknown as Executor, { owner: 'me', leaseMs: 30_000, clock: () => 5, log: silent });
  await keeper.renew();
  assert.deepEqual(store.renewals, [{ owner: 'me', ids: ['executing', 'ready', 'waiting-for-a-slot'], leaseUntil: 30_005 }]);
  assert.deepEqual(exec.lost, [], 'a queued run whose lease was not extended has no slice to stop');
});

test('a renewal that fails is logged and the keeper goes on', async () => {
  const store = new RenewingStore();
  store.renewLeases = async () => { throw new Error('database is gone'); };
  const exec = new FakeExecutor();
  exec.held = [heldJob('a')];
  const errors: object[] = [];
  const keeper = new LeaseKeeper(store as unknown as Store, exec as unknown as Executor, {
    owner: 'me', leaseMs: 30_000, clock: Date.now, log: { ...silent, error: (o: object) => void errors.push(o) },
  });
  await keeper.renew();
  assert.equal(errors.length, 1);
  assert.deepEqual(exec.lost, [], 'a failed renewal says nothing about who holds the run');
});
