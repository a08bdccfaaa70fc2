import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSource } from '../../graph/locate.js';
import { placeProblems } from './problems.js';

const SRC = `id: orders
steps:
  - id: fetch
    type: http
    url: https://x.test
    next: nowhere
  - id: done
    type: reply
`;

test('problems land on their line and on their step', () => {
  const placed = placeProblems(SRC, parseSource(SRC), [
    { path: 'steps[0].next', message: "names no step 'nowhere'" },
    { path: 'id', message: 'bad id' },
    { path: '', message: 'YAML syntax error: something at line 7, column 3' },
  ]);
  assert.deepEqual(placed.editor.map((p) => p.line), [6, 1, 7]);
  assert.equal(SRC.slice(placed.editor[0].from, placed.editor[0].to), 'next: nowhere');
  assert.match(placed.editor[0].message, /^steps\[0\]\.next: names no step/);
  assert.deepEqual(Object.keys(placed.nodes), ['fetch']);
  assert.equal(placed.nodes.fetch.length, 1);
});
