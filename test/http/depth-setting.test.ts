// FLOWGATE_MAX_DEPTH sets the nesting limit (docs/operations.md): the server holds bodies to it and
// names it; a value past the highest setting stops the server from starting.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/app/config.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startTestServer({ FLOWGATE_MAX_DEPTH: '8' });
  await s.createWorkflow('sink', 'id: sink\nsteps:\n  - { id: done, type: set, set: { ok: true } }\n');
});
after(() => s.close());

const deep = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

test('the limit is the one configured', async () => {
  const ok = await s.call('POST', '/v1/workflows/sink/runs', { raw: deep(8), type: 'application/json' });
  assert.equal(ok.status, 202, ok.text);
  const refused = await s.call('POST', '/v1/workflows/sink/runs', { raw: deep(9), type: 'application/json' });
  assert.equal(refused.status, 400, refused.text);
  assert.equal(refused.body.max_depth, 8);
  assert.match(refused.body.detail, /deeper than 8 levels/);
  const xml = await s.call('POST', '/v1/workflows/sink/runs', { raw: `<r>${'<a>'.repeat(9)}x${'</a>'.repeat(9)}</r>`, type: 'application/xml' });
  assert.equal(xml.status, 400, xml.text);
  assert.match(xml.body.detail, /deeper than 8 levels/);
  const yaml = await s.putWorkflow('deep', `id: deep\nsteps: []\nx: ${'['.repeat(9)}${']'.repeat(9)}\n`);
  assert.equal(yaml.status, 422, yaml.text);
  assert.match(yaml.text, /deeper than 8 levels/);
});

test('a setting past 256 or below 1 is refused at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-depth-setting-'));
  try {
    for (const bad of ['257', '0', 'x']) {
      assert.throws(() => loadConfig({ dataDir: dir, examples: false }, { FLOWGATE_MAX_DEPTH: bad, FLOWGATE_ADMIN_TOKEN: 't' }), /FLOWGATE_MAX_DEPTH/);
    }
    assert.equal(loadConfig({ dataDir: dir, examples: false }, { FLOWGATE_MAX_DEPTH: '256', FLOWGATE_ADMIN_TOKEN: 't' }).maxDepth, 256);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
