import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSource } from '../../graph/locate.js';
import { convertSource } from './convert.js';

test('YAML → JSON → YAML keeps the definition', () => {
  const yaml = 'id: a\nsteps:\n  - { id: s, type: set, set: { x: "{{ 1 + 1 }}" } }\n';
  const json = convertSource(yaml, 'json')!;
  assert.ok(json.trimStart().startsWith('{'));
  assert.deepEqual(JSON.parse(json), parseSource(yaml));
  assert.deepEqual(parseSource(convertSource(json, 'yaml')!), parseSource(yaml));
  assert.equal(convertSource('a: [', 'json'), null);
});
