// No number silently loses digits: a ref sent as a JSON number beyond 2^53 (the MPO documentation's own
// 3159895014223541328) keeps every digit on every surface and is echoed exactly; in run data such an
// integer is kept as its digits where a param declares a string, and refused with a 422 naming its
// path where a param declares a number (docs/api.md "Bodies").
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { convId, corezoid, newLogin, type Login } from './corezoid-client.js';

let s: TestServer;
let login: Login;
let conv: number;

before(async () => {
  s = await startTestServer();
  await s.createWorkflow('held', `id: held
params:
  account: { type: string }
  amount: { type: number }
steps:
  - { id: hold, type: wait, timeout: 1h }
`);
  conv = await convId(s, 'held');
  login = await newLogin(s);
});
after(() => s.close());

test('Corezoid: a ref sent as a big JSON number is echoed with every digit, and a neighbouring ref is another task', async () => {
  const body = '{"ops":[{"type":"create","obj":"task","conv_id":' + conv + ',"ref":3159895014223541328,"data":{}}]}';
  const first = await corezoid(s, login, body);
  assert.equal(first.status, 200, first.text);
  assert.match(first.text, /"ref":"3159895014223541328"/, 'echoed with all its digits');
  const neighbour = await corezoid(s, login, body.replace('3159895014223541328', '3159895014223541329'));
  assert.equal(neighbour.status, 200, neighbour.text);
  assert.equal(neighbour.body.ops[0].proc, 'ok', 'not not_unical_ref: …329 is another ref');
  assert.notEqual(neighbour.body.ops[0].obj_id, first.body.ops[0].obj_id);
  const again = await corezoid(s, login, body);
  assert.equal(again.body.ops[0].proc, 'not_unical_ref');
  assert.equal(again.body.ops[0].obj_id, first.body.ops[0].obj_id);
  const run = (await s.call('GET', `/v1/runs/${first.body.ops[0].obj_id}`)).body;
  assert.equal(run.ref, '3159895014223541328');
});

test('native batch items and CSV ref columns keep every digit of a ref', async () => {
  const batch = await s.call('POST', '/v1/workflows/held/runs/batch', { raw: '{"items":[{"ref":18446744073709551617,"data":{}}]}', type: 'application/json' });
  assert.equal(batch.status, 200, batch.text);
  assert.equal(batch.body.items[0].ref, '18446744073709551617');
  const csv = await s.call('POST', '/v1/workflows/held/runs/import?ref_column=id', { raw: 'id,account\n18446744073709551618,a\n', type: 'text/csv' });
  assert.equal(csv.status, 200, csv.text);
  const runs = (await s.call('GET', '/v1/runs?workflow=held&ref=18446744073709551618')).body.items;
  assert.equal(runs.length, 1);
});

test('run data: a big integer is kept as digits for a string param, refused with 422 at its path for a number param', async () => {
  const kept = await s.call('POST', '/v1/workflows/held/runs', { raw: '{"account": 12345678901234567890123}', type: 'application/json' });
  assert.equal(kept.status, 202, kept.text);
  const run = (await s.call('GET', `/v1/runs/${kept.body.id}`)).body;
  assert.equal(run.data.account, '12345678901234567890123');
  const before = await s.runCount();
  const refused = await s.call('POST', '/v1/workflows/held/runs', { raw: '{"amount": 3159895014223541328}', type: 'application/json' });
  assert.equal(refused.status, 422, refused.text);
  assert.deepEqual(refused.body.errors.map((e: { path: string }) => e.path), ['amount']);
  assert.match(refused.body.errors[0].message, /outside the range a number holds exactly/);
  const form = await s.call('POST', '/v1/workflows/held/runs', { raw: 'amount=3159895014223541328', type: 'application/x-www-form-urlencoded' });
  assert.equal(form.status, 422, 'a form value is held to the same rule');
  assert.equal(await s.runCount(), before, 'nothing was created');
  const safe = await s.call('POST', '/v1/workflows/held/runs', { raw: '{"amount": 9007199254740991}', type: 'application/json' });
  assert.equal(safe.status, 202, 'the largest exact integer is fine');
});
