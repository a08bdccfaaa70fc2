// The PostgreSQL group commit under real deadlocks (src/store/postgres/runs.ts, writeBatch): a
// batch that PostgreSQL aborts as a deadlock is rolled back whole and runs again, up to three times
// in all; the third abort reaches the caller as the deadlock error, with nothing of the batch written.
//
// How the deadlocks are made: a batch of two transitions locks run 1, then run 2. Another session
// (another node's transaction) holds run 2 and then asks for run 1 inside a savepoint: a lock cycle.
// The store's connections detect deadlocks after 1 s, the other session only after 30 s, so the
// batch is always the one PostgreSQL aborts. (PostgreSQL checks a waiting backend for a deadlock once,
// after its deadlock_timeout: the batch's must leave the other session time to close the cycle first,
// even on a loaded machine, or the check finds no cycle and never runs again.) The other session then rolls back to its savepoint
// (letting run 1 go, keeping run 2), waits until the batch's next attempt has taken run 1 and waits
// for run 2 again, and closes the cycle once more, as many times as the case asks.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { Run } from '../../src/core/types.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import type { Transition } from '../../src/store/types.js';
import { createTestDatabase, skipReason, type TestDatabase } from '../helpers/postgres.js';
import { advanced, makeRun, seedWorkflow, T0 } from '../store-contract/fixtures.js';

const skip = await skipReason();
const OWNER = 'node-a';
const LEASE = T0 + 600_000;

let db: TestDatabase;
let store: PostgresStore;

/** A client of the test's own (the other node's transaction), which never is the deadlock victim. */
async function otherSession(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query("SET deadlock_timeout = '30s'");
  return client;
}

async function twoRuns(): Promise<[Run, Run]> {
  const runs: [Run, Run] = [
    makeRun({ status: 'running', owner: OWNER, lease_until: LEASE, input: { n: 1 } }),
    makeRun({ status: 'running', owner: OWNER, lease_until: LEASE, input: { n: 2 } }),
  ];
  await store.createRuns(runs.map((run) => ({ run, refPolicy: 'native' as const })));
  return runs;
}

/** Both runs one step on, run 1 first: the batch locks them in that order. */
const stepBoth = (runs: Run[]): Transition[] => runs.map((run) => ({
  run: advanced(run, { step_seq: run.step_seq + 1, data: { ...run.data, moved: true } }), expectRev: run.rev, owner: OWNER, steps: [],
}));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `batch` while `other` holds `second` and closes a lock cycle with it `times` times (see the
 * top); answers how the batch ended and how many statements the store sent for it.
 */
async function underDeadlocks<T>(times: number, [first, second]: [Run, Run], batch: () => Promise<T>): Promise<{ outcome: PromiseSettledResult<T>; statements: number }> {
  const other = await otherSession();
  try {
    await other.query('BEGIN');
    await other.query('SELECT 1 FROM runs WHERE id = $1 FOR UPDATE', [second.id]);
    const [{ xid }] = (await other.query<{ xid: string }>(
      "SELECT transactionid::text AS xid FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'transactionid' AND granted",
    )).rows;
    const sentBefore = store.roundTrips;
    const running = batch();
    running.catch(() => {}); // settled below
    for (let i = 0; i < times; i++) {
      // Wait until an attempt of the batch holds run 1 and waits for run 2 (held by this top-level transaction).
      const deadline = Date.now() + 10_000;
      for (;;) {
        // pg_locks only: pg_stat_activity is read once per transaction, and this session is in one.
        const { rows } = await other.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND locktype = 'transactionid' AND transactionid::text = $1", [xid],
        );
        if (rows[0].n > 0) break;
        assert.ok(Date.now() < deadline, `attempt ${i + 1} of the batch did not come to wait for run 2`);
        await sleep(5);
      }
      await other.query('SAVEPOINT cycle');
      // Blocks until PostgreSQL aborts the batch's attempt as the deadlock victim, then holds run 1.
      await other.query('UPDATE runs SET updated_at = updated_at WHERE id = $1', [first.id]);
      await other.query('ROLLBACK TO SAVEPOINT cycle');
    }
    await other.query('ROLLBACK');
    const [outcome] = await Promise.allSettled([running]);
    return { outcome, statements: store.roundTrips - sentBefore };
  } finally {
    await other.end().catch(() => {});
  }
}

describe('the PostgreSQL group commit under deadlocks', { skip }, () => {
  before(async () => {
    db = await createTestDatabase();
    const url = new URL(db.url);
    url.searchParams.set('options', '-c deadlock_timeout=1000');
    store = await openPostgresStore({ url: url.toString(), leaseClock: 'caller', poolSize: 3 });
    await store.migrate();
    await seedWorkflow(store, 'default', 'wf');
  });

  after(async () => {
    await store?.close();
    await db?.drop();
  });

  test('a batch aborted as a deadlock runs again and is written whole', async () => {
    const runs = await twoRuns();
    const { outcome, statements } = await underDeadlocks(1, runs, () => store.applyTransitions(stepBoth(runs)));
    assert.equal(outcome.status, 'fulfilled', outcome.status === 'rejected' ? String(outcome.reason) : '');
    assert.deepEqual(outcome.status === 'fulfilled' && outcome.value, [{ ok: true, replied: false }, { ok: true, replied: false }]);
    assert.equal(statements, 2, 'the first attempt and the one after the deadlock');
    for (const run of runs) {
      const stored = await store.loadRun(run.id);
      assert.equal(stored?.rev, run.rev + 1, 'written once');
      assert.deepEqual(stored?.data, { ...run.data, moved: true });
    }
  });

  test('two deadlocks in a row: the third attempt writes the batch', async () => {
    const runs = await twoRuns();
    const { outcome, statements } = await underDeadlocks(2, runs, () => store.applyTransitions(stepBoth(runs)));
    assert.equal(outcome.status, 'fulfilled', outcome.status === 'rejected' ? String(outcome.reason) : '');
    assert.equal(statements, 3);
    assert.equal((await store.loadRun(runs[1].id))?.rev, runs[1].rev + 1);
  });

  test('a third deadlock reaches the caller as the deadlock error; nothing of the batch is written; the store goes on', async () => {
    const runs = await twoRuns();
    const created = makeRun({ input: { n: 3 } });
    // Creations and transitions of one group commit: all or nothing.
    const { outcome, statements } = await underDeadlocks(3, runs, () => store.writeBatch([{ run: created, refPolicy: 'native' }], stepBoth(runs)));
    assert.equal(outcome.status, 'rejected');
    const error = (outcome as PromiseRejectedResult).reason as { code?: string; message?: string };
    assert.equal(error.code, '40P01', `the deadlock error itself: ${error.message}`);
    assert.match(String(error.message), /deadlock detected/);
    assert.equal(statements, 3, 'three attempts, no fourth');
    assert.equal(await store.loadRun(created.id), null, 'the creation of the failed batch is not written');
    for (const run of runs) assert.equal((await store.loadRun(run.id))?.rev, run.rev, 'nor its transitions');
    // The same batch afterwards, without the other session: written at once.
    const again = await store.writeBatch([{ run: created, refPolicy: 'native' }], stepBoth(runs));
    assert.deepEqual(again.creates.map((c) => c.kind), ['created']);
    assert.deepEqual(again.transitions, [{ ok: true, replied: false }, { ok: true, replied: false }]);
  });
});
