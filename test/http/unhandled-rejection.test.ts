// The server process survives a promise rejected with no handler (docs/operations.md, "Lifecycle"):
// it logs the rejection at error level and keeps serving. The rejection is made inside the real
// `flowgate serve` process by a preloaded module, on SIGUSR2.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { callProcess, killServerProcesses, startServerProcess } from '../helpers/process.js';

const TOKEN = 'unhandled-rejection-admin-token';
const PRELOAD = `data:text/javascript,${encodeURIComponent("process.on('SIGUSR2', () => { Promise.reject(new Error('injected rejection with no handler')); });")}`;

test('a promise rejected with no handler is logged at error level and the server keeps serving', { timeout: 60_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowgate-unhandled-'));
  t.after(() => {
    killServerProcesses();
    rmSync(dataDir, { recursive: true, force: true });
  });
  let out = '';
  const p = await startServerProcess(dataDir, {
    token: TOKEN, logLevel: 'error', onOutput: (c) => (out += c),
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${PRELOAD}`.trim() },
  });
  let exited: number | string | null = null;
  p.child.once('exit', (code, signal) => (exited = code ?? signal));
  p.child.kill('SIGUSR2');
  const deadline = Date.now() + 10_000;
  while (!/a promise was rejected with no handler/.test(out)) {
    assert.equal(exited, null, `the server exited (${exited}):\n${p.output()}`);
    assert.ok(Date.now() < deadline, `no log of the rejection:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const line = out.split('\n').find((l) => l.includes('a promise was rejected with no handler'))!;
  const entry = JSON.parse(line);
  assert.equal(entry.level, 'error', 'logged at error level (by its name)');
  assert.match(entry.err.message, /injected rejection with no handler/);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(exited, null, 'the server is still running');
  const health = await fetch(`${p.url}/healthz`);
  assert.equal(health.status, 200);
  const put = await callProcess(TOKEN, p.url, 'PUT', '/v1/workflows/after', 'steps:\n  - id: answer\n    type: reply\n    data: { ok: true }\n');
  assert.equal(put.status, 201, JSON.stringify(put.body));
  const run = await callProcess(TOKEN, p.url, 'POST', '/v1/workflows/after/runs?wait=5', {});
  assert.equal(run.status, 200, JSON.stringify(run.body));
  assert.deepEqual(run.body, { ok: true });
});
