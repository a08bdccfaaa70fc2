/**
 * Contract cases with two stores on the same data (two nodes on one database): whatever the two
 * do at once, every claim goes to one of them, a ref names one run, a reply is set once, a
 * workflow's versions are numbered without a gap or a double, and a brought identifier (hash, GUID,
 * conv_id) goes to one workflow while the other is told it is taken. Each case sends both sides' verbs
 * before awaiting any, so a backend whose handles truly overlap (two store threads, two database
 * connections) runs them at the same time.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Run } from '../../src/core/types.js';
import type { Delivery, Store } from '../../src/store/types.js';
import { uuidv7 } from '../../src/core/ids.js';
import { workflowEtag } from '../../src/core/workflow-etag.js';
import type { ContractContext } from './contract.js';
import { T0, advanced, definition, makeRun, seedWorkflow, workflowIds } from './fixtures.js';

const NOW = T0 + 60_000;
const LEASE = NOW + 30_000;

/**
 * Claims with `claim` in small batches until nothing is left; everything this claimer got. More
 * claims than there are items means the two claimers take items from each other: stopped there
 * (the case then fails on the doubles) instead of going on forever.
 */
async function drain<T>(claim: () => Promise<T[]>, items: number): Promise<T[]> {
  const got: T[] = [];
  while (got.length <= items) {
    const batch = await claim();
    if (batch.length === 0) return got;
    got.push(...batch);
  }
  return got;
}

/** Each id is in exactly one of the two lists, and together they are `all`. */
function splitExactly(a: { id: string }[], b: { id: string }[], all: { id: string }[], what: string): void {
  const ids = [...a, ...b].map((x) => x.id);
  assert.equal(new Set(ids).size, ids.length, `no ${what} went to both claimers`);
  assert.deepEqual([...ids].sort(), all.map((x) => x.id).sort(), `every ${what} was claimed`);
}

const parkedDue = (i: number): Run => makeRun({
  status: 'waiting', wake_at: NOW - 100 + i, step: 'pause', parking: { kind: 'delay', step: 'pause', seq: 1 }, input: { i },
});

/** A distinct 40-hex-digit hash, GUID and conv_id per round of the identifier race below. */
const broughtIds = (round: number): { hash: string; guid: string; conv_id: number } => {
  const hex = round.toString(16).padStart(8, '0');
  return { hash: `${hex}${'a'.repeat(32)}`, guid: `${hex}-0000-4000-8000-${'b'.repeat(12)}`, conv_id: 900_000_000 + round };
};

export function racesContract({ useTwo }: ContractContext): void {
  it('a backend that opens two stores on the same data declares several claimers', useTwo(async (a, b) => {
    assert.equal(a.capabilities.concurrentClaimers, true);
    assert.equal(b.capabilities.concurrentClaimers, true);
  }));

  it('two claimers racing claimDueRuns: each due run goes to exactly one, as stored', useTwo(async (a, b) => {
    await seedWorkflow(a, 'default', 'wf');
    const runs = Array.from({ length: 60 }, (_, i) => parkedDue(i));
    await a.createRuns(runs.map((run) => ({ run, refPolicy: 'native' as const })));
    const [byA, byB] = await Promise.all([
      drain(() => a.claimDueRuns('node-a', NOW, LEASE, 7), runs.length),
      drain(() => b.claimDueRuns('node-b', NOW, LEASE, 7), runs.length),
    ]);
    splitExactly(byA, byB, runs, 'run');
    for (const [claimed, owner] of [...byA.map((r) => [r, 'node-a'] as const), ...byB.map((r) => [r, 'node-b'] as const)]) {
      assert.equal(claimed.owner, owner);
      assert.equal(claimed.rev, 2, 'claimed once: one rev bump');
      assert.deepEqual(await b.loadRun(claimed.id), claimed);
    }
    assert.deepEqual(await a.claimDueRuns('node-a', NOW, LEASE, 10), []);
  }));

  it('two claimers racing claimOrphanedRuns: each queued run goes to exactly one', useTwo(async (a, b) => {
    await seedWorkflow(a, 'default', 'wf');
    const runs = Array.from({ length: 60 }, (_, i) => makeRun({ status: 'queued', input: { i } }));
    await b.createRuns(runs.map((run) => ({ run, refPolicy: 'native' as const })));
    const [byA, byB] = await Promise.all([
      drain(() => a.claimOrphanedRuns('node-a', NOW, LEASE, 7), runs.length),
      drain(() => b.claimOrphanedRuns('node-b', NOW, LEASE, 7), runs.length),
    ]);
    splitExactly(byA, byB, runs, 'run');
    for (const r of byA) assert.equal((await b.loadRun(r.id))?.owner, 'node-a');
    for (const r of byB) assert.equal((await a.loadRun(r.id))?.owner, 'node-b');
    // Each now holds a live lease: neither takes the other's runs.
    assert.deepEqual(await a.claimOrphanedRuns('node-a', NOW + 1, LEASE, 100), []);
    assert.deepEqual(await b.claimOrphanedRuns('node-b', NOW + 1, LEASE, 100), []);
  }));

  it('two claimers racing claimDueDeliveries: each delivery goes to exactly one', useTwo(async (a, b) => {
    await seedWorkflow(a, 'default', 'wf');
    const runs = Array.from({ length: 40 }, (_, i) => makeRun({
      status: 'succeeded', finished_at: T0 + 10, result_url: 'https://hooks.example.com/result', input: { i },
    }));
    await a.createRuns(runs.map((run) => ({ run, refPolicy: 'native' as const })));
    const deliveries: Delivery[] = runs.map((run, i) => ({
      id: uuidv7(T0 + i), tenant: run.tenant, run_id: run.id, run_attempt: 1, url: 'https://hooks.example.com/result',
      body: '{}', status: 'pending', attempts: 0, next_at: NOW - i, owner: null, lease_until: null,
      created_at: T0, updated_at: T0, finished_at: null,
    }));
    for (const d of deliveries) assert.equal(await a.createDelivery(d), true);
    const [byA, byB] = await Promise.all([
      drain(() => a.claimDueDeliveries('node-a', NOW, LEASE, 5), deliveries.length),
      drain(() => b.claimDueDeliveries('node-b', NOW, LEASE, 5), deliveries.length),
    ]);
    splitExactly(byA, byB, deliveries, 'delivery');
    for (const d of byA) assert.equal(d.owner, 'node-a');
    for (const d of byB) assert.equal(d.owner, 'node-b');
  }));

  it('two createRuns with one ref from two handles make one run', useTwo(async (a, b) => {
    await seedWorkflow(a, 'default', 'wf');
    const refs = Array.from({ length: 20 }, (_, i) => `order-${i}`);
    const pairs = await Promise.all(refs.map(async (ref, i) => {
      // Even refs: the same input on both sides (existing); odd refs: another input (conflict).
      const mine = makeRun({ ref, input: { i } });
      const theirs = makeRun({ ref, input: { i: i % 2 === 0 ? i : -i - 1 } });
      const [[x], [y]] = await Promise.all([
        a.createRuns([{ run: mine, refPolicy: 'native' }]),
        b.createRuns([{ run: theirs, refPolicy: 'native' }]),
      ]);
      return { i, x, y };
    }));
    for (const { i, x, y } of pairs) {
      const kinds = [x.kind, y.kind].sort();
      assert.deepEqual(kinds, i % 2 === 0 ? ['created', 'existing'] : ['conflict', 'created'], `ref order-${i}`);
      const winner = x.kind === 'created' ? x.run : y.run;
      const loser = x.kind === 'created' ? y : x;
      assert.equal(loser.run.id, winner.id, 'the other side is answered with the run that holds the ref');
      assert.equal((await a.findRunByRef('default', 'wf', `order-${i}`))?.id, winner.id);
    }
    const { runs } = await b.listRuns('default', { limit: 100 });
    assert.equal(runs.length, refs.length, 'one run per ref');
  }));

  it('two createRuns with one ref under while-active make one run', useTwo(async (a, b) => {
    await seedWorkflow(a, 'default', 'wf');
    const [[x], [y]] = await Promise.all([
      a.createRuns([{ run: makeRun({ ref: 'sync-1' }), refPolicy: 'while-active' }]),
      b.createRuns([{ run: makeRun({ ref: 'sync-1' }), refPolicy: 'while-active' }]),
    ]);
    assert.deepEqual([x.kind, y.kind].sort(), ['conflict', 'created']);
  }));

  it('a transition racing setReply: replied is true for exactly one writer, whose reply is stored', useTwo(async (a, b) => {
    await seedWorkflow(a, 'default', 'wf');
    const runs = Array.from({ length: 20 }, (_, i) => makeRun({ status: 'running', owner: 'node-a', lease_until: LEASE, input: { i } }));
    await a.createRuns(runs.map((run) => ({ run, refPolicy: 'native' as const })));
    const outcomes = await Promise.all(runs.map(async (run) => {
      const fromStep = { status: 'ok' as const, data: { by: 'step' }, at: NOW };
      const fromCallback = { status: 'ok' as const, data: { by: 'callback' }, at: NOW + 1 };
      const next = advanced(run, { reply: fromStep, step_seq: 1 });
      const [[moved], set] = await Promise.all([
        a.applyTransitions([{ run: next, expectRev: run.rev, owner: 'node-a', steps: [] }]),
        b.setReply(run.id, fromCallback, NOW + 1),
      ]);
      return { run, moved, set, fromStep, fromCallback };
    }));
    for (const { run, moved, set, fromStep, fromCallback } of outcomes) {
      assert.equal(moved.ok, true, 'a reply does not fence the transition out');
      const stepReplied = moved.ok && moved.replied;
      assert.equal(Number(stepReplied) + Number(set), 1, 'exactly one writer stored the reply');
      const stored = await b.loadRun(run.id);
      assert.deepEqual(stored?.reply, stepReplied ? fromStep : fromCallback);
      assert.equal(stored?.step_seq, 1, 'the transition applied either way');
    }
  }));

  it('a lease is taken by another node only after it expired; the old holder then loses it', useTwo(async (a, b) => {
    await seedWorkflow(a, 'default', 'wf');
    const held = makeRun({ status: 'running', owner: 'node-a', lease_until: NOW + 1000 });
    await a.createRuns([{ run: held, refPolicy: 'native' }]);
    assert.deepEqual(await b.claimOrphanedRuns('node-b', NOW, NOW + 30_000, 10), [], 'a live lease is refused');
    assert.deepEqual(await b.claimOrphanedRuns('node-b', NOW + 1000, NOW + 30_000, 10), [], 'still live at its last millisecond');
    assert.deepEqual(await a.renewLeases('node-a', [held.id], NOW + 2000), [held.id], 'the holder renews it');
    assert.deepEqual(await b.claimOrphanedRuns('node-b', NOW + 1500, NOW + 30_000, 10), [], 'the renewed lease is live');
    const [taken] = await b.claimOrphanedRuns('node-b', NOW + 2001, NOW + 30_000, 10);
    assert.equal(taken?.id, held.id, 'taken once expired');
    assert.equal(taken.owner, 'node-b');
    assert.deepEqual(await a.renewLeases('node-a', [held.id], NOW + 40_000), [], 'the old holder cannot renew a lost lease');
    const late = advanced(held, { status: 'succeeded', finished_at: NOW + 2002 });
    assert.deepEqual(await a.applyTransitions([{ run: late, expectRev: held.rev, owner: 'node-a', steps: [] }]), [{ ok: false }]);
    assert.equal((await a.loadRun(held.id))?.owner, 'node-b');
  }));

  it('a delivery lease is taken by another node only after it expired', useTwo(async (a, b) => {
    await seedWorkflow(a, 'default', 'wf');
    const run = makeRun({ status: 'succeeded', finished_at: T0 + 10, result_url: 'https://hooks.example.com/result' });
    await a.createRuns([{ run, refPolicy: 'native' }]);
    const d: Delivery = {
      id: uuidv7(T0), tenant: run.tenant, run_id: run.id, run_attempt: 1, url: 'https://hooks.example.com/result', body: '{}',
      status: 'pending', attempts: 0, next_at: NOW, owner: null, lease_until: null, created_at: T0, updated_at: T0, finished_at: null,
    };
    await a.createDelivery(d);
    assert.equal((await a.claimDueDeliveries('node-a', NOW, NOW + 1000, 10)).length, 1);
    assert.deepEqual(await b.claimDueDeliveries('node-b', NOW + 1, NOW + 30_000, 10), [], 'a live lease is refused');
    const [taken] = await b.claimDueDeliveries('node-b', NOW + 1001, NOW + 30_000, 10);
    assert.equal(taken?.id, d.id);
    const attempt = { n: 1, started_at: NOW, duration_ms: 1, request: {}, status: 200, response: null, error: null };
    assert.equal(await a.recordDeliveryAttempt(d.id, 'node-a', attempt, { status: 'delivered', next_at: null, now: NOW + 1002 }), false, 'the old holder is fenced out');
  }));

  it('conditional saves from two handles on the same head: exactly one goes through', useTwo(async (a, b) => {
    const base = await a.saveWorkflow('default', definition('guarded'), 'v1', workflowIds(), T0);
    const onBase = [{ kind: 'one-of' as const, etags: [workflowEtag(base.workflow)] }];
    const results = await Promise.all([a, b, a, b].map((s, i) => s.saveWorkflow('default', definition('guarded', { name: `edit ${i}` }), `v${i}`, workflowIds(), T0 + 1 + i, onBase)));
    assert.equal(results.filter((r) => !('unmet' in r)).length, 1, JSON.stringify(results.map((r) => ('unmet' in r ? 'unmet' : r.workflow.version))));
    assert.equal((await b.getWorkflow('default', 'guarded'))?.version, 2);
    const created = await Promise.all([a, b].map((s, i) => s.saveWorkflow('default', definition('only-once', { name: `n${i}` }), 'x', workflowIds(), T0, [{ kind: 'absent' }])));
    assert.equal(created.filter((r) => !('unmet' in r)).length, 1, 'create-only from two handles: one creates');
  }));

  it('saveWorkflow from two handles numbers the versions 1 and 2, never two 2s', useTwo(async (a, b) => {
    const save = (s: Store, n: number) => s.saveWorkflow('default', definition('shared', { name: `variant ${n}` }), `id: shared # ${n}\n`, workflowIds(), T0 + n);
    const first = await Promise.all([save(a, 1), save(b, 2)]);
    assert.deepEqual(first.map((r) => r.workflow.version).sort(), [1, 2]);
    assert.ok(first.every((r) => r.created));
    const second = await Promise.all([save(b, 3), save(a, 4), save(b, 5)]);
    assert.deepEqual(second.map((r) => r.workflow.version).sort(), [3, 4, 5]);
    const all = [...first, ...second].map((r) => r.workflow);
    assert.equal(new Set(all.map((w) => w.conv_id)).size, 1, 'one workflow: one conv_id');
    assert.equal(new Set(all.map((w) => w.guid)).size, 1, 'one workflow: one GUID');
    assert.equal((await a.getWorkflow('default', 'shared'))?.version, 5);
    for (const w of all) assert.equal((await b.getWorkflow('default', 'shared', w.version))?.name, w.name, `version ${w.version} is the one saved`);
    // The same definition from both handles at once: one new version, the other finds it.
    const same = await Promise.all([a, b].map((s) => s.saveWorkflow('default', definition('same'), 'id: same\n', workflowIds(), T0)));
    assert.deepEqual(same.map((r) => [r.workflow.version, r.created]).sort(), [[1, false], [1, true]]);
  }));

  it('setWorkflowIdentifiers from two handles with one hash, GUID or conv_id: one workflow gets it, the other is told it is taken', useTwo(async (a, b) => {
    await seedWorkflow(a, 'default', 'first');
    await seedWorkflow(a, 'default', 'second');
    const fields = ['hash', 'guid', 'conv_id'] as const;
    for (let round = 0; round < 24; round++) {
      const field = fields[round % fields.length];
      const value = broughtIds(round)[field];
      const [x, y] = await Promise.all([
        a.setWorkflowIdentifiers('default', 'first', { [field]: value }, NOW + round),
        b.setWorkflowIdentifiers('default', 'second', { [field]: value }, NOW + round),
      ]);
      assert.deepEqual([x.kind, y.kind].sort(), ['set', 'taken'], `round ${round} (${field}): ${JSON.stringify([x, y])}`);
      const winner = x.kind === 'set' ? 'first' : 'second';
      const loser = x.kind === 'set' ? y : x;
      assert.deepEqual(loser, { kind: 'taken', field, holder: { tenant: 'default', id: winner } });
      const [held, other] = await Promise.all([b.getWorkflow('default', winner), a.getWorkflow('default', winner === 'first' ? 'second' : 'first')]);
      assert.equal(held?.[field], value, `round ${round}: the winner holds the ${field}`);
      assert.notEqual(other?.[field], value, `round ${round}: the other does not`);
    }
  }));
}
