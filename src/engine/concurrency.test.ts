/**
 * trigger.concurrency on a store several nodes share: two engines on ONE SQLite file opened by two
 * stores (SqliteOptions.shared, a multi-claimer store) keep one cap between them, decided by the
 * store (acquireSlot), and the runs one engine could not start are started by whichever engine
 * frees a slot (claimSlots). The cluster test (test/cluster/limits.test.ts) does the same with three
 * server processes on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpPort, HttpResponse } from '../steps/types.js';
import { SLOT_QUEUE_OWNER } from '../store/types.js';
import { deployTo, engineConfig, sharedStores } from '../../test/helpers/engine.js';
import { Engine } from './engine.js';

const silent = { info() {}, warn() {}, error() {} };

test('two engines on one shared store keep one concurrency cap between them; runs without a slot wait in the store, for either engine', async (t) => {
  const { a, b, engines } = await sharedStores(t, 'slots');
  const wf = await deployTo(a, { id: 'capped', trigger: { concurrency: 2 }, steps: [{ id: 'call', type: 'http', url: 'https://api.example.com/slow' }] });
  let inFlight = 0;
  let most = 0;
  let requests = 0;
  const http: HttpPort = {
    async request(): Promise<HttpResponse> {
      inFlight++;
      most = Math.max(most, inFlight);
      requests++;
      await new Promise((r) => setTimeout(r, 40));
      inFlight--;
      return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{}'), truncated: false };
    },
  };
  const nodeA = new Engine(a, { http, secrets: { values: async () => ({}) }, log: silent }, engineConfig());
  const nodeB = new Engine(b, { http, secrets: { values: async () => ({}) }, log: silent }, engineConfig());
  engines.push(nodeA, nodeB);
  await nodeA.start();
  await nodeB.start();
  const runs = await Promise.all(Array.from({ length: 16 }, async (_, i) => {
    const res = await (i % 2 === 0 ? nodeA : nodeB).startRun({ workflow: wf, data: { i }, input: { i }, ref: null, refPolicy: 'native' });
    assert.equal(res.kind, 'created');
    return res.run;
  }));
  let waitingInQueue = 0;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const stored = await a.loadRuns(runs.map((r) => r.id));
    waitingInQueue = Math.max(waitingInQueue, stored.filter((r) => r.owner === SLOT_QUEUE_OWNER).length);
    if (stored.every((r) => r.status === 'succeeded')) break;
    if (Date.now() > deadline) assert.fail(`the runs did not all succeed: ${JSON.stringify(stored.map((r) => r.status))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(most, 2, 'at most two at once across both engines, and two reached');
  assert.equal(requests, 16, 'each run made its request once');
  assert.ok(waitingInQueue > 0, 'runs without a slot waited in the store\'s slot queue, not in an engine');
});
