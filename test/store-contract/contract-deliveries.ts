/** Contract cases: result deliveries (create, claim, record attempts, recovery sweep) and webhook secrets. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { uuidv7 } from '../../src/core/ids.js';
import type { Run } from '../../src/core/types.js';
import type { Delivery, DeliveryAttempt } from '../../src/store/types.js';
import type { ContractContext } from './contract.js';
import { T0, makeRun, seedWorkflow } from './fixtures.js';

const NOW = T0 + 60_000;

function makeDelivery(run: Run, over: Partial<Delivery> = {}): Delivery {
  return {
    id: uuidv7(T0), tenant: run.tenant, run_id: run.id, run_attempt: run.attempt, url: 'https://hooks.example.com/result',
    body: JSON.stringify({ run_id: run.id, status: run.status }), status: 'pending', attempts: 0, next_at: NOW,
    owner: null, lease_until: null, created_at: T0, updated_at: T0, finished_at: null, ...over,
  };
}

function attempt(n: number, over: Partial<DeliveryAttempt> = {}): DeliveryAttempt {
  return {
    n, started_at: NOW + n, duration_ms: 12, request: { method: 'POST', url: 'https://hooks.example.com/result', headers: { 'webhook-id': 'x' } },
    status: 503, response: { headers: { 'retry-after': '5' }, body: 'busy' }, error: { class: 'status_503', message: 'answered 503' }, ...over,
  };
}

async function finishedRun(store: Parameters<Parameters<ContractContext['use']>[0]>[0], over: Partial<Run> = {}): Promise<Run> {
  const run = makeRun({ status: 'succeeded', finished_at: T0 + 10, result_url: 'https://hooks.example.com/result', ...over });
  await store.createRuns([{ run, refPolicy: 'native' }]);
  return run;
}

export function deliveriesContract({ use }: ContractContext): void {
  it('createDelivery stores one delivery per ending of a run (run_id, run_attempt)', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const run = await finishedRun(store);
    const first = makeDelivery(run);
    assert.equal(await store.createDelivery(first), true);
    assert.equal(await store.createDelivery(makeDelivery(run, { id: uuidv7(T0 + 1) })), false, 'the same ending again is a no-op');
    assert.equal(await store.createDelivery(makeDelivery({ ...run, attempt: 2 }, { id: uuidv7(T0 + 2) })), true, 'a retried run ending again');
    const listed = await store.listDeliveries('default', run.id);
    assert.deepEqual(listed.map((d) => [d.id === first.id, d.run_attempt]), [[true, 1], [false, 2]]);
    assert.deepEqual({ ...listed[0], attempt_log: undefined }, { ...first, attempt_log: undefined });
    assert.deepEqual(listed[0].attempt_log, []);
    assert.deepEqual(await store.listDeliveries('other', run.id), [], 'another tenant sees nothing');
  }));

  it('claimDueDeliveries claims due pending deliveries, earliest first, and not twice while leased', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const runs = await Promise.all([1, 2, 3, 4].map(() => finishedRun(store)));
    const late = makeDelivery(runs[0], { next_at: NOW - 10 });
    const early = makeDelivery(runs[1], { next_at: NOW - 30 });
    const future = makeDelivery(runs[2], { next_at: NOW + 100 });
    const done = makeDelivery(runs[3], { status: 'delivered', next_at: null, finished_at: T0 });
    for (const d of [late, early, future, done]) assert.equal(await store.createDelivery(d), true);

    assert.equal(await store.nextDeliveryAt(), NOW - 30);
    const claimed = await store.claimDueDeliveries('me', NOW, NOW + 60_000, 10);
    assert.deepEqual(claimed.map((d) => d.id), [early.id, late.id]);
    assert.deepEqual(claimed[0], { ...early, owner: 'me', lease_until: NOW + 60_000, updated_at: NOW });
    assert.deepEqual(await store.claimDueDeliveries('me', NOW, NOW + 60_000, 10), [], 'held by a live lease of the claimer');
    // After the lease expires (the holder died), the delivery can be claimed again.
    const again = await store.claimDueDeliveries('me', NOW + 60_001, NOW + 120_000, 10);
    assert.deepEqual(again.map((d) => d.id), [early.id, late.id, future.id], 'the future one is due by then too; the delivered one never');
    assert.deepEqual(await store.claimDueDeliveries('me', NOW, NOW + 1, 0), []);
  }));

  it('recordDeliveryAttempt is fenced by the owner, keeps every attempt and moves the delivery on', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const run = await finishedRun(store);
    const d = makeDelivery(run, { next_at: NOW });
    await store.createDelivery(d);
    await store.claimDueDeliveries('me', NOW, NOW + 60_000, 10);
    assert.equal(await store.recordDeliveryAttempt(d.id, 'someone-else', attempt(1), { status: 'pending', next_at: NOW + 5000, now: NOW + 1 }), false);
    assert.equal(await store.recordDeliveryAttempt(d.id, 'me', attempt(1), { status: 'pending', next_at: NOW + 5000, now: NOW + 1 }), true);
    let [stored] = await store.listDeliveries('default', run.id);
    assert.equal(stored.status, 'pending');
    assert.equal(stored.attempts, 1);
    assert.equal(stored.next_at, NOW + 5000);
    assert.equal(stored.owner, null, 'the claim is released');
    assert.equal(await store.nextDeliveryAt(), NOW + 5000);
    assert.deepEqual(await store.claimDueDeliveries('me', NOW + 4999, NOW + 60_000, 10), []);
    assert.equal(await store.recordDeliveryAttempt(d.id, 'me', attempt(2), { status: 'delivered', next_at: null, now: NOW + 2 }), false, 'not claimed any more');

    const [claimed] = await store.claimDueDeliveries('other-node', NOW + 5000, NOW + 60_000, 10);
    assert.equal(claimed.id, d.id);
    const ok = attempt(2, { status: 200, response: { headers: {}, body: { ok: true } }, error: null });
    assert.equal(await store.recordDeliveryAttempt(d.id, 'other-node', ok, { status: 'delivered', next_at: NOW + 9, now: NOW + 5001 }), true);
    [stored] = await store.listDeliveries('default', run.id);
    assert.equal(stored.status, 'delivered');
    assert.equal(stored.attempts, 2);
    assert.equal(stored.next_at, null, 'a finished delivery is never due');
    assert.equal(stored.finished_at, NOW + 5001);
    assert.deepEqual(stored.attempt_log, [attempt(1), ok]);
    assert.equal(await store.nextDeliveryAt(), null);
    assert.deepEqual(await store.claimDueDeliveries('me', NOW + 1e9, NOW + 2e9, 10), []);
  }));

  it('runsAwaitingDelivery finds finished runs with a result_url whose ending has no delivery', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const waiting = await finishedRun(store, { finished_at: T0 + 100 });
    const delivered = await finishedRun(store, { finished_at: T0 + 200 });
    await store.createDelivery(makeDelivery(delivered));
    const retried = await finishedRun(store, { status: 'failed', finished_at: T0 + 300, attempt: 2 });
    await store.createDelivery(makeDelivery({ ...retried, attempt: 1 })); // its first ending was delivered
    await finishedRun(store, { result_url: null, finished_at: T0 + 400 });
    await finishedRun(store, { status: 'running', finished_at: null });
    const old = await finishedRun(store, { finished_at: T0 - 1 });

    const found = await store.runsAwaitingDelivery(T0, 10);
    assert.deepEqual(found.map((r) => r.id), [waiting.id, retried.id]);
    assert.deepEqual(found[0], waiting);
    assert.deepEqual((await store.runsAwaitingDelivery(T0 - 1, 1)).map((r) => r.id), [old.id], 'oldest first, limited');
  }));

  it('webhook secrets: ensured once (first writer wins), rotated with the previous one kept', use(async (store) => {
    assert.equal(await store.getWebhookSecret('acme'), null);
    const made = await store.ensureWebhookSecret('acme', 'sealed-1', T0);
    assert.deepEqual(made, { tenant: 'acme', secret_ciphertext: 'sealed-1', previous_ciphertext: null, rotated_at: null, created_at: T0 });
    assert.ok(await store.getTenant('acme'), 'the tenant exists');
    assert.deepEqual(await store.ensureWebhookSecret('acme', 'sealed-other', T0 + 1), made, 'an existing secret stands');
    const rotated = await store.rotateWebhookSecret('acme', 'sealed-2', T0 + 2);
    assert.deepEqual(rotated, { tenant: 'acme', secret_ciphertext: 'sealed-2', previous_ciphertext: 'sealed-1', rotated_at: T0 + 2, created_at: T0 });
    assert.deepEqual(await store.getWebhookSecret('acme'), rotated);
    assert.equal(await store.getWebhookSecret('default'), null, 'per tenant');
    const first = await store.rotateWebhookSecret('fresh', 'sealed-x', T0);
    assert.equal(first.previous_ciphertext, null, 'rotating a tenant without a secret just creates it');
  }));

  it('deliveries survive a restart', use(async (store, harness, t) => {
    if (!harness.reopen) return t.skip('this backend cannot reopen its data');
    await seedWorkflow(store, 'default', 'wf');
    const run = await finishedRun(store);
    const d = makeDelivery(run);
    await store.createDelivery(d);
    await store.claimDueDeliveries('dead-process', NOW, NOW + 60_000, 10);
    await store.close();
    const reopened = await harness.reopen();
    const claimed = await reopened.claimDueDeliveries('new-process', NOW, NOW + 60_000, 10);
    if (reopened.capabilities.concurrentClaimers) assert.deepEqual(claimed, [], 'a live lease of another node is respected');
    else assert.deepEqual(claimed.map((x) => x.id), [d.id], 'a single-claimer store hands over a dead process\'s claim at once');
  }));
}
