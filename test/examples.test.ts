// The examples applied on start must stay valid, and the README's workflow must be the one shipped.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDocument, validateDefinition } from '../src/core/definition.js';
import { SUPPORTED_STEP_TYPES } from '../src/steps/index.js';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'examples');

test('every example workflow is valid, without warnings', () => {
  const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.ok(files.length >= 3);
  for (const file of files) {
    const parsed = parseDocument(readFileSync(join(dir, file), 'utf8'), file.endsWith('.json') ? 'application/json' : 'application/yaml');
    assert.ok(parsed.ok, `${file}: ${JSON.stringify(!parsed.ok && parsed.problems)}`);
    const checked = validateDefinition(parsed.doc, { supportedStepTypes: SUPPORTED_STEP_TYPES });
    assert.ok(checked.ok, `${file}: ${JSON.stringify(!checked.ok && checked.problems)}`);
    assert.deepEqual(checked.warnings, [], file);
  }
});

test("the README's first workflow is examples/loan-check.yaml", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'the README shows a YAML workflow');
  assert.equal(block, readFileSync(join(dir, 'loan-check.yaml'), 'utf8'));
});
