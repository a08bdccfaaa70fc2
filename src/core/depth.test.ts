import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDocument } from './definition.js';
import { checkDepth, DEFAULT_MAX_DEPTH, exceedsDepth, maxDepth, MAX_DEPTH_SETTING, setMaxDepth } from './depth.js';
import { FlowgateError } from './errors.js';

const nested = (n: number, leaf: unknown = 1): unknown => {
  let v = leaf;
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

describe('the nesting limit', () => {
  it('counts objects and arrays, not scalars', () => {
    assert.equal(exceedsDepth(1, 0), false);
    assert.equal(exceedsDepth('x', 0), false);
    assert.equal(exceedsDepth(null, 0), false);
    assert.equal(exceedsDepth({}, 0), true);
    assert.equal(exceedsDepth({}, 1), false);
    assert.equal(exceedsDepth({ a: [1] }, 1), true);
    assert.equal(exceedsDepth({ a: [1] }, 2), false);
    assert.equal(exceedsDepth({ a: [], b: { c: { d: 1 } } }, 2), true, 'the deepest branch decides');
    assert.equal(exceedsDepth({ a: [], b: { c: { d: 1 } } }, 3), false);
    for (const n of [63, 64, 65, 3_300, 100_000]) assert.equal(exceedsDepth(nested(n)), n > 64, String(n));
  });

  it('takes a cycle as endlessly deep, without running out of stack', () => {
    const a: unknown[] = [];
    a.push(a);
    assert.equal(exceedsDepth(a), true);
    const o: Record<string, unknown> = { x: 1 };
    o.self = { back: o };
    assert.equal(exceedsDepth(o, 1000), true);
  });

  it('a key named __proto__ is data like any other', () => {
    const v = JSON.parse(`{"__proto__": ${JSON.stringify(nested(70))}}`);
    assert.equal(exceedsDepth(v), true);
  });

  it('checkDepth throws the too_deep problem naming the limit; the limit is settable within bounds', () => {
    assert.equal(maxDepth(), DEFAULT_MAX_DEPTH);
    assert.throws(() => checkDepth(nested(65), 'the body'), (e: unknown) => {
      assert.ok(e instanceof FlowgateError);
      assert.equal(e.code, 'too_deep');
      assert.equal(e.status, 400);
      assert.equal(e.extra?.max_depth, 64);
      assert.match(e.message, /^the body nests objects or arrays deeper than 64 levels/);
      return true;
    });
    try {
      setMaxDepth(3);
      assert.doesNotThrow(() => checkDepth(nested(3), 'x'));
      assert.throws(() => checkDepth(nested(4), 'x'), /deeper than 3 levels/);
    } finally {
      setMaxDepth(DEFAULT_MAX_DEPTH);
    }
    for (const bad of [0, -1, 1.5, MAX_DEPTH_SETTING + 1]) assert.throws(() => setMaxDepth(bad), RangeError);
  });
});

describe('definition documents past the nesting limit', () => {
  const problem = (text: string, type?: string): string => {
    const r = parseDocument(text, type);
    assert.equal(r.ok, false, text.slice(0, 40));
    return r.ok ? '' : r.problems.map((p) => p.message).join('; ');
  };

  it('a YAML alias inside its own anchor is refused as endlessly deep', () => {
    assert.match(problem('a: &a [*a]\n'), /deeper than 64 levels/);
    assert.match(problem('id: x\nsteps: &s\n  - { id: a, type: set, set: { again: *s } }\n'), /deeper than 64 levels/);
  });

  it('deep YAML (flow and block) and deep JSON are refused naming the limit', () => {
    assert.match(problem(`x: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`), /deeper than 64 levels/);
    assert.match(problem(`x: ${'['.repeat(70)}${']'.repeat(70)}\n`), /deeper than 64 levels/);
    assert.match(problem(`x:\n${Array.from({ length: 1_500 }, (_, i) => `${' '.repeat(i + 1)}-`).join('\n')} 1\n`), /deeper than 64 levels/);
    const json = `{"id":"x","steps":[],"x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    assert.match(problem(json, 'application/json'), /deeper than 64 levels \(the nesting limit, FLOWGATE_MAX_DEPTH\) \(at line 1, column 341\)/);
    assert.match(problem(json), /deeper than 64 levels/, 'sniffed as JSON');
    // Invalid JSON that is also deep: the scanner reports the depth where it is reached.
    assert.match(problem(`{"x":${'['.repeat(100)}`, 'application/json'), /deeper than 64 levels/);
  });

  it('a definition within the limit parses', () => {
    assert.equal(parseDocument(`id: x\nsteps: []\nx: ${'['.repeat(63)}${']'.repeat(63)}\n`).ok, true);
  });
});
