// CSV import preview (POST /v1/workflows/{id}/runs/import?preview=N): the first rows as the server parsed
// them (delimiter and encoding as used), each with its coerced params or its problems; nothing created.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import iconv from 'iconv-lite';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let readKey: string;

const PAYMENT = `id: payment
params:
  name: { type: string, required: true }
  amount: { type: number, required: true, minimum: 0 }
  city: { type: string, default: Kyiv }
steps:
  - id: done
    type: set
    set: { ok: true }
`;

before(async () => {
  s = await startTestServer();
  assert.equal((await s.putWorkflow('payment', PAYMENT)).status, 201);
  readKey = (await s.call('POST', '/v1/keys', { json: { name: 'reader', role: 'read', tenant: 'default' } })).body.token;
});
after(() => s.close());

const upload = (query: string, body: string | Buffer, opts: { token?: string; tenant?: string } = {}) =>
  s.call('POST', `/v1/workflows/payment/runs/import?${query}`, { raw: body, type: 'text/csv', ...opts });

/** Windows-1251, `;`: line 3 has a negative amount, line 5 no name, line 6 a repeated ref with the same values. */
const CP1251 = iconv.encode('ref;name;amount;city\r\nr1;Олена;100;Львів\r\nr2;Петро;-3;Київ\r\nr3;Іван;7;\r\nr4;;8;Одеса\r\nr3;Іван;7;\r\nr6;Марія;9;Харків\r\n', 'win1251');

test('a Windows-1251 file with a bad row: the first rows as parsed, the bad one with its problems; nothing created', async () => {
  const before = await s.runCount();
  const r = await upload('encoding=windows-1251&ref_column=ref&preview=5', CP1251);
  // Bad rows refuse the file (the default): the refusal carries the preview.
  assert.equal(r.status, 422, r.text);
  assert.equal(r.body.delimiter, ';', 'detected');
  assert.equal(r.body.encoding, 'windows-1251');
  const { columns, rows } = r.body.preview;
  assert.deepEqual(columns, ['ref', 'name', 'amount', 'city']);
  assert.deepEqual(rows.map((x: any) => [x.row, x.status]), [[2, 'ok'], [3, 'failed'], [4, 'ok'], [5, 'failed'], [6, 'duplicate']]);
  assert.deepEqual(rows[0].values, { ref: 'r1', name: 'Олена', amount: '100', city: 'Львів' }, 'decoded, before coercion');
  assert.deepEqual(rows[0].fields, ['r1', 'Олена', '100', 'Львів']);
  assert.deepEqual(rows[0].params, { ref: 'r1', name: 'Олена', amount: 100, city: 'Львів' }, 'coerced');
  assert.deepEqual(rows[0].errors, []);
  assert.equal(rows[1].params, null);
  assert.deepEqual(rows[1].errors.map((e: any) => e.column), ['amount']);
  assert.equal(typeof rows[1].errors[0].message, 'string');
  assert.equal(rows[2].params.city, 'Kyiv', '"" means the default');
  assert.deepEqual(rows[3].errors.map((e: any) => e.column), ['name']);
  assert.equal(rows.length, 5, 'only the first N data rows');
  // The counts cover the whole file, as a dry run's do.
  assert.deepEqual([r.body.total, r.body.failed, r.body.duplicates, r.body.created], [6, 2, 1, 0]);
  assert.equal(await s.runCount(), before, 'a preview creates nothing');

  // partial=true: the same preview in a 200 dry-run answer, still nothing created.
  const partial = await upload('encoding=windows-1251&ref_column=ref&preview=2&partial=true', CP1251);
  assert.equal(partial.status, 200, partial.text);
  assert.equal(partial.body.dry_run, true);
  assert.deepEqual(partial.body.preview.rows.map((x: any) => x.row), [2, 3]);
  assert.equal(partial.body.created, 0);
  assert.equal(await s.runCount(), before);
});

test('an unparseable row and a row of the wrong width are previewed with their problems; header=false names columns key1…', async () => {
  const r = await upload('preview=10&header=false&partial=true', 'a,1\nb,2,extra\n"c,3\n');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.delimiter, ',');
  assert.equal(r.body.encoding, 'utf-8');
  const rows = r.body.preview.rows;
  assert.deepEqual(r.body.preview.columns, ['key1', 'key2']);
  assert.deepEqual(rows[0].values, { key1: 'a', key2: '1' });
  assert.equal(rows[1].status, 'failed');
  assert.deepEqual(rows[1].fields, ['b', '2', 'extra']);
  assert.match(rows[1].errors[0].message, /3 fields/);
  assert.equal(rows[2].status, 'failed');
  assert.deepEqual(rows[2].fields, []);
  assert.ok(rows[2].errors.length > 0);
});

test('preview must be 1..100 and answers JSON; without it the answer is as before', async () => {
  for (const bad of ['0', '101', 'x', '2.5']) {
    const r = await upload(`preview=${bad}`, 'name,amount\nA,1\n');
    assert.equal(r.status, 422, bad);
    assert.equal(r.body.errors[0].path, 'preview');
  }
  const csv = await upload('preview=3&format=csv', 'name,amount\nA,1\n');
  assert.equal(csv.status, 422);
  assert.equal(csv.body.errors[0].path, 'preview');
  const plain = await upload('dry_run=true', 'name,amount\nA,1\n');
  assert.deepEqual(Object.keys(plain.body), ['total', 'created', 'duplicates', 'failed', 'errors', 'dry_run']);
  assert.equal((await upload('preview=3', 'name,amount\nA,1\n', { token: readKey })).status, 403, 'a read key may not import, nor preview');
  assert.equal((await upload('preview=3', 'name,amount\nA,1\n', { tenant: 'acme' })).status, 404, 'another tenant has no such workflow');
});
