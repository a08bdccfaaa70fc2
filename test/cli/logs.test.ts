// Logs (docs/operations.md "Logs"): stdout is one stream of JSON lines with ISO times and level names;
// what a person reads at the start (the generated admin token, the URL) goes to stderr, and the token
// never into the log; one access line per request, with no query and no credential that sits in a
// URL path; a failed run at warn with its error; an invalid log level stops the start.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const ROOT = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Started { url: string; stdout: () => string; stderr: () => string; stop: () => Promise<void> }

/** The server as a user starts it, with a generated admin token (no FLOWGATE_ADMIN_TOKEN). */
function start(env: Record<string, string> = {}): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-logs-'));
  dirs.push(dir);
  const { FLOWGATE_ADMIN_TOKEN: _, ...rest } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--data-dir', dir, '--no-examples'], {
    cwd: ROOT, env: { ...rest, FLOWGATE_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => { out += c; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 20 s:\n${err}`)), 20_000);
    child.stderr.on('data', (c) => {
      err += c;
      const m = /Flowgate is serving on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1], stdout: () => out, stderr: () => err,
          stop: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }),
        });
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}:\n${err}`)); });
  });
}

test('stdout is JSON lines only; the token is on stderr once and in no log line; each request is one access line without secrets', async () => {
  const s = await start();
  const token = /Admin token[^\n]*\n\s+(fga_\S+)/.exec(s.stderr())?.[1];
  assert.ok(token, `the generated token is shown on stderr:\n${s.stderr()}`);
  const call = (method: string, path: string, body?: string, type = 'application/yaml') => fetch(s.url + path, {
    method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': type } : {}) }, body,
  });
  assert.equal((await call('PUT', '/v1/workflows/hold', 'id: hold\nsteps:\n  - id: hold\n    type: wait\n    timeout: 1h\n')).status, 201);
  assert.equal((await call('PUT', '/v1/workflows/broken', 'id: broken\nsteps:\n  - id: boom\n    type: end\n    status: failed\n    error: { code: no_luck, message: "it went wrong" }\n')).status, 201);
  let callbackToken = '';
  try {
    const accepted = await (await call('POST', '/v1/workflows/hold/runs?ref=secret-ref-1', '{}', 'application/json')).json() as { id: string };
    let run: { status: string; callback_url: string };
    for (;;) {
      run = await (await call('GET', `/v1/runs/${accepted.id}`)).json() as typeof run;
      if (run.status === 'waiting') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    callbackToken = new URL(run.callback_url).pathname.split('/').pop()!;
    assert.equal((await fetch(run.callback_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 202);
    const failed = await call('POST', '/v1/workflows/broken/runs?wait=5', '{}', 'application/json');
    assert.equal(failed.status, 500);
  } finally {
    await s.stop();
  }

  const lines = s.stdout().trimEnd().split('\n');
  const entries = lines.map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, any>;
    } catch {
      assert.fail(`stdout line ${i + 1} is not JSON: ${l}`);
    }
  });
  for (const e of entries) {
    assert.match(String(e.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO times');
    assert.ok(['info', 'warn', 'error', 'debug'].includes(e.level), `level name, got ${e.level}`);
  }
  assert.ok(!s.stdout().includes(token), 'the admin token is never logged');
  assert.ok(!s.stdout().includes(callbackToken), 'a callback token (a credential in a URL) is never logged');
  assert.ok(!s.stdout().includes('secret-ref-1'), 'query strings are not logged');
  assert.equal(s.stderr().split(token).length - 1, 1, 'the token is shown once');
  const access = entries.filter((e) => e.msg === 'request');
  assert.ok(access.length >= 5, `one access line per request (${access.length})`);
  const put = access.find((e) => e.method === 'PUT' && e.path === '/v1/workflows/hold');
  assert.ok(put && put.status === 201 && put.route === 'workflows.put' && typeof put.duration_ms === 'number', JSON.stringify(put));
  assert.ok(access.some((e) => e.path === '/v1/callbacks/:token' && e.status === 202), 'a public route is logged by its pattern');
  const failure = entries.find((e) => e.msg === 'run failed');
  assert.equal(failure?.level, 'warn');
  assert.equal(failure?.workflow, 'broken');
  assert.equal(typeof failure?.error?.code, 'string', 'with the run\'s error');
});

test('FLOWGATE_ACCESS_LOG=off writes no access line', async () => {
  const s = await start({ FLOWGATE_ACCESS_LOG: 'off' });
  try {
    await fetch(`${s.url}/healthz`);
  } finally {
    await s.stop();
  }
  assert.ok(s.stdout().length > 0);
  assert.ok(!s.stdout().split('\n').some((l) => l.includes('"msg":"request"')));
});

test('an invalid log level stops the start with a clear message', () => {
  for (const [name, value] of [['FLOWGATE_LOG_LEVEL', 'verbose'], ['FLOWGATE_ACCESS_LOG', 'loud']]) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--data-dir', mkdtempSync(join(tmpdir(), 'flowgate-logs-')), '--no-examples'], {
      cwd: ROOT, env: { ...process.env, [name]: value }, encoding: 'utf8', timeout: 20_000,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`${name} must be one of fatal, error, warn, info, debug, trace, silent`));
  }
});
