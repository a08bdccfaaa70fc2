/**
 * What the PostgreSQL store adds for limits across nodes beyond the shared contract: the rate
 * buckets of FLOWGATE_RATE_LIMIT_MODE=database (exact across handles, all or none, refilled by the
 * database's clock, in an unlogged table), and the slot verbs' cost (one round trip each) and
 * their lease judged by the database's clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PostgresStore } from '../../src/store/postgres/store.js';
import { SLOT_QUEUE_OWNER } from '../../src/store/types.js';
import { skipReason, suiteDatabase } from '../helpers/postgres.js';
import { T0, definition, makeRun, workflowIds } from './fixtures.js';

const skip = await skipReason();

describe('postgres store: limits across nodes', { skip }, () => {
  const db = suiteDatabase({ poolSize: 6 });
  const open = async (): Promise<PostgresStore> => {
    const store = await db.open();
    await store.migrate();
    return store;
  };

  it('rate buckets: two handles taking at once get exactly the burst between them, a batch in one round trip', async () => {
    const [a, b] = [await open(), await open()];
    const bucket = [{ key: 'w:t/exact', perSecond: 0.01, burst: 5 }];
    const before = a.roundTrips;
    // Fifteen single requests from each handle at once, and one batch of ten from a.
    const answers = (await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).rateBuckets.take([bucket])),
      a.rateBuckets.take(Array.from({ length: 10 }, () => bucket)),
    ])).flat();
    assert.equal(answers.length, 40);
    assert.equal(answers.filter((x) => x.wait === 0).length, 5);
    for (const x of answers.filter((y) => y.wait > 0)) assert.deepEqual(x, { wait: 100, refused: 'w:t/exact' }, 'a token every 100 s');
    assert.equal(a.roundTrips - before, 16);
  });

  it('rate buckets: each request all or none, in order within a batch, refilled by the database clock up to the burst', async () => {
    const a = await open();
    const key = { key: 'k:key-1', perSecond: 10, burst: 2 };
    const wf = { key: 'w:t/w', perSecond: 10, burst: 1 };
    assert.deepEqual(await a.rateBuckets.take([[key, wf], [key, wf], [key], [key]]), [
      { wait: 0, refused: null }, { wait: 1, refused: 'w:t/w' }, { wait: 0, refused: null }, { wait: 1, refused: 'k:key-1' },
    ], 'the refused second request took nothing from the key: the third got it');
    await new Promise((r) => setTimeout(r, 250)); // 10/s: full again (2 and 1)
    assert.deepEqual((await a.rateBuckets.take([[wf, key], [key], [key]])).map((x) => x.wait), [0, 0, 1], 'refilled to its burst, not beyond');
    const [{ persistence }] = await a.db.query<{ persistence: string }>("SELECT relpersistence AS persistence FROM pg_class WHERE relname = 'rate_buckets'");
    assert.equal(persistence, 'u', 'unlogged: a check writes no WAL and waits for no flush');
  });

  it('slots: acquireSlots and claimSlots are one round trip each, and a lease counts until the database clock is past it too', async () => {
    const a = await open();
    await a.saveWorkflow('default', definition('cw', { trigger: { public: true, concurrency: 1 } }), 'id: cw\n', workflowIds(), T0);
    const now = Date.now();
    // A holder whose lease the CALLER's clock finds expired, the database's not: it still holds the slot.
    const holder = makeRun({ workflow: 'cw', status: 'running', owner: 'node-a', lease_until: now + 60_000 });
    const next = makeRun({ workflow: 'cw', created_at: T0 + 1, owner: 'node-b', lease_until: now + 60_000 });
    await a.createRuns([holder, next].map((run) => ({ run, refPolicy: 'native' as const })));
    const before = a.roundTrips;
    assert.deepEqual(await a.acquireSlots('node-b', now + 120_000, now + 150_000, [{ runId: next.id, cap: 1 }]), [{ kind: 'queued' }]);
    assert.deepEqual(await a.claimSlots('node-c', now + 120_000, now + 150_000, 10), []);
    assert.equal(a.roundTrips - before, 2);
    assert.equal((await a.loadRun(next.id))?.owner, SLOT_QUEUE_OWNER);
  });
});
