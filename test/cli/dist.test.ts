// The production start (README "Running it in production"): `npm run build` compiles the server to
// dist/, which runs with plain node (no TypeScript loader): its store thread and code-step sandbox
// included; `flowgate --version` answers; the package ships dist/ and the built console, not tests.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { callProcess, killServerProcesses, startServerProcess } from '../helpers/process.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const TOKEN = 'fga_dist_test_admin';
const dirs: string[] = [];

before(() => {
  // What `npm start` does first (a no-op when dist/ is newer than every source).
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build-server.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
after(() => {
  killServerProcesses();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('flowgate --version prints the package version, from the compiled CLI and through the npm bin', () => {
  // No --import: plain node runs dist/ (a TypeScript file reached by it would fail to load).
  assert.equal(execFileSync(process.execPath, ['dist/cli/main.js', '--version'], { cwd: ROOT, encoding: 'utf8' }).trim(), VERSION);
  assert.equal(execFileSync(process.execPath, ['bin/flowgate.mjs', '-V'], { cwd: ROOT, encoding: 'utf8' }).trim(), VERSION);
});

test('the compiled server serves: a workflow with a code step runs through the store thread and the sandbox', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-dist-'));
  dirs.push(dir);
  const node = await startServerProcess(dir, { token: TOKEN, compiled: true, env: { NODE_OPTIONS: '' } });
  const put = await callProcess(TOKEN, node.url, 'PUT', '/v1/workflows/compiled', 'id: compiled\nsteps:\n  - id: sum\n    type: code\n    code: "return { total: data.a + data.b }"\n  - id: answer\n    type: reply\n    data: { total: "{{ total }}" }\n');
  assert.equal(put.status, 201, JSON.stringify(put.body));
  const run = await callProcess(TOKEN, node.url, 'POST', '/v1/workflows/compiled/runs?wait=10', { a: 2, b: 40 });
  assert.equal(run.status, 200, JSON.stringify(run.body));
  assert.deepEqual(run.body, { total: 42 });
  const page = await fetch(`${node.url}/`);
  assert.equal(page.status, existsSync(join(ROOT, 'ui/dist/index.html')) ? 200 : 503, 'the console is served from the compiled server too');
});

test('the package ships the compiled server and the console, and leaves out sources, tests and benches', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  const files = (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
  for (const needed of ['bin/flowgate.mjs', 'dist/cli/main.js', 'dist/store/sqlite/thread-worker.mjs', 'dist/app/sandbox-worker.mjs', 'package.json', 'README.md']) {
    assert.ok(files.includes(needed), `${needed} is in the package`);
  }
  for (const f of files) assert.doesNotMatch(f, /^(src|test|bench|ui\/src|scripts)\/|\.test\.|\.map$/, `${f} is not shipped`);
});
