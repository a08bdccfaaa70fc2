// GET /v1/cluster and the node id on /metrics, on one node over SQLite: the node lists itself with
// its heartbeat and the runs it holds; a tenant key is refused; the node drops out on a clean stop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep, startTestServer } from '../helpers/server.js';

test('GET /v1/cluster lists this node with its heartbeat and the runs it holds; /metrics names the node', async (t) => {
  const s = await startTestServer();
  let closed = false;
  t.after(() => (closed ? undefined : s.close()));
  await s.createWorkflow('hold', 'id: hold\nsteps:\n  - id: hold\n    type: wait\n    timeout: 1h\n');
  const before = Date.now();
  const r = await s.call('GET', '/v1/cluster');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.clustered, false);
  assert.equal(r.body.items.length, 1);
  const me = r.body.items[0];
  assert.equal(me.id, r.body.node);
  assert.equal(me.self, true);
  assert.equal(me.info.pid, process.pid);
  assert.ok(Date.parse(me.heartbeat_at) <= before + 1000 && Date.parse(me.heartbeat_at) > before - 10_000, me.heartbeat_at);
  assert.equal(me.runs_held, 0);

  const metrics = await s.call('GET', '/metrics');
  assert.match(metrics.text, new RegExp(`flowgate_node_info\\{node="${me.id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}",clustered="false"\\} 1`));

  // A run that parks is not held (no lease); the key of a tenant may not list nodes.
  const run = await s.trigger('hold', {});
  assert.equal(run.status, 202, run.text);
  await s.waitRun(run.body.id, (x) => x.status === 'waiting');
  assert.equal((await s.call('GET', '/v1/cluster')).body.items[0].runs_held, 0);
  const key = await s.call('POST', '/v1/keys', { json: { name: 'k', role: 'admin' } });
  const refused = await s.call('GET', '/v1/cluster', { token: key.body.token });
  assert.equal(refused.status, 403, refused.text);
  assert.match(refused.headers.get('content-type') ?? '', /problem\+json/);

  // A heartbeat follows every 2 s.
  await sleep(2300);
  const later = (await s.call('GET', '/v1/cluster')).body.items[0];
  assert.ok(Date.parse(later.heartbeat_at) > Date.parse(me.heartbeat_at), `${later.heartbeat_at} after ${me.heartbeat_at}`);

  const store = s.srv.store;
  const id = me.id as string;
  // The store outlives nothing after close: read the node list just before, then check the row is gone via a fresh read during close.
  closed = true;
  const removed = store.removeNode.bind(store);
  let removedId: string | null = null;
  (store as { removeNode: (id: string) => Promise<void> }).removeNode = async (x: string) => {
    removedId = x;
    return removed(x);
  };
  await s.close();
  assert.equal(removedId, id, 'a clean stop removes the node from the list');
});
