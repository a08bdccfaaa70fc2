/**
 * The SQLite store: the shared contract on a fresh database file per case, plus what only SQLite
 * has (pragmas, sole ownership of the file, the migration ledger).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DatabaseLockedError, openSqliteStore } from '../../src/store/sqlite/store.js';
import { MIGRATIONS, migrate } from '../../src/store/sqlite/migrations.js';
import { ACTIVITY_SQL } from '../../src/store/sqlite/workflows.js';
import { makeRun, seedWorkflow } from './fixtures.js';
import { sqliteContract, tempDb } from './sqlite-harness.js';

sqliteContract('sqlite', (path) => openSqliteStore({ path }));

describe('sqlite store specifics', () => {
  it('a second open of the same file fails with a clear error while the first is open', async () => {
    const { dir, path } = await tempDb();
    const first = await openSqliteStore({ path });
    try {
      await first.migrate();
      await assert.rejects(openSqliteStore({ path, busyTimeoutMs: 50 }), (e: unknown) => {
        assert.ok(e instanceof DatabaseLockedError);
        assert.match(e.message, /in use by another Flowgate process/);
        assert.ok(e.message.includes(path));
        return true;
      });
      // The first store is unaffected.
      assert.equal(await first.getSetting('x'), null);
    } finally {
      await first.close();
    }
    const again = await openSqliteStore({ path, busyTimeoutMs: 50 });
    await again.close();
    await again.close(); // idempotent
    await rm(dir, { recursive: true, force: true });
  });

  it('durable settings: WAL, synchronous=FULL, foreign keys, exclusive locking; migrations recorded once', async () => {
    const { dir, path } = await tempDb();
    const store = await openSqliteStore({ path });
    await store.migrate();
    await store.migrate();
    await store.close();
    // Inspect the file directly once the store has let it go.
    const db = new Database(path);
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      const ledger = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      assert.deepEqual(ledger, MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    } finally {
      db.close();
    }
    const reopened = await openSqliteStore({ path });
    try {
      const pragmas = (reopened as unknown as { db: Database.Database }).db;
      assert.equal(pragmas.pragma('synchronous', { simple: true }), 2, 'FULL');
      assert.equal(pragmas.pragma('foreign_keys', { simple: true }), 1);
      assert.equal(pragmas.pragma('locking_mode', { simple: true }), 'exclusive');
      assert.equal(reopened.capabilities.concurrentClaimers, false);
      assert.equal(reopened.capabilities.notify, false);
    } finally {
      await reopened.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the workflow list\'s activity reads runs only through an index (no scan of the tenant\'s runs)', () => {
    const db = new Database(':memory:');
    try {
      migrate(db);
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${ACTIVITY_SQL}`).all('x', 'default') as { detail: string }[]).map((p) => p.detail);
      const runReads = plan.filter((d) => /^(SEARCH|SCAN) (c|l|r)\b/.test(d));
      assert.equal(runReads.length, 3, plan.join('\n'));
      for (const d of runReads) assert.match(d, /^SEARCH \w+ USING (COVERING INDEX runs_by_workflow|INDEX sqlite_autoindex_runs_1)/, d);
      assert.ok(!plan.some((d) => d.startsWith('SCAN')), plan.join('\n'));
    } finally {
      db.close();
    }
  });

  it('a database written by a newer release is refused', async () => {
    const { dir, path } = await tempDb();
    const store = await openSqliteStore({ path });
    await store.migrate();
    await store.close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, 0)').run('future');
    db.close();
    const reopened = await openSqliteStore({ path });
    try {
      await assert.rejects(reopened.migrate(), /newer release/);
    } finally {
      await reopened.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('using a store whose schema was never migrated names the cause', async () => {
    const { dir, path } = await tempDb();
    const store = await openSqliteStore({ path });
    try {
      await assert.rejects(store.getSetting('x'), /migrate\(\)/);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
    await assert.rejects(store.getSetting('x'), /closed/);
  });
});

describe('sqlite store: integrity and crash safety', () => {
  it('a run must name a stored workflow version (foreign key)', async () => {
    const { dir, path } = await tempDb();
    const store = await openSqliteStore({ path });
    try {
      await store.migrate();
      await seedWorkflow(store, 'default', 'wf');
      await assert.rejects(store.createRuns([{ run: makeRun({ version: 2 }), refPolicy: 'native' }]), /FOREIGN KEY/);
      await assert.rejects(store.createRuns([{ run: makeRun({ workflow: 'nope' }), refPolicy: 'native' }]), /FOREIGN KEY/);
      const [ok] = await store.createRuns([{ run: makeRun(), refPolicy: 'native' }]);
      assert.equal(ok.kind, 'created');
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs acknowledged before a SIGKILL are there after restart', async () => {
    const { dir, path } = await tempDb();
    const root = fileURLToPath(new URL('../../', import.meta.url));
    // The child commits batches and reports each acknowledged one; it never closes the store.
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      import { openSqliteStore } from ${JSON.stringify(join(root, 'src/store/sqlite/store.ts'))};
      import { makeRun, seedWorkflow } from ${JSON.stringify(join(root, 'test/store-contract/fixtures.ts'))};
      const store = await openSqliteStore({ path: ${JSON.stringify(path)} });
      await store.migrate();
      await seedWorkflow(store, 'default', 'wf');
      for (;;) {
        const runs = Array.from({ length: 100 }, (_, i) => makeRun({ ref: String(Math.random()), input: { i } }));
        await store.createRuns(runs.map((run) => ({ run, refPolicy: 'native' })));
        process.stdout.write(JSON.stringify(runs.map((r) => r.id)) + '\\n');
      }
    `], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const acknowledged: string[] = [];
    let buffered = '';
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited: ${code}`))));
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          acknowledged.push(...(JSON.parse(buffered.slice(0, nl)) as string[]));
          buffered = buffered.slice(nl + 1);
        }
        if (acknowledged.length >= 2000) child.kill('SIGKILL');
      });
    });
    const store = await openSqliteStore({ path });
    try {
      await store.migrate();
      for (const id of acknowledged) assert.ok(await store.loadRun(id), `acknowledged run ${id} survived`);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
