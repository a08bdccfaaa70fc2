// The CLI as a real process: exit codes, stdin, and that `runs watch` lets the process end.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { closedPort, json, problem, startFakeApi, tempDir, type FakeApi } from './harness.js';

const entry = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/flowgate.mjs', import.meta.url));
const mainTs = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');

interface Exit { code: number | null; stdout: string; stderr: string }

function spawnCli(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; cwd?: string; viaBin?: boolean } = {}): Promise<Exit> {
  const argv = opts.viaBin ? [bin, ...args] : ['--import', tsx, entry, ...args];
  const child = spawn(process.execPath, argv, {
    cwd: opts.cwd ?? tempDir(),
    env: { PATH: process.env.PATH, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => void (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
  child.stdin.end(opts.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout, stderr });
  }));
}

let api: FakeApi;
before(async () => {
  api = await startFakeApi();
});
after(() => api.close());

test('connection refused: exit 2 and a clear message', async () => {
  const url = `http://127.0.0.1:${await closedPort()}`;
  const r = await spawnCli(['runs', 'list'], { env: { FLOWGATE_URL: url } });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^error: cannot reach Flowgate at ${url}: is the server running\\?\\nhint: ECONNREFUSED`));
});

test('usage errors and API errors exit 1', async () => {
  const missing = await spawnCli(['runs', 'show'], { env: { FLOWGATE_URL: api.url } });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /missing required argument 'id'/);

  const dir = tempDir();
  writeFileSync(join(dir, 'wf.yaml'), 'id: broken\nsteps: []\n');
  api.on('PUT /v1/workflows/broken', (_q, res) => problem(res, 422, 'Invalid workflow definition', 'The definition has 1 problem', [
    { path: 'steps', message: 'must hold at least one step' },
  ]));
  const invalid = await spawnCli(['apply', 'wf.yaml'], { cwd: dir, env: { FLOWGATE_URL: api.url, FLOWGATE_TOKEN: 't' } });
  assert.equal(invalid.code, 1);
  assert.match(invalid.stdout, /wf\.yaml \(broken\): failed: 422 Invalid workflow definition/);
  assert.match(invalid.stdout, /\n {2}steps: must hold at least one step\n/);
});

test('secrets set reads the value from a pipe', async () => {
  api.on('PUT /v1/secrets/inbound', (_q, res) => json(res, 200, { name: 'inbound' }));
  const r = await spawnCli(['--url', api.url, '--token', 't', 'secrets', 'set', 'inbound'], { stdin: 'whsec_abc\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'secret inbound saved\n');
  const req = api.requests[api.requests.length - 1];
  assert.deepEqual(JSON.parse(req.body), { value: 'whsec_abc' });
});

test('runs watch ends the process when the run finishes, though the server keeps the stream open', async () => {
  const id = 'r-watch';
  api.on(`GET /v1/runs/${id}/events`, (_q, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`event: run\ndata: ${JSON.stringify({ id, status: 'running', progress: 0 })}\n\n`);
    setTimeout(() => res.write(`event: run\ndata: ${JSON.stringify({ id, status: 'succeeded', progress: 100 })}\n\n`), 50);
  });
  const started = Date.now();
  const r = await spawnCli(['--url', api.url, 'runs', 'watch', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - started < 15_000);
  assert.match(r.stdout, /run {3}succeeded {2}100%\nrun r-watch succeeded\n$/);
});

test('bin/flowgate.mjs runs the TypeScript CLI through tsx', { skip: existsSync(mainTs) ? false : 'src/cli/main.ts is not written yet' }, async () => {
  api.on('GET /v1/keys', (_q, res) => json(res, 200, { items: [], next_cursor: null }));
  const r = await spawnCli(['--url', api.url, '--token', 't', 'keys', 'list'], { viaBin: true });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'no keys\n');
});

test('output piped into a reader that stops early (`| head`) ends the CLI quietly: no EPIPE stack', async () => {
  const runs = Array.from({ length: 4000 }, (_, i) => ({
    id: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`, workflow: 'loan-check', version: 1, status: 'succeeded', progress: 100,
    created_at: '2025-03-01T12:00:00.000Z',
  }));
  api.on('GET /v1/runs', (_q, res) => json(res, 200, { items: runs, next_cursor: null }));
  const child = spawn(process.execPath, [bin, '--url', api.url, '--token', 't', 'runs', 'list'], {
    cwd: tempDir(), env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
  // Read the first chunk, then close the pipe as `head -1` does.
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(stderr, '', 'nothing on stderr');
  assert.equal(code, 0);
});
