import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exactIntegers, isInexactInteger } from './exact-integers.js';

test('integers beyond the exact range become strings of their digits; everything else is untouched', () => {
  const text = '{"ref": 3159895014223541328, "neg": -3159895014223541329, "safe": 9007199254740991, "small": 42, "f": 3159895014223541328.5, "e": 1e21, "s": "3159895014223541328 in a string", "arr": [18446744073709551616, 1]}';
  assert.deepEqual(JSON.parse(exactIntegers(text)), {
    ref: '3159895014223541328', neg: '-3159895014223541329', safe: 9007199254740991, small: 42,
    f: 3159895014223541328.5, e: 1e21, s: '3159895014223541328 in a string', arr: ['18446744073709551616', 1],
  });
  assert.equal(JSON.parse(exactIntegers('9007199254740992')), '9007199254740992', 'one past MAX_SAFE_INTEGER');
  assert.equal(JSON.parse(exactIntegers('9007199254740991')), 9007199254740991);
});

test('text without long digit runs is returned as is (the fast path), and escapes inside strings are respected', () => {
  const plain = '{"amount": 500, "note": "x"}';
  assert.equal(exactIntegers(plain), plain);
  const escaped = '{"a": "quote \\" 12345678901234567890 \\\\", "b": 12345678901234567890}';
  assert.deepEqual(JSON.parse(exactIntegers(escaped)), { a: 'quote " 12345678901234567890 \\', b: '12345678901234567890' });
});

test('invalid JSON stays invalid: a leading zero is not turned into a valid string', () => {
  assert.throws(() => JSON.parse(exactIntegers('{"a": 012345678901234567890}')));
  assert.throws(() => JSON.parse(exactIntegers('[12345678901234567890 1]')));
});

test('isInexactInteger: only integer literals beyond the exact range', () => {
  assert.equal(isInexactInteger('3159895014223541328'), true);
  assert.equal(isInexactInteger(' -9007199254740992 '), true);
  assert.equal(isInexactInteger('9007199254740991'), false);
  assert.equal(isInexactInteger('3159895014223541328.5'), false);
  assert.equal(isInexactInteger('12'), false);
});
