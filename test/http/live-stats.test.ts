// A foreach's statistics are live: `{ total, succeeded, failed }` is kept current in the run's data at
// the commits that move its progress, so GET /v1/runs/{id}, the CSI status document and the Luma
// history show them while the children run, not only at the end.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, until, type TestServer } from '../helpers/server.js';

let s: TestServer;
let guid: string;

before(async () => {
  s = await startTestServer();
  await s.createWorkflow('maybe', `id: maybe
steps:
  - id: check
    type: condition
    cases: [{ when: bad = true, next: boom }]
    default: hold
  - { id: hold, type: wait, timeout: 1h, next: fine }
  - { id: boom, type: end, status: failed }
  - { id: fine, type: end, status: succeeded }
`);
  guid = (await s.createWorkflow('spread', `id: spread
params:
  items: { type: array, default: [{ bad: true }, { bad: false }, { bad: true }, { bad: false }] }
steps:
  - { id: fan, type: foreach, workflow: maybe, items: items, concurrency: 4 }
`)).body.triggers.guid;
});
after(() => s.close());

const children = async (parent: string): Promise<any[]> => (await s.call('GET', `/v1/runs?parent=${parent}&limit=100`)).body.items;

test('while children run, data.stats counts the ones that ended: GET /v1/runs/{id} and the CSI status document', async () => {
  const started = await fetch(`${s.url}/task/executepolling/${guid}`, { method: 'POST' });
  assert.equal(started.status, 202);
  const status = started.headers.get('location')!;
  const runId = status.split('/').at(-2)!;
  const live = await until(async () => {
    const run = (await s.call('GET', `/v1/runs/${runId}`)).body;
    return run.status === 'waiting' && run.data.stats?.failed === 2 ? run : null;
  }, 'the parent waiting with its failed children counted');
  assert.deepEqual(live.data.stats, { total: 4, succeeded: 0, failed: 2 });
  assert.equal(live.progress, 50);
  const doc = await (await fetch(status)).json();
  assert.deepEqual([doc.recordsRead, doc.recordsProcessed, doc.recordsFailed, doc.percentComplete], [4, 0, 2, 50]);
  // Luma history: the record and the foreach's step item carry the same counts.
  const key = (await s.call('POST', '/v1/keys', { json: { name: 'luma', role: 'read' } })).body.token;
  const luma = async (path: string) => (await (await fetch(`${s.url}/gateway/api/v1/workflowhistory/${runId}${path}`, { headers: { authorization: `Bearer ${key}` } })).json()).resultData;
  assert.deepEqual((await luma('')).statistics, { total: 4, succeeded: 0, failed: 2 });
  const [fanItem] = (await luma('/stephistory')).filter((i: { activityId: string }) => i.activityId === 'fan');
  assert.deepEqual(fanItem.statistics, { total: 4, succeeded: 0, failed: 2 });

  // One held child is released: the counts move before the end.
  const held = (await children(runId)).filter((c) => c.status === 'waiting');
  assert.equal(held.length, 2);
  await s.call('POST', new URL(held[0].callback_url).pathname, { json: {}, token: null });
  const moved = await until(async () => {
    const run = (await s.call('GET', `/v1/runs/${runId}`)).body;
    return run.data.stats?.succeeded === 1 ? run : null;
  }, 'the released child counted');
  assert.equal(moved.status, 'waiting');
  assert.deepEqual(moved.data.stats, { total: 4, succeeded: 1, failed: 2 });
  assert.equal(moved.progress, 75);

  await s.call('POST', new URL(held[1].callback_url).pathname, { json: {}, token: null });
  const done = await s.waitRun(runId);
  assert.deepEqual(done.data.stats, { total: 4, succeeded: 2, failed: 2 });
  const final = await (await fetch(status)).json();
  assert.deepEqual([final.recordsRead, final.recordsProcessed, final.recordsFailed], [4, 2, 2]);
});
