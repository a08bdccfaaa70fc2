import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from './canonical-json.js';
import { readRef, REF_MAX } from './ref.js';

test('readRef: no ref, a string or a number as text, or the problem', () => {
  for (const none of [undefined, null, '']) assert.deepEqual(readRef(none), { ok: true, ref: null });
  assert.deepEqual(readRef('order-1'), { ok: true, ref: 'order-1' });
  assert.deepEqual(readRef(42), { ok: true, ref: '42' });
  assert.deepEqual(readRef('x'.repeat(REF_MAX)), { ok: true, ref: 'x'.repeat(REF_MAX) });
  assert.deepEqual(readRef('x'.repeat(REF_MAX + 1)), { ok: false, problem: 'length' });
  for (const bad of [true, {}, ['a']]) assert.deepEqual(readRef(bad), { ok: false, problem: 'type' });
});

test('canonicalJson: key order at any depth does not matter, everything else does', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }), '{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
  assert.notEqual(canonicalJson({ a: [1, 2] }), canonicalJson({ a: [2, 1] }));
  assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
});
