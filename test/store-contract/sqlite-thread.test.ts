/**
 * The SQLite store on its own thread (what the server uses): the same contract, plus what the
 * thread adds: errors keep their kind across it, a second owner is refused, a dead thread fails
 * every call instead of hanging.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { DatabaseLockedError } from '../../src/store/sqlite/store.js';
import { openThreadedSqliteStore } from '../../src/store/sqlite/thread.js';
import { makeRun, seedWorkflow } from './fixtures.js';
import type { Store } from '../../src/store/types.js';
import { sqliteContract, tempDb, withMigratedStore } from './sqlite-harness.js';

sqliteContract('sqlite on a store thread', (path) => openThreadedSqliteStore({ path }));
sqliteContract('sqlite on two store threads sharing one file', (path) => openThreadedSqliteStore({ path, shared: true }), { shared: true });

describe('sqlite store thread specifics', () => {
  it('a second owner of the file is refused with DatabaseLockedError; after close the file is free', async () => {
    const { dir, path } = await tempDb();
    const first = await openThreadedSqliteStore({ path });
    await first.migrate();
    await assert.rejects(openThreadedSqliteStore({ path, busyTimeoutMs: 50 }), (e: unknown) => {
      assert.ok(e instanceof DatabaseLockedError, String(e));
      assert.match((e as Error).message, /in use by another Flowgate process/);
      return true;
    });
    await first.close();
    await first.close(); // idempotent
    const again = await openThreadedSqliteStore({ path, busyTimeoutMs: 50 });
    await again.migrate();
    await again.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a failing verb rejects with the store error (message and code) and the thread goes on', async () => {
    const store = await withMigratedStore((path) => openThreadedSqliteStore({ path }), async (store) => {
      await seedWorkflow(store, 'default', 'wf');
      await assert.rejects(store.createRuns([{ run: makeRun({ version: 2 }), refPolicy: 'native' }]), (e: unknown) => {
        assert.match((e as Error).message, /FOREIGN KEY/);
        assert.equal((e as { code?: string }).code, 'SQLITE_CONSTRAINT_FOREIGNKEY');
        return true;
      });
      const run = makeRun();
      const [created] = await store.createRuns([{ run, refPolicy: 'native' }]);
      assert.equal(created.kind, 'created');
      assert.equal(created.run, run, 'a created run is answered with the very object sent');
      assert.deepEqual(await store.loadRun(run.id), run);
    });
    await assert.rejects(store.loadRun('x'));
  });

  it('a store thread that dies fails the call in flight and every later one, and reports it once', { timeout: 20_000 }, async () => {
    let worker: Worker | undefined;
    const failures: Error[] = [];
    const open = (path: string): Promise<Store> => openThreadedSqliteStore({ path, onFailure: (e) => failures.push(e) }, (sqlite) => {
      worker = new Worker(new URL('../../src/store/sqlite/thread-worker.mjs', import.meta.url), { workerData: sqlite, execArgv: [] });
      return worker;
    });
    await withMigratedStore(open, async (store) => {
      await seedWorkflow(store, 'default', 'wf');
      const inFlight = store.createRuns(Array.from({ length: 200 }, () => ({ run: makeRun(), refPolicy: 'native' as const })));
      await worker!.terminate();
      const died = /store thread stopped unexpectedly/;
      // The batch in flight is answered if the thread wrote and answered it before it was stopped,
      // else it fails with the thread's death; it never hangs.
      const outcome = await inFlight.then((r) => r, (e: Error) => e);
      if (outcome instanceof Error) assert.match(outcome.message, died);
      else assert.ok(outcome.every((r) => r.kind === 'created'));
      await assert.rejects(store.loadRun('x'), died);
      await assert.rejects(store.putSetting('k', 'v'), died);
      assert.equal(failures.length, 1);
      assert.match(failures[0].message, died);
    });
  });

  it('verbs sent without waiting are carried out in the order sent', async () => {
    await withMigratedStore((path) => openThreadedSqliteStore({ path }), async (store) => {
      const writes = Array.from({ length: 50 }, (_, i) => store.putSetting('counter', String(i)));
      const read = store.getSetting('counter');
      await Promise.all(writes);
      assert.equal(await read, '49');
    });
  });
});
