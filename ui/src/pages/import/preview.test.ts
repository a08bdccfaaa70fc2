import assert from 'node:assert/strict';
import { test } from 'node:test';
import { delimiterName, previewModel } from './preview.js';

test('a preview answer becomes columns, rows with their cells and problems, and the problems past the preview', () => {
  const m = previewModel({
    total: 40, created: 0, duplicates: 1, failed: 2, dry_run: true, delimiter: ';', encoding: 'windows-1251',
    errors: [{ row: 3, column: 'amount', message: 'must be a number' }, { row: 30, message: 'has 3 fields, the header 2' }],
    preview: {
      columns: ['name', 'amount'],
      rows: [
        { row: 2, fields: ['Иван', '10'], values: { name: 'Иван', amount: '10' }, status: 'ok', params: { name: 'Иван', amount: 10 }, errors: [] },
        { row: 3, values: { name: 'Пётр', amount: 'x' }, status: 'failed', params: null, errors: [{ column: 'amount', message: 'must be a number' }] },
        { row: 4, fields: [], values: {}, status: 'failed', params: null, errors: [{ message: 'unclosed quote' }] },
      ],
    },
  });
  assert.deepEqual(m.columns, ['name', 'amount']);
  assert.deepEqual(m.rows, [
    { row: 2, cells: ['Иван', '10'], status: 'ok', problems: [] },
    { row: 3, cells: ['Пётр', 'x'], status: 'failed', problems: ['amount: must be a number'] },
    { row: 4, cells: [], status: 'failed', problems: ['unclosed quote'] },
  ]);
  assert.deepEqual(m.others, [{ row: 30, column: undefined, message: 'has 3 fields, the header 2' }]);
  assert.deepEqual([m.total, m.failed, m.duplicates, m.delimiter, m.encoding, m.countsOnly], [40, 2, 1, ';', 'windows-1251', false]);
  assert.equal(delimiterName(m.delimiter), 'semicolon');
});

test("a previewed row without its own errors gets the answer's errors for its line", () => {
  const m = previewModel({ total: 2, failed: 1, duplicates: 1, errors: [{ row: 2, column: 'a', message: 'is required' }], preview: { columns: ['a'], rows: [{ row: 2, fields: [''] }, { row: 3, fields: ['x'], status: 'duplicate', errors: [] }] } });
  assert.deepEqual(m.rows[0].problems, ['a: is required']);
  assert.equal(m.rows[0].status, 'failed');
  assert.equal(m.rows[1].status, 'duplicate');
  assert.deepEqual(m.others, []);
});

test('an answer without parsed rows (a plain dry run, a refusal) still lists every problem, file-level ones without a row', () => {
  const m = previewModel({ type: 'x', title: 'Invalid CSV', status: 422, total: 3, failed: 1, duplicates: 0, errors: [{ row: 4, message: 'unclosed quote' }, { message: 'ref_column nope is not a column' }] });
  assert.equal(m.countsOnly, true);
  assert.deepEqual(m.rows, []);
  assert.deepEqual(m.others.map((e) => [e.row, e.message]), [[4, 'unclosed quote'], [null, 'ref_column nope is not a column']]);
  assert.deepEqual([m.total, m.failed, m.delimiter], [3, 1, null]);
  assert.deepEqual(previewModel(null).others, []);
});
