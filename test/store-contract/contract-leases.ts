/** Contract cases: timers, orphan claims, lease renewal, durability across a restart. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Run } from '../../src/core/types.js';
import type { ContractContext } from './contract.js';
import { T0, advanced, makeRun, makeStep, seedWorkflow } from './fixtures.js';

const NOW = T0 + 60_000;

export function leasesContract({ use }: ContractContext): void {
  it('hurryChildWaits makes runs parked on children due now, and nothing else', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const onChildren = makeRun({
      status: 'waiting', wake_at: NOW + 30_000, step: 'many',
      parking: { kind: 'child', step: 'many', seq: 1, children: ['c1'], wake_on: 'end' },
    });
    const alreadyDue = makeRun({
      status: 'waiting', wake_at: NOW - 5, step: 'many',
      parking: { kind: 'child', step: 'many', seq: 1, children: ['c2'], wake_on: 'reply' },
    });
    const onDelay = makeRun({ status: 'waiting', wake_at: NOW + 30_000, step: 'pause', parking: { kind: 'delay', step: 'pause', seq: 1 } });
    await store.createRuns([onChildren, alreadyDue, onDelay].map((run) => ({ run, refPolicy: 'native' as const })));
    assert.equal(await store.hurryChildWaits(NOW), 1);
    assert.equal((await store.loadRun(onChildren.id))?.wake_at, NOW);
    assert.equal((await store.loadRun(alreadyDue.id))?.wake_at, NOW - 5);
    assert.equal((await store.loadRun(onDelay.id))?.wake_at, NOW + 30_000);
  }));

  it('claimDueRuns claims only due parked runs, earliest first, up to the limit', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const parked = (wake: number, over: Partial<Run> = {}): Run => makeRun({
      status: 'waiting', wake_at: wake, step: 'pause', parking: { kind: 'delay', step: 'pause', seq: 1 }, ...over,
    });
    const late = parked(NOW - 10);
    const earliest = parked(NOW - 30);
    const middle = parked(NOW - 20, { tenant: 'default', parking: { kind: 'retry', step: 'pause', seq: 1, attempt: 2 } });
    const exactlyNow = parked(NOW);
    const future = parked(NOW + 100);
    const notParked = makeRun({ status: 'running', wake_at: NOW - 50, owner: 'x', lease_until: NOW + 1 });
    const callbackOnly = parked(0, { wake_at: null, parking: { kind: 'callback', step: 'pause', seq: 1 } });
    const all = [late, earliest, middle, exactlyNow, future, notParked, callbackOnly];
    await store.createRuns(all.map((run) => ({ run, refPolicy: 'native' as const })));

    assert.equal(await store.nextWakeAt(), NOW - 30);
    const first = await store.claimDueRuns('me', NOW, NOW + 30_000, 2);
    assert.deepEqual(first.map((r) => r.id), [earliest.id, middle.id]);
    for (const [claimed, before] of [[first[0], earliest], [first[1], middle]] as const) {
      assert.deepEqual(claimed, {
        ...before, status: 'running', owner: 'me', lease_until: NOW + 30_000, rev: before.rev + 1, updated_at: NOW,
      }, 'claimed as stored; parking and wake_at tell the engine why it woke');
      assert.deepEqual(await store.loadRun(before.id), claimed);
    }
    assert.equal(await store.nextWakeAt(), NOW - 10);
    const second = await store.claimDueRuns('me', NOW, NOW + 30_000, 10);
    assert.deepEqual(second.map((r) => r.id), [late.id, exactlyNow.id]);
    assert.deepEqual(await store.claimDueRuns('me', NOW, NOW + 30_000, 10), []);
    assert.equal(await store.nextWakeAt(), NOW + 100);
    assert.equal((await store.loadRun(notParked.id))?.owner, 'x');
    assert.equal((await store.loadRun(callbackOnly.id))?.status, 'waiting');

    const [claimedFuture] = await store.claimDueRuns('me', NOW + 100, NOW + 30_000, 10);
    assert.equal(claimedFuture.id, future.id);
    assert.equal(await store.nextWakeAt(), null, 'parked runs without a wake time never come due');
  }));

  it('nextWakeAt is null without parked runs', use(async (store) => {
    assert.equal(await store.nextWakeAt(), null);
  }));

  it('claimOrphanedRuns takes queued/running runs without a live lease (another owner\'s live lease only on a single-claimer store)', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    // With several claimers a live lease of another owner is a node at work and must be refused;
    // with one claimer (one process owns the data) any other owner is a dead process.
    const single = !store.capabilities.concurrentClaimers;
    const unowned = makeRun({ status: 'queued' });
    const otherLive = makeRun({ status: 'running', owner: 'other', lease_until: NOW + 10_000, rev: 4 });
    const otherExpired = makeRun({ status: 'running', owner: 'dead', lease_until: NOW - 1, rev: 3 });
    const expiredMine = makeRun({ status: 'running', owner: 'me', lease_until: NOW - 1 });
    const liveMine = makeRun({ status: 'running', owner: 'me', lease_until: NOW + 10_000 });
    const parked = makeRun({ status: 'waiting', owner: 'dead', lease_until: NOW - 1, wake_at: NOW + 5 });
    const finished = makeRun({ status: 'succeeded', owner: 'dead', lease_until: NOW - 1, finished_at: T0 });
    const all = [unowned, otherLive, otherExpired, expiredMine, liveMine, parked, finished];
    await store.createRuns(all.map((run) => ({ run, refPolicy: 'native' as const })));

    const orphans = single ? [unowned, otherLive, otherExpired, expiredMine] : [unowned, otherExpired, expiredMine];
    const claimed = await store.claimOrphanedRuns('me', NOW, NOW + 30_000, 10);
    assert.deepEqual(claimed.map((r) => r.id).sort(), orphans.map((r) => r.id).sort());
    for (const before of orphans) {
      const after = claimed.find((r) => r.id === before.id);
      assert.deepEqual(after, {
        ...before, owner: 'me', lease_until: NOW + 30_000, rev: before.rev + 1, updated_at: NOW,
      }, 'status stays as it was');
    }
    assert.deepEqual(await store.loadRun(liveMine.id), liveMine);
    assert.deepEqual(await store.loadRun(parked.id), parked);
    assert.deepEqual(await store.loadRun(finished.id), finished);
    if (!single) assert.deepEqual(await store.loadRun(otherLive.id), otherLive, 'a live lease of another node is respected');

    // The previous owner's late write is fenced out by the bumped rev and the new owner.
    const late = advanced(otherExpired, { status: 'succeeded' });
    assert.deepEqual(await store.applyTransitions([{ run: late, expectRev: 3, owner: 'dead', steps: [makeStep(otherExpired.id, 1)] }]), [{ ok: false }]);
    assert.deepEqual(await store.applyTransitions([{ run: late, expectRev: 3, steps: [] }]), [{ ok: false }]);
    assert.deepEqual(await store.listSteps(otherExpired.id), []);
    assert.deepEqual(await store.claimOrphanedRuns('me', NOW, NOW + 30_000, 10), [], 'nothing left to claim');
  }));

  it('claimOrphanedRuns respects the limit', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const runs = Array.from({ length: 5 }, () => makeRun({ status: 'queued', owner: 'dead', lease_until: NOW - 1 }));
    await store.createRuns(runs.map((run) => ({ run, refPolicy: 'native' as const })));
    const a = await store.claimOrphanedRuns('me', NOW, NOW + 1000, 2);
    const b = await store.claimOrphanedRuns('me', NOW, NOW + 1000, 2);
    const c = await store.claimOrphanedRuns('me', NOW, NOW + 1000, 2);
    assert.deepEqual([a.length, b.length, c.length], [2, 2, 1]);
    assert.equal(new Set([...a, ...b, ...c].map((r) => r.id)).size, 5);
    assert.deepEqual(await store.claimDueRuns('me', NOW, NOW + 1000, 0), []);
  }));

  it('renewLeases extends only the leases the owner holds, without bumping rev', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const a = makeRun({ status: 'running', owner: 'me', lease_until: NOW + 1 });
    const b = makeRun({ status: 'running', owner: 'me', lease_until: NOW - 1 });
    const c = makeRun({ status: 'running', owner: 'other', lease_until: NOW + 1 });
    await store.createRuns([a, b, c].map((run) => ({ run, refPolicy: 'native' as const })));
    const missing = '01890000-0000-7000-8000-000000000000';
    assert.deepEqual(await store.renewLeases('me', [a.id, c.id, missing, b.id], NOW + 9000), [a.id, b.id]);
    assert.deepEqual(await store.loadRun(a.id), { ...a, lease_until: NOW + 9000 });
    assert.deepEqual(await store.loadRun(b.id), { ...b, lease_until: NOW + 9000 });
    assert.deepEqual(await store.loadRun(c.id), c);
    assert.deepEqual(await store.renewLeases('me', [], NOW + 9000), []);
    // The holder's fenced transition still applies after renewal.
    assert.deepEqual(
      await store.applyTransitions([{ run: advanced(a, { lease_until: NOW + 9000 }), expectRev: a.rev, owner: 'me', steps: [] }]),
      [{ ok: true, replied: false }],
    );
  }));

  it('committed runs, transitions and replies survive close and reopen', use(async (store, harness, t) => {
    if (!harness.reopen) {
      t.skip('the backend harness cannot reopen its data (no restart to show)');
      return;
    }
    await seedWorkflow(store, 'default', 'wf');
    const runs = Array.from({ length: 50 }, (_, i) => makeRun({ ref: `r${i}`, input: { i } }));
    const results = await store.createRuns(runs.map((run) => ({ run, refPolicy: 'native' as const })));
    assert.ok(results.every((r) => r.kind === 'created'));
    const moved = advanced(runs[0], { status: 'waiting', wake_at: NOW, step_seq: 1, reply: { status: 'ok', data: { ok: 1 }, at: T0 } });
    await store.applyTransitions([{ run: moved, expectRev: 1, steps: [makeStep(runs[0].id, 1)] }]);
    await store.putSetting('admin', 'h');
    await store.close();

    const reopened = await harness.reopen();
    await reopened.migrate();
    assert.deepEqual(await reopened.loadRun(runs[0].id), moved);
    for (const run of runs.slice(1)) assert.deepEqual(await reopened.getRun('default', run.id), run);
    assert.deepEqual(await reopened.listSteps(runs[0].id), [makeStep(runs[0].id, 1)]);
    assert.equal(await reopened.nextWakeAt(), NOW);
    assert.equal(await reopened.getSetting('admin'), 'h');
    const [dup] = await reopened.createRuns([{ run: makeRun({ ref: 'r7', input: { i: 7 } }), refPolicy: 'native' }]);
    assert.equal(dup.kind, 'existing', 'refs survive the restart');
    assert.equal(dup.run.id, runs[7].id);
  }));
}
