import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineColumn, locateJsonError, locateTooDeep } from './json-error.js';

describe('locateJsonError', () => {
  it('finds nothing wrong in valid JSON', () => {
    for (const ok of ['{}', '[]', ' {"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9"]} ', '"s"', '0', '{"a":{"b":{}}}']) {
      assert.doesNotThrow(() => JSON.parse(ok));
      assert.equal(locateJsonError(ok), null, ok);
    }
  });

  it('points at the first bad character with a reason', () => {
    const cases: Array<[string, number, number, string]> = [
      ['{\n  "id": "x",\n  "steps": [,]\n}', 3, 13, 'unexpected ","'],
      ['{"a": 1,}', 1, 9, 'trailing comma before }'],
      ['[1, 2,]', 1, 7, 'trailing comma before ]'],
      ["{'a': 1}", 1, 2, 'expected a property name in double quotes, found "\'"'],
      ['{"a" 1}', 1, 6, "expected ':' after the property name, found \"1\""],
      ['{"a": 1 "b": 2}', 1, 9, "expected ',' or '}', found \"\\\"\""],
      ['{"a": "x', 1, 7, 'unterminated string'],
      ['{"a": "x\ny"}', 1, 9, 'control character in string (escape newlines as \\n)'],
      ['{"a": tru}', 1, 7, 'unexpected "t"'],
      ['{"a": 01}', 1, 8, "expected ',' or '}', found \"1\""],
      ['{"a": 1} x', 1, 10, 'unexpected "x" after the end of the document'],
      ['{"a": [1, 2', 1, 12, "expected ',' or ']', found end of text"],
      ['', 1, 1, 'unexpected end of text'],
    ];
    for (const [text, line, column, reason] of cases) {
      assert.throws(() => JSON.parse(text));
      const loc = locateJsonError(text);
      assert.ok(loc, text);
      assert.deepEqual({ line: loc.line, column: loc.column, reason: loc.reason }, { line, column, reason }, text);
    }
  });

  it('survives very deep nesting', () => {
    const deep = '['.repeat(100_000);
    const loc = locateJsonError(deep);
    assert.ok(loc);
    assert.equal(loc.pos, 64, 'the bracket that opens level 65');
    assert.match(loc.reason, /deeper than 64 levels/);
    assert.equal(locateJsonError('['.repeat(3) + ']'.repeat(3), 3), null);
    assert.equal(locateJsonError('[{"a":[1]}]', 2)?.pos, 6);
  });

  it('locateTooDeep finds the bracket past the limit in valid JSON of any depth, skipping strings', () => {
    assert.equal(locateTooDeep('{"a":{"b":1}}', 2), null);
    assert.deepEqual(locateTooDeep('{"a":\n {"b":[1]}}', 2), { pos: 12, line: 2, column: 7 });
    assert.equal(locateTooDeep('{"a":"[[[[\\"[[[["}', 1), null, 'brackets in strings (and escaped quotes) do not count');
    const n = 200_000;
    assert.equal(locateTooDeep('['.repeat(n) + ']'.repeat(n), 64)?.pos, 64);
  });

  it('computes 1-based line and column', () => {
    assert.deepEqual(lineColumn('ab\ncd', 4), { line: 2, column: 2 });
    assert.deepEqual(lineColumn('ab', 0), { line: 1, column: 1 });
  });
});
