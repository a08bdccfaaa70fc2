/**
 * Contract cases: per-workflow concurrency slots (acquireSlots, claimSlots). A run holds a slot
 * while it is `running` under a live lease; a run that finds none free waits in the slot queue
 * until claimSlots starts it. With two stores on the same data, however their calls interleave,
 * never more than the cap start.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Run } from '../../src/core/types.js';
import { SLOT_QUEUE_LEASE, SLOT_QUEUE_OWNER, type SlotAnswer, type Store } from '../../src/store/types.js';
import type { ContractContext } from './contract.js';
import { T0, advanced, definition, makeRun, seedWorkflow, workflowIds } from './fixtures.js';

const NOW = T0 + 60_000;
const LEASE = NOW + 30_000;

/** Saves `id` with `trigger.concurrency: cap` (version 1, or the next version when it exists). */
async function capped(store: Store, id: string, cap: number, tenant = 'default'): Promise<void> {
  await store.saveWorkflow(tenant, definition(id, { trigger: { public: true, concurrency: cap } }), `id: ${id}\n`, workflowIds(), T0);
}

/** A run of `workflow` queued and held by `owner`, created `i` ms after T0 (ids keep that order). */
const queuedBy = (owner: string, i: number, over: Partial<Run> = {}): Run =>
  makeRun({ workflow: 'cw', created_at: T0 + i, updated_at: T0 + i, owner, lease_until: LEASE, input: { i }, ...over });

/** A run of `workflow` executing under `owner`'s live lease. */
const runningBy = (owner: string, i: number, over: Partial<Run> = {}): Run =>
  queuedBy(owner, i, { status: 'running', started_at: T0 + i, ...over });

async function put(store: Store, runs: Run[]): Promise<void> {
  await store.createRuns(runs.map((run) => ({ run, refPolicy: 'native' as const })));
}

/** One request's answer. */
async function acquire(store: Store, runId: string, owner: string, cap: number, now: number, leaseUntil: number): Promise<SlotAnswer> {
  const answers = await store.acquireSlots(owner, now, leaseUntil, [{ runId, cap }]);
  assert.equal(answers.length, 1);
  return answers[0];
}

async function running(store: Store, ids: string[]): Promise<Run[]> {
  return (await store.loadRuns(ids)).filter((r) => r.status === 'running');
}

export function slotsContract({ use, useTwo }: ContractContext): void {
  it('acquireSlots starts a queued run while fewer than cap other runs of its workflow hold a slot', use(async (store) => {
    await capped(store, 'cw', 2);
    const first = queuedBy('node-a', 1);
    const second = queuedBy('node-a', 2);
    await put(store, [first, second]);
    const a = await acquire(store, first.id, 'node-a', 2, NOW, LEASE + 5);
    assert.equal(a.kind, 'started');
    const started = a.kind === 'started' ? a.run : null;
    assert.deepEqual(started, { ...first, status: 'running', lease_until: LEASE + 5, rev: 2, updated_at: NOW });
    assert.deepEqual(await store.loadRun(first.id), started);
    const b = await acquire(store, second.id, 'node-a', 2, NOW, LEASE);
    assert.equal(b.kind, 'started', 'two runs for a cap of two');
    // A run that holds its slot already is answered as stored, unchanged (a slice that yielded and goes on).
    const again = await acquire(store, first.id, 'node-a', 2, NOW + 1, LEASE + 9);
    assert.deepEqual(again, { kind: 'started', run: started });
  }));

  it('acquireSlots hands a run that finds every slot held to the slot queue, where no orphan claim takes it', use(async (store) => {
    await capped(store, 'cw', 2);
    const holders = [runningBy('node-a', 1), runningBy('node-b', 2)];
    const late = queuedBy('node-c', 3);
    const woken = runningBy('node-c', 4, { started_at: T0 }); // e.g. a parked run a timer claim made running
    await put(store, [...holders, late, woken]);
    assert.deepEqual(await acquire(store, late.id, 'node-c', 2, NOW, LEASE), { kind: 'queued' });
    assert.deepEqual(await acquire(store, woken.id, 'node-c', 2, NOW, LEASE), { kind: 'queued' });
    for (const r of [late, woken]) {
      assert.deepEqual(await store.loadRun(r.id), {
        ...r, status: 'queued', owner: SLOT_QUEUE_OWNER, lease_until: SLOT_QUEUE_LEASE, rev: r.rev + 1, updated_at: NOW,
      });
    }
    if (store.capabilities.concurrentClaimers) {
      const orphans = await store.claimOrphanedRuns('node-d', NOW + 86_400_000, NOW + 86_400_000 + 30_000, 100);
      assert.deepEqual(orphans.map((r) => r.id).sort(), holders.map((r) => r.id).sort(), 'expired holders are orphans; the slot queue is nobody\'s');
    }
    // A run in the queue is no node's: acquireSlots for its former holder is lost.
    assert.deepEqual(await acquire(store, late.id, 'node-c', 2, NOW, LEASE), { kind: 'lost' });
  }));

  it('slots are held by running runs of the same tenant and workflow under a live lease only', use(async (store) => {
    await capped(store, 'cw', 1);
    await capped(store, 'other', 1);
    await capped(store, 'cw', 1, 'acme');
    await put(store, [
      runningBy('dead', 1, { lease_until: NOW - 1 }), // its node died: the slot came back with the lease
      runningBy('node-a', 2, { workflow: 'other' }),
      runningBy('node-a', 3, { tenant: 'acme' }),
      queuedBy('node-a', 4), // waiting to start: holds nothing
      makeRun({ workflow: 'cw', created_at: T0 + 5, status: 'waiting', wake_at: NOW + 1000, step: 'first', parking: { kind: 'delay', step: 'first', seq: 1 } }),
      makeRun({ workflow: 'cw', created_at: T0 + 6, status: 'succeeded', finished_at: T0 + 6 }),
    ]);
    const mine = queuedBy('node-b', 7);
    await put(store, [mine]);
    assert.equal((await acquire(store, mine.id, 'node-b', 1, NOW, LEASE)).kind, 'started');
  }));

  it('acquireSlots is lost for a run that is gone, another owner\'s, or no longer queued or running', use(async (store) => {
    await capped(store, 'cw', 5);
    const other = queuedBy('node-b', 1);
    const parked = makeRun({ workflow: 'cw', created_at: T0 + 2, owner: null, status: 'waiting', wake_at: NOW, step: 'first', parking: { kind: 'delay', step: 'first', seq: 1 } });
    const ended = queuedBy('node-a', 3, { status: 'cancelled', owner: null, lease_until: null, finished_at: T0 + 3 });
    await put(store, [other, parked, ended]);
    for (const id of [other.id, parked.id, ended.id, 'no-such-run']) {
      assert.deepEqual(await acquire(store, id, 'node-a', 5, NOW, LEASE), { kind: 'lost' }, id);
    }
    assert.deepEqual(await store.loadRun(other.id), other, 'nothing changed');
  }));

  it('claimSlots starts the slot queue oldest first as slots free, by the cap of each run\'s stored version, up to its limit', use(async (store) => {
    await capped(store, 'cw', 2);
    const holder = runningBy('node-a', 1);
    const waiters = Array.from({ length: 5 }, (_, i) => queuedBy('node-b', 10 + i));
    await put(store, [holder, ...waiters]);
    for (const w of waiters) assert.equal((await acquire(store, w.id, 'node-b', 1, NOW, LEASE)).kind, 'queued');
    // One slot of two is held: one run starts, the oldest.
    const first = await store.claimSlots('node-c', NOW, LEASE, 10);
    assert.deepEqual(first.map((r) => r.id), [waiters[0].id]);
    assert.deepEqual(first[0], { ...waiters[0], status: 'running', owner: 'node-c', lease_until: LEASE, rev: waiters[0].rev + 2, updated_at: NOW });
    assert.deepEqual(await store.claimSlots('node-c', NOW, LEASE, 10), [], 'both slots held');
    // The holder ends: its slot goes to the next in line.
    await store.applyTransitions([{ run: advanced(holder, { status: 'succeeded', owner: null, lease_until: null, finished_at: NOW }), expectRev: holder.rev, steps: [] }]);
    assert.deepEqual((await store.claimSlots('node-d', NOW, LEASE, 10)).map((r) => r.id), [waiters[1].id]);
    // A lease that expires frees its slot too; the limit caps one claim.
    const later = NOW + 40_000;
    assert.deepEqual((await store.claimSlots('node-d', later, later + 30_000, 1)).map((r) => r.id), [waiters[2].id]);
    assert.deepEqual((await store.claimSlots('node-d', later, later + 30_000, 10)).map((r) => r.id), [waiters[3].id]);
    assert.equal((await store.loadRun(waiters[4].id))?.owner, SLOT_QUEUE_OWNER);
    assert.deepEqual(await store.claimSlots('node-d', later, later + 30_000, 0), []);
  }));

  it('claimSlots judges each workflow apart, and starts the queued runs of a version without a cap', use(async (store) => {
    await capped(store, 'cw', 1);
    await capped(store, 'other', 2);
    await seedWorkflow(store, 'default', 'free'); // no trigger.concurrency
    const cw = Array.from({ length: 3 }, (_, i) => queuedBy('x', 1 + i));
    const other = Array.from({ length: 3 }, (_, i) => queuedBy('x', 10 + i, { workflow: 'other' }));
    const free = Array.from({ length: 3 }, (_, i) => queuedBy('x', 20 + i, { workflow: 'free' }));
    await put(store, [...cw, ...other, ...free, runningBy('y', 30, { workflow: 'free' })]);
    // Every queue filled by refusals (as a cap of 0 would refuse), then claimed.
    for (const r of [...cw, ...other, ...free]) assert.equal((await acquire(store, r.id, 'x', 0, NOW, LEASE)).kind, 'queued');
    const claimed = await store.claimSlots('node-a', NOW, LEASE, 100);
    assert.deepEqual(claimed.map((r) => r.id).sort(), [cw[0].id, other[0].id, other[1].id, ...free.map((r) => r.id)].sort());
    // cw's queue waits behind its oldest run while the cap is reached, then goes on in order.
    assert.deepEqual(await store.claimSlots('node-a', NOW, LEASE, 100), []);
    const done = claimed.find((r) => r.id === cw[0].id)!;
    await store.applyTransitions([{ run: advanced(done, { status: 'succeeded', owner: null, lease_until: null }), expectRev: done.rev, steps: [] }]);
    assert.deepEqual((await store.claimSlots('node-a', NOW, LEASE, 100)).map((r) => r.id), [cw[1].id]);
  }));

  it('acquireSlots decides a batch in one call: answers in order, holders first, several workflows, lost ones left alone', use(async (store) => {
    await capped(store, 'cw', 2);
    await capped(store, 'other', 1);
    const holding = runningBy('me', 1); // yielded its slice: it keeps its slot
    const q1 = queuedBy('me', 2);
    const q2 = queuedBy('me', 3);
    const o1 = queuedBy('me', 4, { workflow: 'other' });
    const o2 = queuedBy('me', 5, { workflow: 'other' });
    const theirs = runningBy('node-b', 6); // lost to this caller, but it holds a slot of cw
    await put(store, [holding, q1, q2, o1, o2, theirs]);
    assert.deepEqual(await store.acquireSlots('me', NOW, LEASE, []), []);
    const answers = await store.acquireSlots('me', NOW, LEASE, [
      { runId: q1.id, cap: 3 }, { runId: o1.id, cap: 1 }, { runId: q2.id, cap: 3 }, { runId: 'gone', cap: 3 },
      { runId: theirs.id, cap: 3 }, { runId: o2.id, cap: 1 }, { runId: holding.id, cap: 3 },
    ]);
    assert.deepEqual(answers.map((a) => a.kind), ['started', 'started', 'queued', 'lost', 'lost', 'queued', 'started']);
    assert.deepEqual(answers[6], { kind: 'started', run: holding }, 'the holder kept its slot (decided first), unchanged');
    assert.equal(answers[0].kind === 'started' && answers[0].run.status, 'running');
    assert.deepEqual(await store.loadRun(theirs.id), theirs);
    assert.equal((await store.loadRun(q2.id))?.owner, SLOT_QUEUE_OWNER);
  }));

  it('two stores acquiring slots at once never start more runs than the cap', useTwo(async (a, b) => {
    await capped(a, 'cw', 3);
    const runs = Array.from({ length: 40 }, (_, i) => queuedBy(i % 2 === 0 ? 'node-a' : 'node-b', i));
    await put(a, runs);
    // One run per call and batches of four, from both stores at once.
    const mine = (owner: string): Run[] => runs.filter((r) => r.owner === owner);
    const batches = (store: Store, owner: string, size: number): Promise<SlotAnswer[]>[] => {
      const list = mine(owner);
      const out: Promise<SlotAnswer[]>[] = [];
      for (let i = 0; i < list.length; i += size) out.push(store.acquireSlots(owner, NOW, LEASE, list.slice(i, i + size).map((r) => ({ runId: r.id, cap: 3 }))));
      return out;
    };
    const answers = (await Promise.all([...batches(a, 'node-a', 1), ...batches(b, 'node-b', 4)])).flat();
    assert.equal(answers.length, 40);
    assert.equal(answers.filter((x) => x.kind === 'started').length, 3);
    assert.equal(answers.filter((x) => x.kind === 'queued').length, 37);
    assert.equal((await running(a, runs.map((r) => r.id))).length, 3);
  }));

  it('two stores claiming the slot queue at once while slots free never exceed the cap, and each run starts once', useTwo(async (a, b) => {
    await capped(a, 'cw', 2);
    const runs = Array.from({ length: 24 }, (_, i) => queuedBy('intake', i));
    await put(a, runs);
    await Promise.all(runs.map((r) => acquire(a, r.id, 'intake', 0, NOW, LEASE)));
    const started = new Map<string, string>();
    const ids = runs.map((r) => r.id);
    for (let round = 0; started.size < runs.length && round < 50; round++) {
      const [byA, byB] = await Promise.all([a.claimSlots('node-a', NOW, LEASE, 5), b.claimSlots('node-b', NOW, LEASE, 5)]);
      for (const r of [...byA, ...byB]) {
        assert.ok(!started.has(r.id), `run ${r.id} started twice`);
        started.set(r.id, r.owner!);
      }
      const now = await running(a, ids);
      assert.ok(now.length <= 2, `${now.length} running for a cap of 2`);
      // Everything running ends before the next round.
      await a.applyTransitions(now.map((r) => ({ run: advanced(r, { status: 'succeeded', owner: null, lease_until: null }), expectRev: r.rev, steps: [] })));
    }
    assert.equal(started.size, runs.length, 'the whole queue started');
  }));
}
