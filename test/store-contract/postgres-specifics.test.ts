/**
 * What only the PostgreSQL store has: migrations taken once under a lock by nodes starting
 * together, two handles claiming at once, one round trip per group commit, hints sent at commit,
 * the listening connection's reconnection, lease expiry on the database's clock, and the schema
 * built from the shared run row.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RUN_COLUMNS, STEP_COLUMNS } from '../../src/store/run-row.js';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { isPostgresUnavailableError, openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import type { Hint } from '../../src/store/types.js';
import { createTestDatabase, skipReason, suiteDatabase } from '../helpers/postgres.js';
import { T0, advanced, makeRun, makeStep, seedWorkflow } from './fixtures.js';

const skip = await skipReason();

describe('postgres store specifics', { skip }, () => {
  const db = suiteDatabase({ poolSize: 4 });
  const open = (opts: { leaseClock?: 'database' | 'caller' } = {}): Promise<PostgresStore> => db.open(opts);

  it('nodes starting together migrate once, under the advisory lock', async () => {
    const stores = await Promise.all(Array.from({ length: 5 }, () => open()));
    await Promise.all(stores.map((s) => s.migrate()));
    const ledger = await stores[0].db.query('SELECT version, name FROM schema_migrations ORDER BY version');
    assert.deepEqual(ledger, MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    await stores[1].migrate();
    assert.equal((await stores[0].db.query('SELECT count(*)::int AS n FROM schema_migrations'))[0].n, MIGRATIONS.length);
    assert.equal(stores[0].capabilities.concurrentClaimers, true);
    assert.equal(stores[0].capabilities.notify, true);
  });

  it('the tables have exactly the shared run and step record columns; int8 comes back as numbers', async () => {
    const store = await open();
    const columns = async (table: string): Promise<string[]> => (await store.db.query<{ c: string }>(
      "SELECT column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1", [table],
    )).map((r) => r.c).sort();
    assert.deepEqual(await columns('runs'), [...RUN_COLUMNS].sort());
    assert.deepEqual(await columns('step_records'), [...STEP_COLUMNS].sort());
    const [row] = await store.db.query<{ n: unknown }>('SELECT 1700000000123::bigint AS n');
    assert.equal(row.n, 1_700_000_000_123);
  });

  it('a database written by a newer release is refused', async () => {
    const other = await createTestDatabase();
    const store = await openPostgresStore({ url: other.url });
    try {
      await store.migrate();
      await store.db.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
      await assert.rejects(store.migrate(), /newer release/);
    } finally {
      await store.close();
      await other.drop();
    }
  });

  it('a group commit is one round trip, whatever its size', async () => {
    const store = await open();
    await store.migrate();
    await seedWorkflow(store, 'default', 'wf');
    const runs = Array.from({ length: 50 }, (_, i) => makeRun({ ref: `rt-${i}-${Math.random()}`, input: { i } }));
    const before = store.roundTrips;
    const { creates } = await store.writeBatch(runs.map((run) => ({ run, refPolicy: 'native' as const, steps: [makeStep(run.id, 1)] })), []);
    assert.equal(store.roundTrips - before, 1);
    assert.ok(creates.every((c) => c.kind === 'created'));
    const mid = store.roundTrips;
    const moved = runs.slice(0, 20).map((r) => ({ run: advanced(r, { status: 'succeeded' as const }), expectRev: r.rev, steps: [makeStep(r.id, 2)] }));
    const again = runs.slice(20, 40).map((run) => ({ run: { ...run, id: makeRun().id, callback_token: makeRun().callback_token }, refPolicy: 'native' as const }));
    const both = await store.writeBatch(again, moved);
    assert.equal(store.roundTrips - mid, 1);
    assert.ok(both.creates.every((c) => c.kind === 'existing'));
    assert.ok(both.transitions.every((t) => t.ok));
    assert.deepEqual((await store.listSteps(runs[0].id)).map((s) => s.seq), [1, 2]);
  });

  it('two handles creating one ref at once make one run; two claimers never get the same run', async () => {
    const [a, b] = [await open({ leaseClock: 'caller' }), await open({ leaseClock: 'caller' })];
    await a.migrate();
    await seedWorkflow(a, 'default', 'race');
    for (let round = 0; round < 10; round++) {
      const ref = `race-${round}-${Math.random()}`;
      const [x, y] = await Promise.all([a, b].map((s) => s.createRuns([{ run: makeRun({ workflow: 'race', ref }), refPolicy: 'native' }])));
      const kinds = [x[0].kind, y[0].kind].sort();
      assert.deepEqual(kinds, ['created', 'existing'], `round ${round}`);
    }
    const queued = Array.from({ length: 60 }, () => makeRun({ workflow: 'race', status: 'queued' }));
    await a.createRuns(queued.map((run) => ({ run, refPolicy: 'native' as const })));
    const now = T0 + 1000;
    // Six claimers with room for 15 each, claiming until nothing is left (other cases' runs are orphans too).
    const claimer = async (i: number): Promise<string[]> => {
      const got: string[] = [];
      for (;;) {
        const batch = await (i % 2 ? a : b).claimOrphanedRuns(`n${i}`, now, now + 30_000, 15);
        if (batch.length === 0) return got;
        got.push(...batch.map((r) => r.id));
      }
    };
    const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => claimer(i)));
    const ids = claims.flat().filter((id) => queued.some((q) => q.id === id));
    assert.equal(ids.length, new Set(ids).size, 'no run claimed twice');
    assert.equal(ids.length, 60, 'every run claimed once');
  });

  it('two saves of one workflow from two handles make versions 1 and 2 and 3, never two of one', async () => {
    const [a, b] = [await open(), await open()];
    await a.migrate();
    const { definition, workflowIds } = await import('./fixtures.js');
    const results = await Promise.all([a, b, a].map((s, i) => s.saveWorkflow('default', definition('twice', { name: `v${i}` }), 'x', workflowIds(), T0)));
    assert.deepEqual(results.map((r) => r.workflow.version).sort(), [1, 2, 3]);
  });

  it('hints: a committed batch is announced once, with replied; publish reaches the other handle; a lost connection is reconnected', async () => {
    const [a, b] = [await open(), await open()];
    await a.migrate();
    await seedWorkflow(a, 'default', 'wf');
    const heard: Hint[] = [];
    let reconnected = 0;
    b.hints!.subscribe({ hint: (h) => heard.push(h), reconnected: () => { reconnected++; } });
    await b.hintChannel.ready();
    const run = makeRun({ status: 'queued' });
    await a.createRuns([{ run, refPolicy: 'native' }]);
    await a.applyTransitions([{ run: advanced(run, { status: 'succeeded', reply: { status: 'ok', data: {}, at: T0 } }), expectRev: run.rev, steps: [] }]);
    await a.hints!.publish({ kind: 'invalidate', cache: 'workflow', key: 'default/wf' });
    const waitFor = async (ok: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(ok(), JSON.stringify(heard));
    };
    await waitFor(() => heard.some((h) => h.kind === 'invalidate'));
    assert.deepEqual(heard.filter((h) => h.kind === 'run'), [
      { kind: 'run', id: run.id, tenant: 'default', status: 'queued', replied: false },
      { kind: 'run', id: run.id, tenant: 'default', status: 'succeeded', replied: true },
    ]);
    assert.ok(heard.some((h) => h.kind === 'work'), 'a queued unowned run is claimable work');
    // A rolled back batch announces nothing.
    heard.length = 0;
    await assert.rejects(a.createRuns([{ run: makeRun({ status: 'queued' }), refPolicy: 'native' }, { run: makeRun({ workflow: 'missing' }), refPolicy: 'native' }]));
    await a.hints!.publish({ kind: 'work' });
    await waitFor(() => heard.length > 0);
    assert.deepEqual(heard, [{ kind: 'work' }]);
    b.hintChannel.breakConnection();
    await waitFor(() => reconnected === 1);
    heard.length = 0;
    await a.hints!.publish({ kind: 'work' });
    await waitFor(() => heard.length > 0);
  });

  it('a big batch splits its hints under the payload limit', async () => {
    const [a, b] = [await open(), await open()];
    await a.migrate();
    await seedWorkflow(a, 'default', 'wf');
    const heard: Hint[] = [];
    b.hints!.subscribe({ hint: (h) => heard.push(h), reconnected: () => {} });
    await b.hintChannel.ready();
    const runs = Array.from({ length: 400 }, () => makeRun({ tenant: 'default' }));
    await a.createRuns(runs.map((run) => ({ run, refPolicy: 'native' as const })));
    for (let i = 0; i < 300 && heard.filter((h) => h.kind === 'run').length < 400; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(new Set(heard.flatMap((h) => (h.kind === 'run' ? [h.id] : []))), new Set(runs.map((r) => r.id)));
  });

  it('lease expiry on the database clock: a claimer whose clock runs ahead cannot take a live lease', async () => {
    const store = await open({ leaseClock: 'database' });
    await store.migrate();
    await seedWorkflow(store, 'default', 'wf');
    const now = Date.now();
    const held = makeRun({ status: 'running', owner: 'other', lease_until: now + 60_000, created_at: now, updated_at: now });
    const expired = makeRun({ status: 'running', owner: 'other', lease_until: now - 1000, created_at: now, updated_at: now });
    await store.createRuns([held, expired].map((run) => ({ run, refPolicy: 'native' as const })));
    const ahead = now + 10 * 60_000;
    const claimed = await store.claimOrphanedRuns('fast-clock', ahead, ahead + 30_000, 10_000);
    assert.deepEqual(claimed.map((r) => r.id).filter((id) => id === held.id || id === expired.id), [expired.id]);
    assert.equal((await store.loadRun(held.id))?.owner, 'other');
  });

  it('connections the server ends are replaced: the next verb works; a long statement is cancelled by the timeout', async () => {
    const store = await db.open({ poolSize: 2, statementTimeoutMs: 300 });
    await store.migrate();
    await store.putSetting('kept', 'yes');
    // Every connection of the pool is ended by the server (a restart, an administrator).
    const admin = await open();
    await admin.db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'flowgate' AND pid <> pg_backend_pid()");
    await new Promise((r) => setTimeout(r, 100));
    let value: string | null = null;
    for (let i = 0; i < 3 && value === null; i++) {
      try {
        value = await store.getSetting('kept');
      } catch (e) {
        assert.ok(isPostgresUnavailableError(e), `a broken connection is reported as unavailable: ${(e as Error).message}`);
      }
    }
    assert.equal(value, 'yes');
    await assert.rejects(store.db.query('SELECT pg_sleep(2)'), (e: { code?: string }) => e.code === '57014');
    assert.equal(await store.getSetting('kept'), 'yes');
  });

  it('an unreachable database is reported as unavailable, within the connect timeout', async () => {
    const url = new URL(db.url());
    url.port = '1';
    const store = await openPostgresStore({ url: url.toString(), connectTimeoutMs: 500 });
    const started = Date.now();
    await assert.rejects(store.getSetting('x'), (e) => isPostgresUnavailableError(e));
    assert.ok(Date.now() - started < 3000);
    await store.close();
  });
});
