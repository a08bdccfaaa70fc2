// CSV import (docs/spec.md §5.4, §8.16): POST /v1/workflows/{id}/runs/import and `flowgate import`, against a
// real server. Files are built here byte by byte (Windows-1251 through iconv-lite).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { runCli, tempDir } from '../cli/harness.js';

let s: TestServer;

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
});
after(() => s.close());

const runsOf = async (workflow = 'payment'): Promise<any[]> => {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const r: any = await s.call('GET', `/v1/runs?workflow=${workflow}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    items.push(...r.body.items);
    cursor = r.body.next_cursor;
  } while (cursor);
  return items;
};

const upload = (query: string, body: string | Buffer, type = 'text/csv', workflow = 'payment') =>
  s.call('POST', `/v1/workflows/${workflow}/runs/import${query ? `?${query}` : ''}`, { raw: body, type });

/** A Windows-1251 file, `;`-separated, Cyrillic names; line 3 has a negative amount, line 5 no name. */
const CP1251 = iconv.encode('name;amount;city\r\nОлена;100,5;Львів\r\nПетро;-3;Київ\r\nІван;7;\r\n;8;Одеса\r\nМарія;9;Харків\r\n', 'win1251');

test('a UTF-8 comma file: one run per row, values coerced, defaults applied', async () => {
  const before = (await runsOf()).length;
  const r = await upload('', 'name,amount,city\nAnna,10,Lviv\nBoris,20.5,\n');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { total: 2, created: 2, duplicates: 0, failed: 0, errors: [] });
  const runs = await runsOf();
  assert.equal(runs.length, before + 2);
  const boris = runs.find((x) => x.input.name === 'Boris');
  assert.deepEqual(boris.input, { name: 'Boris', amount: '20.5', city: '' });
  assert.equal(boris.data.amount, 20.5);
  assert.equal(boris.data.city, 'Kyiv', '"" means the default');
});

test('Windows-1251, semicolons (auto-detected), bad rows: refused whole with every bad line; nothing created', async () => {
  const before = (await runsOf()).length;
  const r = await upload('encoding=windows-1251', CP1251);
  assert.equal(r.status, 422, r.text);
  assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
  assert.equal(r.body.type, 'https://flowgate.dev/problems/validation-failed');
  // "100,5" is no number either: a decimal comma is not coerced.
  assert.deepEqual(r.body.errors.map((e: any) => [e.row, e.column]), [[2, 'amount'], [3, 'amount'], [5, 'name']]);
  for (const e of r.body.errors) assert.equal(typeof e.message, 'string');
  assert.equal(r.body.total, 5);
  assert.equal(r.body.failed, 3);
  assert.equal(r.body.created, 0);
  assert.equal((await runsOf()).length, before, 'nothing was created');
});

test('Windows-1251 with partial=true: the good rows are created, Cyrillic intact; the result counts', async () => {
  const before = (await runsOf()).length;
  const r = await upload('encoding=windows-1251&delimiter=%3B&partial=true', CP1251);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 5);
  assert.equal(r.body.created, 2);
  assert.equal(r.body.duplicates, 0);
  assert.equal(r.body.failed, 3);
  assert.deepEqual(Object.keys(r.body), ['total', 'created', 'duplicates', 'failed', 'errors']);
  assert.deepEqual(r.body.errors.map((e: any) => e.row), [2, 3, 5]);
  const runs = (await runsOf()).slice(0, (await runsOf()).length - before);
  assert.deepEqual(runs.map((x) => x.input.name).sort(), ['Іван', 'Марія']);
  assert.equal(runs.find((x) => x.input.name === 'Марія').input.city, 'Харків');
});

test('format=csv: the failed rows with an error column, in the file\'s encoding and delimiter', async () => {
  const before = (await runsOf()).length;
  const res = await fetch(`${s.url}/v1/workflows/payment/runs/import?encoding=windows-1251&format=csv`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/csv' }, body: new Uint8Array(CP1251),
  });
  assert.equal(res.status, 422, 'refused: nothing created');
  assert.match(res.headers.get('content-type') ?? '', /^text\/csv; charset=windows-1251/);
  assert.equal(res.headers.get('flowgate-import-total'), '5');
  assert.equal(res.headers.get('flowgate-import-failed'), '3');
  const text = iconv.decode(Buffer.from(await res.arrayBuffer()), 'win1251');
  const lines = text.trimEnd().split('\r\n');
  assert.equal(lines[0], 'row;name;amount;city;error');
  assert.match(lines[1], /^2;Олена;100,5;Львів;amount: /);
  assert.match(lines[2], /^3;Петро;-3;Київ;amount: /);
  assert.match(lines[3], /^5;;8;Одеса;name: /);
  assert.equal(lines.length, 4);
  assert.equal((await runsOf()).length, before);
});

test('ref_column: duplicate refs (same values) are counted, not re-created; a ref with other values is a bad row', async () => {
  const file = 'id|name|amount\nr1|A|1\nr2|B|2\nr1|A|1\n';
  const first = await upload('ref_column=id', file);
  assert.equal(first.status, 200, first.text);
  assert.deepEqual(first.body, { total: 3, created: 2, duplicates: 1, failed: 0, errors: [] });
  const again = await upload('ref_column=id', file);
  assert.deepEqual(again.body, { total: 3, created: 0, duplicates: 3, failed: 0, errors: [] });
  const runs = (await runsOf()).filter((x) => x.ref === 'r1' || x.ref === 'r2');
  assert.equal(runs.length, 2);
  const changed = await upload('ref_column=id', 'id|name|amount\nr2|B|3\nr3|C|3\nr3|C|4\n');
  assert.equal(changed.status, 422);
  assert.deepEqual(changed.body.errors.map((e: any) => [e.row, e.column]), [[2, 'id'], [4, 'id']]);
  const missing = await upload('ref_column=nope', file);
  assert.equal(missing.status, 422);
  assert.deepEqual(missing.body.errors, [{ row: 1, column: 'nope', message: 'ref_column "nope" is not a column of the file' }]);
});

test('header=false names the columns key1, key2, …', async () => {
  assert.equal((await s.putWorkflow('keys', 'id: keys\nparams:\n  key2: { type: integer, required: true }\nsteps:\n  - { id: a, type: set, set: { ok: true } }\n')).status, 201);
  const r = await upload('header=false', 'x,1\ny,2\n', 'text/csv', 'keys');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.created, 2);
  const runs = await runsOf('keys');
  assert.deepEqual(runs.map((x) => x.data).sort((a, b) => a.key2 - b.key2), [{ key1: 'x', key2: 1, ok: true }, { key1: 'y', key2: 2, ok: true }]);
});

test('line numbers count the file\'s lines: quoted fields with newlines, blank lines, wrong field counts, bad quotes', async () => {
  const file = 'name,amount\n"multi\nline",1\n\nok,2\ntoo,many,fields\nbad,x\n"open,3\nnever,4\n';
  const r = await upload('partial=true&dry_run=true', file);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.dry_run, true);
  assert.equal(r.body.created, 0);
  assert.deepEqual(r.body.errors.map((e: any) => e.row), [6, 7, 8]);
  assert.match(r.body.errors[0].message, /3 fields; the header has 2/);
  assert.match(r.body.errors[2].message, /never closed/);
});

test('header problems refuse the file even with partial=true; an empty file is refused', async () => {
  const spaced = await upload('partial=true', 'first name,amount\nA,1\n');
  assert.equal(spaced.status, 422);
  assert.deepEqual(spaced.body.errors[0], { row: 1, column: 'first name', message: 'a parameter name must not contain spaces' });
  const repeated = await upload('partial=true', 'name,name,amount\nA,B,1\n');
  assert.equal(repeated.status, 422);
  const empty = await upload('', '');
  assert.equal(empty.status, 422);
  assert.match(empty.body.errors[0].message, /empty/);
  // A trailing delimiter on every line is tolerated (Excel exports).
  const trailing = await upload('', 'name,amount,\nA,1,\n');
  assert.equal(trailing.status, 200, trailing.text);
});

test('bad parameters, media types, encodings, roles and workflows answer their problems; nothing created', async () => {
  const before = (await runsOf()).length;
  assert.equal((await upload('delimiter=tab', 'name\tamount\nA\t1\n')).status, 422);
  assert.equal((await upload('encoding=koi8-r', 'name,amount\nA,1\n')).status, 422);
  assert.equal((await upload('partial=maybe', 'name,amount\nA,1\n')).status, 422);
  assert.equal((await upload('', 'name,amount\nA,1\n', 'application/json')).status, 415);
  const notUtf8 = await upload('', CP1251);
  assert.equal(notUtf8.status, 400);
  assert.match(notUtf8.body.detail, /windows-1251/);
  assert.equal((await upload('', 'name,amount\nA,1\n', 'text/csv', 'nope')).status, 404);
  const key = await s.call('POST', '/v1/keys', { json: { name: 'r', role: 'read' } });
  const read = await s.call('POST', '/v1/workflows/payment/runs/import', { raw: 'name,amount\nA,1\n', type: 'text/csv', token: key.body.token });
  assert.equal(read.status, 403);
  assert.equal((await runsOf()).length, before);
  const trig = await s.call('POST', '/v1/keys', { json: { name: 't', role: 'trigger' } });
  const ok = await s.call('POST', '/v1/workflows/payment/runs/import', { raw: 'name,amount\nA,1\n', type: 'text/csv', token: trig.body.token });
  assert.equal(ok.status, 200);
});

test('limits: an oversized file (bytes) and too many rows are 413; nothing created', async () => {
  const t = await startTestServer({ FLOWGATE_CSV_MAX_BYTES: '1000', FLOWGATE_CSV_MAX_ROWS: '5' });
  try {
    assert.equal((await t.putWorkflow('payment', PAYMENT)).status, 201);
    const big = `name,amount\n${'A,1\n'.repeat(400)}`;
    const r1 = await t.call('POST', '/v1/workflows/payment/runs/import?partial=true', { raw: big, type: 'text/csv' });
    assert.equal(r1.status, 413, r1.text);
    assert.equal(r1.body.type, 'https://flowgate.dev/problems/payload-too-large');
    // Streamed without a Content-Length (chunked): refused when the limit is passed.
    const chunked = await fetch(`${t.url}/v1/workflows/payment/runs/import?partial=true`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/csv' },
      body: new Blob([big]).stream(), duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    const rows = await t.call('POST', '/v1/workflows/payment/runs/import?partial=true', { raw: `name,amount\n${'A,1\n'.repeat(6)}`, type: 'text/csv' });
    assert.equal(rows.status, 413);
    assert.match(rows.body.detail, /more than 5 rows/);
    const five = await t.call('POST', '/v1/workflows/payment/runs/import', { raw: `name,amount\n${'A,1\n'.repeat(5)}`, type: 'text/csv' });
    assert.equal(five.status, 200);
    assert.equal(await t.runCount(), 5, 'only the file within the limits created runs');
  } finally {
    await t.close();
  }
});

test('a larger file is created in chunks: 2 000 rows', async () => {
  const rows = Array.from({ length: 2000 }, (_, i) => `n${i},${i}`).join('\n');
  const before = (await runsOf()).length;
  const r = await upload('', `name,amount\n${rows}\n`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.created, 2000);
  assert.equal((await runsOf()).length, before + 2000);
});

// ---------------------------------------------------------------- the CLI

test('flowgate import: uploads the file, prints the summary and the bad rows; --failed-csv writes them', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'pay.csv'), CP1251);
  const base = ['--url', s.url, '--token', ADMIN];
  const refused = await runCli([...base, 'import', 'payment', 'pay.csv', '--encoding', 'windows-1251'], { cwd: dir });
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /total:\s+5/);
  assert.match(refused.stdout, /created:\s+0/);
  assert.match(refused.stdout, /nothing was created/);
  assert.match(refused.stdout, /row 3 \(amount\)/);

  const partial = await runCli([...base, 'import', 'payment', 'pay.csv', '--encoding', 'windows-1251', '--delimiter', ';', '--partial', '--failed-csv', 'failed.csv'], { cwd: dir });
  assert.equal(partial.code, 1, partial.stderr);
  assert.match(partial.stdout, /created:\s+2/);
  assert.match(partial.stdout, /failed:\s+3/);
  const failed = iconv.decode(readFileSync(join(dir, 'failed.csv')), 'win1251');
  assert.match(failed, /^row;name;amount;city;error\r\n2;Олена/);

  writeFileSync(join(dir, 'good.csv'), 'name,amount\nCli,1\n');
  const good = await runCli([...base, 'import', 'payment', 'good.csv'], { cwd: dir });
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /created:\s+1/);
  const json = await runCli([...base, '--json', 'import', 'payment', 'good.csv', '--dry-run'], { cwd: dir });
  assert.equal(json.code, 0);
  assert.equal(JSON.parse(json.stdout).dry_run, true);
  const missing = await runCli([...base, 'import', 'payment', 'nope.csv'], { cwd: dir });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read nope.csv/);
});

test('a record over the 1 MiB row limit is one failed row naming its line and the limit; the rows after it count; the same answer every time', async () => {
  const big = 'x'.repeat(10 * 1024 * 1024);
  const rows = ['name,amount', 'a1,1', 'a2,2', 'a3,3', `big,${big}`, 'b1,4', '"multi', 'line",5', 'b3,6'];
  const file = `${rows.join('\n')}\n`;
  const check = (body: any, created: number): void => {
    assert.equal(body.total, 7);
    assert.equal(body.created, created);
    assert.equal(body.failed, 1);
    // A refused file creates nothing: its good rows are neither created nor duplicates.
    if (created > 0) assert.equal(body.created + body.duplicates + body.failed, body.total, 'created + duplicates + failed = total');
    assert.equal(body.errors.length, 1, JSON.stringify(body.errors.slice(0, 3)).slice(0, 500));
    assert.equal(body.errors[0].row, 5);
    assert.match(body.errors[0].message, /1 MiB|1 048 576|1048576/);
  };
  // All or nothing (the default): refused whole, twice the same.
  const refusals: any[] = [];
  for (let i = 0; i < 2; i++) {
    const before = (await runsOf()).length;
    const r = await upload('', file);
    assert.equal(r.status, 422, r.text.slice(0, 500));
    check(r.body, 0);
    assert.match(r.body.errors[0].message, /line 5/);
    assert.equal((await runsOf()).length, before, 'nothing was created');
    refusals.push(r.body);
  }
  assert.deepEqual(refusals[1], refusals[0], 'identical uploads, identical answers');
  // partial=true with refs: the first upload creates the six good rows, the second finds them as duplicates.
  const withRefs = `ref,${rows[0]}\n${rows.slice(1).map((r, i) => (i === 6 ? r : `big-${i},${r}`)).join('\n')}\n`;
  const first = await upload('partial=true&ref_column=ref', withRefs);
  assert.equal(first.status, 200, first.text.slice(0, 500));
  check(first.body, 6);
  const created = (await runsOf()).filter((x) => /^big-\d$/.test(x.input.ref ?? ''));
  assert.deepEqual(created.map((x) => x.input.name).sort(), ['a1', 'a2', 'a3', 'b1', 'b3', 'multi\nline']);
  const second = await upload('partial=true&ref_column=ref', withRefs);
  assert.equal(second.status, 200, second.text.slice(0, 500));
  assert.deepEqual({ ...second.body, errors: second.body.errors.length }, { total: 7, created: 0, duplicates: 6, failed: 1, errors: 1 });
  // format=csv: the failed row is listed once, with its line.
  const asCsv = await s.call('POST', '/v1/workflows/payment/runs/import?partial=true&dry_run=true&format=csv', { raw: file, type: 'text/csv' });
  assert.equal(asCsv.status, 200);
  assert.equal(asCsv.headers.get('flowgate-import-total'), '7');
  assert.equal(asCsv.headers.get('flowgate-import-failed'), '1');
  assert.equal(asCsv.text.trimEnd().split('\r\n').length, 2, 'the header and the one failed row');
});
