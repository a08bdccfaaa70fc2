import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataFromRows, placeProblems, rowsFromData, rowsFromParams, topKey } from './params.js';

const params = {
  amount: { type: 'number', required: true, minimum: 0 },
  currency: { type: 'string', default: 'EUR', enum: ['EUR', 'USD'] },
  flags: { type: 'object', default: { a: 1 } },
};

test('declared params become rows in order, with type, required mark, default as placeholder and enum options', () => {
  const rows = rowsFromParams(params);
  assert.deepEqual(rows.map((r) => [r.key, r.type, r.required, r.placeholder, r.options, r.declared, r.value]), [
    ['amount', 'number', true, undefined, undefined, true, ''],
    ['currency', 'string', false, 'EUR', ['EUR', 'USD'], true, ''],
    ['flags', 'object', false, '{"a":1}', undefined, true, ''],
  ]);
  assert.deepEqual(rowsFromParams(undefined), []);
  assert.deepEqual(rowsFromParams(['x']), []);
});

test('rows become the input: values as text, empty values left out for the default, blank rows ignored, bad keys reported', () => {
  const rows = rowsFromParams(params);
  rows[0].value = '10';
  rows.push({ uid: 'x1', key: ' note ', value: 'hi', declared: false }, { uid: 'x2', key: '', value: '', declared: false });
  assert.deepEqual(dataFromRows(rows), { data: { amount: '10', note: 'hi' }, problems: [] });
  const bad = [...rows, { uid: 'x3', key: 'note', value: 'again', declared: false }, { uid: 'x4', key: '', value: 'v', declared: false }];
  assert.deepEqual(dataFromRows(bad).problems, [{ uid: 'x3', message: 'note is given twice' }, { uid: 'x4', message: 'needs a name' }]);
});

test('JSON typed in the editor fills the declared rows and adds the others', () => {
  const declared = rowsFromParams(params);
  const rows = rowsFromData({ currency: 'USD', amount: 5, extra: { k: true } }, declared);
  assert.deepEqual(rows.map((r) => [r.key, r.value, r.declared]), [
    ['amount', '5', true], ['currency', 'USD', true], ['flags', '', true], ['extra', '{"k":true}', false],
  ]);
});

test('a 422 problem lands on the row its path names; others are kept apart', () => {
  const rows = rowsFromParams(params);
  assert.equal(topKey('flags.a'), 'flags');
  assert.equal(topKey('items[0].x'), 'items');
  const { byRow, rest } = placeProblems(rows, [
    { path: 'amount', message: 'is required' },
    { path: 'flags.a', message: 'must be a string' },
    { path: 'zeta', message: 'is not a declared param' },
    { path: '', message: 'params must be an object' },
  ]);
  assert.deepEqual(byRow.get(rows[0].uid), ['is required']);
  assert.deepEqual(byRow.get(rows[2].uid), ['flags.a must be a string']);
  assert.equal(byRow.get(rows[1].uid), undefined);
  assert.deepEqual(rest.map((e) => e.path), ['zeta', '']);
});
