// The store verbs of the cluster on both backends: heartbeats and the node list with the runs each
// node holds under a live lease, a node's removal, and the batch re-read of many runs at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openPostgresStore } from '../../src/store/postgres/store.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/types.js';
import { createTestDatabase, skipReason } from '../helpers/postgres.js';
import { makeRun, seedWorkflow, T0 } from '../store-contract/fixtures.js';

type Open = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const sqlite: Open = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-nodes-'));
  const store = await openSqliteStore({ path: join(dir, 'flowgate.db') });
  return { store, cleanup: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
};

const postgres: Open = async () => {
  const db = await createTestDatabase();
  const store = await openPostgresStore({ url: db.url, leaseClock: 'caller', poolSize: 2 });
  return { store, cleanup: async () => { await store.close(); await db.drop(); } };
};

const pgSkip = await skipReason();

for (const [name, open, skip] of [['sqlite', sqlite, undefined], ['postgres', postgres, pgSkip]] as const) {
  describe(`cluster verbs: ${name}`, { skip }, () => {
    test('heartbeats list the live nodes with the runs each holds; a removed or silent node is not listed', async () => {
      const { store, cleanup } = await open();
      try {
        await store.migrate();
        await seedWorkflow(store, 'default', 'wf');
        const lease = T0 + 30_000;
        await store.createRuns([
          { run: makeRun({ owner: 'node-a', lease_until: lease, status: 'running' }), refPolicy: 'native' },
          { run: makeRun({ owner: 'node-a', lease_until: lease }), refPolicy: 'native' },
          { run: makeRun({ owner: 'node-a', lease_until: T0 - 1, status: 'running' }), refPolicy: 'native' }, // expired
          { run: makeRun({ owner: 'node-b', lease_until: lease, status: 'waiting' }), refPolicy: 'native' }, // parked: not held
          { run: makeRun({ owner: 'node-b', lease_until: lease, status: 'running' }), refPolicy: 'native' },
        ]);
        await store.heartbeatNode({ id: 'node-a', started_at: T0 - 5000, info: { host: 'a', pid: 1 } }, T0 - 100);
        await store.heartbeatNode({ id: 'node-b', started_at: T0 - 4000, info: { host: 'b' } }, T0 - 100);
        await store.heartbeatNode({ id: 'node-a', started_at: T0 - 5000, info: { host: 'a', pid: 2 } }, T0); // a second beat updates
        await store.heartbeatNode({ id: 'node-old', started_at: T0 - 90_000, info: {} }, T0 - 60_000);
        const nodes = await store.listNodes(T0 - 10_000, T0);
        assert.deepEqual(nodes.map((n) => [n.id, n.runs_held, n.heartbeat_at]), [['node-a', 2, T0], ['node-b', 1, T0 - 100]]);
        assert.deepEqual(nodes[0].info, { host: 'a', pid: 2 });
        assert.equal(nodes[0].started_at, T0 - 5000);
        await store.removeNode('node-b');
        assert.deepEqual((await store.listNodes(T0 - 10_000, T0)).map((n) => n.id), ['node-a']);
      } finally {
        await cleanup();
      }
    });

    test('loadRuns reads many runs in one call, leaving out ids not found', async () => {
      const { store, cleanup } = await open();
      try {
        await store.migrate();
        await seedWorkflow(store, 'default', 'wf');
        const runs = Array.from({ length: 600 }, (_, i) => makeRun({ created_at: T0 + i }));
        await store.createRuns(runs.map((run) => ({ run, refPolicy: 'native' as const })));
        const want = [...runs.slice(0, 550).map((r) => r.id), 'no-such-run'];
        const got = await store.loadRuns(want);
        assert.equal(got.length, 550);
        assert.deepEqual(new Set(got.map((r) => r.id)), new Set(want.slice(0, 550)));
        const one = got.find((r) => r.id === runs[7].id)!;
        assert.deepEqual(one, await store.loadRun(runs[7].id), 'the same run as loadRun reads');
        assert.deepEqual(await store.loadRuns([]), []);
      } finally {
        await cleanup();
      }
    });
  });
}
