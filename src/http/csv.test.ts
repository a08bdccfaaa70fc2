// The CSV tokenizer (csv.ts): records and their lines do not depend on how the text is cut into
// chunks; it reads what csv-parse reads (RFC 4180, relaxed quotes, empty lines skipped); a record over
// the row limit is one bad record at its first line, and the records after it are read as usual.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { CsvTokenizer, type CsvItem } from './csv.js';

function tokenize(text: string, cuts: number[] = [], max = 1_048_576, delimiter = ','): CsvItem[] {
  const t = new CsvTokenizer(delimiter.charCodeAt(0), max);
  const out: CsvItem[] = [];
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(...t.push(text.slice(at, cut)));
    at = cut;
  }
  out.push(...t.push(text.slice(at)), ...t.end());
  return out;
}

const records = (items: CsvItem[]): Array<[number, string[]]> => items.map((i) => (i.kind === 'record' ? [i.line, i.fields] : [i.line, ['BAD']]));

test('the cases the import relies on', () => {
  const cases: Array<[string, Array<[number, string[]]>]> = [
    ['a,b\nc,d\n', [[1, ['a', 'b']], [2, ['c', 'd']]]],
    ['a,b\r\nc,d', [[1, ['a', 'b']], [2, ['c', 'd']]]],
    ['a,b\rc,d\r', [[1, ['a', 'b']], [2, ['c', 'd']]]],
    ['a\n\n\nb\n', [[1, ['a']], [4, ['b']]]],
    ['a,\n,\n""\n', [[1, ['a', '']], [2, ['', '']], [3, ['']]]],
    ['"a""b",c\n', [[1, ['a"b', 'c']]]],
    ['a"b,c\n', [[1, ['a"b', 'c']]]],
    ['"ab"c,d\n', [[1, ['"ab"c', 'd']]]],
    ['x,"y"z"w\n', [[1, ['x', '"y"z"w']]]],
    ['name\n"multi\r\nline",1\nnext\n', [[1, ['name']], [2, ['multi\r\nline', '1']], [4, ['next']]]],
    ['a\n"open,3\nnever,4\n', [[1, ['a']], [2, ['BAD']]]],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(records(tokenize(text)), expected, JSON.stringify(text));
    // Cut everywhere: the same answer.
    for (let i = 1; i < text.length; i++) assert.deepEqual(records(tokenize(text, [i])), expected, `${JSON.stringify(text)} cut at ${i}`);
  }
  const open = tokenize('a\n\n"open,3\nnever,4\n');
  assert.deepEqual(open[1], { kind: 'bad', line: 3, message: 'a quote opened on line 3 is never closed (the rest of the file is part of this field)' });
  assert.deepEqual(records(tokenize('a;b|c\n', [], 100, ';')), [[1, ['a', 'b|c']]]);
});

test('generated files: the same records as csv-parse, whatever the chunks', () => {
  const text = fc.array(fc.constantFrom('a', 'b', ',', '"', '\n', '""', 'é'), { maxLength: 60 }).map((a) => a.join(''));
  fc.assert(fc.property(text, fc.array(fc.nat(), { maxLength: 5 }), (t, rawCuts) => {
    let expected: Array<[number, string[]]> = [];
    const skipped: number[] = [];
    const reference = parse(t, {
      delimiter: ',', info: true, relax_quotes: true, relax_column_count: true, skip_records_with_error: true,
      skip_empty_lines: true, on_skip: () => { skipped.push(1); },
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
    // csv-parse gives the line a record ends on; less the newlines inside its fields, the one it starts on.
    expected = reference.map((r) => [r.info.lines - r.record.reduce((n, f) => n + f.split('\n').length - 1, 0), r.record]);
    const got = tokenize(t, rawCuts.map((c) => (t.length ? c % t.length : 0)));
    assert.deepEqual(got.filter((i) => i.kind === 'record').map((i) => [i.line, (i as { fields: string[] }).fields]), expected);
    assert.equal(got.filter((i) => i.kind === 'bad').length, skipped.length);
  }), { seed: 20261203, numRuns: 3000 });
});

test('a record over the limit is one bad record at its first line; its neighbours are intact, whatever the chunks', () => {
  const long = 'x'.repeat(50);
  const text = `h1,h2\na,1\n${long},2\nb,3\n"quoted\n${long}\nfield",4\nc,5\n`;
  const expected = [[1, ['h1', 'h2']], [2, ['a', '1']], [3, ['BAD']], [4, ['b', '3']], [5, ['BAD']], [8, ['c', '5']]];
  for (let i = 0; i <= text.length; i += 3) {
    const items = tokenize(text, [i, i + 7], 40);
    assert.deepEqual(records(items), expected, `cut at ${i}`);
    const bad = items.filter((x) => x.kind === 'bad');
    assert.deepEqual(bad.map((b) => (b as { message: string }).message), [
      'the row starting on line 3 is 52 characters long; the limit for one row is 40 characters (40 characters)',
      'the row starting on line 5 is 67 characters long; the limit for one row is 40 characters (40 characters)',
    ]);
  }
  // At the limit it is a record.
  assert.deepEqual(records(tokenize(`${'y'.repeat(38)},1\n`, [], 40)), [[1, ['y'.repeat(38), '1']]]);
  assert.equal(tokenize(`${'y'.repeat(39)},1\n`, [], 40)[0].kind, 'bad');
});

test('a 10 MiB record in 64 KiB chunks is one bad record and keeps no more than the limit', () => {
  const t = new CsvTokenizer(44, 1_048_576);
  const items: CsvItem[] = [...t.push('name,amount\nbig,')];
  const chunk = 'z'.repeat(65_536);
  for (let i = 0; i < 160; i++) items.push(...t.push(chunk));
  items.push(...t.push('\nnext,1\n'), ...t.end());
  assert.deepEqual(records(items), [[1, ['name', 'amount']], [2, ['BAD']], [3, ['next', '1']]]);
  assert.match((items[1] as { message: string }).message, /^the row starting on line 2 is 10485764 characters long; the limit for one row is 1048576 characters \(1 MiB\)$/);
});
