// What the console's workflow pages read: a workflow's versions (GET /v1/workflows/{id}/versions) and
// each list item's newest run and runs of the last 24 hours (GET /v1/workflows), per tenant.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let readKey: string;
let acmeAdmin: string;
before(async () => {
  s = await startTestServer();
  readKey = (await s.call('POST', '/v1/keys', { json: { name: 'reader', role: 'read', tenant: 'default' } })).body.token;
  acmeAdmin = (await s.call('POST', '/v1/keys', { json: { name: 'acme', role: 'admin', tenant: 'acme' } })).body.token;
});
after(() => s.close());

const reply = (id: string, name: string, value = 1): string => `id: ${id}
name: ${name}
steps:
  - id: answer
    type: reply
    data: { value: ${value} }
`;

const parked = (id: string): string => `id: ${id}
steps:
  - id: hold
    type: wait
    timeout: 1h
`;

test('versions: newest first, paged by cursor, the current one marked, each linking to its definition', async () => {
  for (let v = 1; v <= 3; v++) assert.ok([200, 201].includes((await s.putWorkflow('versioned', reply('versioned', `Name ${v}`, v))).status));
  await s.putWorkflow('versioned', reply('versioned', 'Name 3', 3)); // unchanged: no new version
  const all = await s.call('GET', '/v1/workflows/versioned/versions', { token: readKey });
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(all.body.items.map((v: any) => [v.version, v.name, v.current]), [[3, 'Name 3', true], [2, 'Name 2', false], [1, 'Name 1', false]]);
  assert.equal(all.body.next_cursor, null);
  for (const v of all.body.items) assert.ok(!Number.isNaN(Date.parse(v.created_at)), v.created_at);
  const viaLink = await s.call('GET', new URL(all.body.items[1].links.self).pathname + new URL(all.body.items[1].links.self).search);
  assert.equal(viaLink.status, 200);
  assert.equal(viaLink.body.version, 2);
  assert.equal(viaLink.body.definition.steps[0].data.value, 2);

  const first = await s.call('GET', '/v1/workflows/versioned/versions?limit=2');
  assert.deepEqual(first.body.items.map((v: any) => v.version), [3, 2]);
  assert.equal(first.body.next_cursor, '2');
  const rest = await s.call('GET', `/v1/workflows/versioned/versions?limit=2&cursor=${first.body.next_cursor}`);
  assert.deepEqual(rest.body.items.map((v: any) => [v.version, v.current]), [[1, false]]);
  assert.equal(rest.body.next_cursor, null);
});

test('versions: unknown or another tenant\'s workflow 404, a bad cursor 400, no token 401; archived workflows keep theirs', async () => {
  await s.createWorkflow('mine', reply('mine', 'Mine'));
  assert.equal((await s.call('GET', '/v1/workflows/mine/versions', { token: acmeAdmin })).status, 404);
  assert.equal((await s.call('GET', '/v1/workflows/mine/versions', { tenant: 'acme' })).status, 404);
  assert.equal((await s.call('GET', '/v1/workflows/nope/versions')).status, 404);
  const bad = await s.call('GET', '/v1/workflows/mine/versions?cursor=abc');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errors[0].path, 'cursor');
  assert.equal((await s.call('GET', '/v1/workflows/mine/versions?cursor=0')).status, 400);
  assert.equal((await s.call('GET', '/v1/workflows/mine/versions', { token: null })).status, 401);
  assert.equal((await s.call('DELETE', '/v1/workflows/mine')).status, 204);
  const archived = await s.call('GET', '/v1/workflows/mine/versions');
  assert.equal(archived.status, 200);
  assert.deepEqual(archived.body.items.map((v: any) => v.version), [1]);
});

test('list items carry the newest run and the runs of the last 24 hours, per tenant', async () => {
  await s.createWorkflow('quiet', reply('quiet', 'Quiet'));
  await s.createWorkflow('held', parked('held'));
  await s.putWorkflow('held', parked('held'), { token: acmeAdmin });
  const runs: string[] = [];
  for (let i = 0; i < 3; i++) runs.push((await s.trigger('held', { i })).body.id);
  await s.waitRun(runs[2], (r) => r.status === 'waiting');
  await s.trigger('held', {}, '', { token: acmeAdmin });

  const list = await s.call('GET', '/v1/workflows', { token: readKey });
  assert.equal(list.status, 200, list.text);
  const byId = new Map(list.body.items.map((w: any) => [w.id, w]));
  const held: any = byId.get('held');
  assert.equal(held.runs_24h, 3, 'the other tenant\'s run is not counted');
  assert.equal(held.last_run.id, runs[2]);
  assert.equal(held.last_run.status, 'waiting');
  assert.ok(!Number.isNaN(Date.parse(held.last_run.created_at)));
  assert.deepEqual(Object.keys(held.last_run).sort(), ['created_at', 'id', 'status']);
  const quiet: any = byId.get('quiet');
  assert.equal(quiet.last_run, null);
  assert.equal(quiet.runs_24h, 0);

  const theirs = await s.call('GET', '/v1/workflows', { token: acmeAdmin });
  assert.deepEqual(theirs.body.items.map((w: any) => [w.id, w.runs_24h]), [['held', 1]]);
  assert.notEqual(theirs.body.items[0].last_run.id, runs[2]);
});

test('the list stays fast with thousands of runs (an index, one statement for the whole list)', async () => {
  const ids = ['bulk-a', 'bulk-b', 'bulk-c'];
  for (const id of ids) await s.createWorkflow(id, reply(id, id));
  for (let k = 0; k < 4; k++) {
    const id = ids[k % ids.length];
    const items = Array.from({ length: 1000 }, (_, i) => ({ data: { i, k } }));
    const r = await s.call('POST', `/v1/workflows/${id}/runs/batch`, { json: { items } });
    assert.equal(r.status, 200, r.text.slice(0, 300));
  }
  const timed = async (): Promise<{ ms: number; body: any }> => {
    const t0 = performance.now();
    const r = await s.call('GET', '/v1/workflows');
    assert.equal(r.status, 200);
    return { ms: performance.now() - t0, body: r.body };
  };
  await timed(); // warm: statements prepared
  const samples = [];
  for (let i = 0; i < 5; i++) samples.push(await timed());
  const counts = Object.fromEntries(samples[0].body.items.filter((w: any) => ids.includes(w.id)).map((w: any) => [w.id, w.runs_24h]));
  assert.deepEqual(counts, { 'bulk-a': 2000, 'bulk-b': 1000, 'bulk-c': 1000 });
  const best = Math.min(...samples.map((x) => x.ms));
  // A scan of 4000 runs with their JSON would cost tens of milliseconds; the index answers in a few.
  assert.ok(best < 100, `GET /v1/workflows took ${best.toFixed(1)} ms at best`);
});
