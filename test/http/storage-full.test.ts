// A full disk under the data directory (a small tmpfs): writes are refused with 503 storage_full and
// Retry-After, /readyz says not ready, runs already acknowledged keep their state (a transition that
// could not be written is kept and written later), and everything recovers without a restart once
// space is freed. Needs root to mount the tmpfs; skipped with a message elsewhere, unless CI=true.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { startServer, type RunningServer } from '../../src/app/app.js';
import { loadConfig } from '../../src/app/config.js';
import { isStorageFullError } from '../../src/store/sqlite/store.js';
import { reply, sleep, startTarget, until, type Target } from '../helpers/server.js';

const ADMIN = 'test-admin';
const dir = mkdtempSync(join(tmpdir(), 'flowgate-full-'));
const filler = join(dir, 'filler');

function mountTmpfs(): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return String((e as { stderr?: Buffer }).stderr ?? e).trim();
  }
}

const refused = mountTmpfs();
if (refused !== null && process.env.CI === 'true') throw new Error(`the full-disk test must run under CI, but mounting a tmpfs failed: ${refused}`);
const skip = refused === null ? false : `mounting a tmpfs for the data directory was refused (${refused}); run as root to test a full disk`;

let srv: RunningServer | null = null;
let target: Target;
/** Answers of the held http step requests, released when the test says so. */
const held: ServerResponse[] = [];

before(async () => {
  if (skip) return;
  target = await startTarget((_req, res) => held.push(res));
  const cfg = loadConfig({ port: 0, dataDir: dir, examples: false, logLevel: process.env.TEST_LOG_LEVEL ?? 'silent' }, {
    FLOWGATE_ADMIN_TOKEN: ADMIN, FLOWGATE_HTTP_ALLOW: '127.0.0.1',
  });
  srv = await startServer(cfg);
});

after(async () => {
  rmSync(filler, { force: true });
  for (const res of held.splice(0)) res.destroy();
  await srv?.close();
  await target?.close();
  if (refused === null) execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, json?: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(srv!.url + path, {
    method, headers: { authorization: `Bearer ${ADMIN}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : text };
}

/** Fills the file system of the data directory until not one more byte fits. */
function fill(): void {
  for (const size of [256 * 1024, 4096, 1]) {
    try {
      for (;;) appendFileSync(filler, Buffer.alloc(size, 1));
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
    }
  }
}

test('a full disk answers 503 storage_full and not ready, keeps every acknowledged run, and recovers by itself', { skip }, async () => {
  const urls: Record<string, Record<string, string>> = {};
  for (const [id, yaml] of [
    ['quick', 'id: quick\nsteps:\n  - { id: mark, type: set, set: { done: true } }\n'],
    ['slow', `id: slow\nsteps:\n  - { id: ask, type: http, url: "${target.url}/hold", save_as: answer }\n  - { id: mark, type: set, set: { done: true } }\n`],
  ]) {
    const r = await fetch(`${srv!.url}/v1/workflows/${id}`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/yaml' }, body: yaml });
    const text = await r.text();
    assert.equal(r.status, 201, text);
    urls[id] = JSON.parse(text).triggers.urls;
  }
  const acknowledged: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await call('POST', '/v1/workflows/quick/runs', { i });
    assert.equal(r.status, 202);
    acknowledged.push(r.body.id);
  }
  // Two runs in their http step: their next commit comes while the disk is full.
  const slow: string[] = [];
  for (let i = 0; i < 2; i++) {
    const r = await call('POST', '/v1/workflows/slow/runs', { i });
    assert.equal(r.status, 202);
    slow.push(r.body.id);
  }
  await until(async () => held.length === 2, 'the http steps to reach the target');
  assert.equal((await call('GET', '/readyz')).status, 200);

  fill();
  for (const res of held.splice(0)) reply(res, 200, { ok: true }); // their results cannot be written now

  // Triggers are refused, in the problem format, with Retry-After (a write may still fit in a page
  // SQLite had already; the next ones cannot).
  let refusal: Awaited<ReturnType<typeof call>> | undefined;
  for (let i = 0; i < 50 && !refusal; i++) {
    const r = await call('POST', '/v1/workflows/quick/runs', { during: i });
    if (r.status === 202) acknowledged.push(r.body.id);
    else refusal = r;
  }
  assert.ok(refusal, 'a trigger on a full disk was refused');
  assert.equal(refusal.status, 503, JSON.stringify(refusal.body));
  assert.equal(refusal.body.type, 'https://flowgate.dev/problems/storage-full');
  assert.match(refusal.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.match(refusal.headers.get('retry-after') ?? '', /^\d+$/);
  // The keyless surfaces refuse too, each in its own format: CSI as a 503 problem, a Corezoid
  // direct URL as a failed op (its format for an op that could not be carried out).
  const csi = await fetch(urls.quick.csi_execute, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n": 1}' });
  assert.equal(csi.status, 503);
  assert.match(csi.headers.get('retry-after') ?? '', /^\d+$/);
  assert.equal((await csi.json()).type, 'https://flowgate.dev/problems/storage-full');
  const direct = await fetch(urls.quick.direct_json, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n": 1}' });
  const op = (await direct.json()).ops[0];
  assert.equal(op.proc, 'error');
  assert.match(op.description, /no storage space left/);
  const ready = await call('GET', '/readyz');
  assert.equal(ready.status, 503);
  assert.equal(ready.body.type, 'https://flowgate.dev/problems/storage-full');
  assert.equal((await call('GET', '/healthz')).status, 200);
  // An I/O error (as a WAL write may report it) counts as a full disk only while the disk is full.
  const ioError = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
  assert.equal(isStorageFullError(ioError, join(dir, 'flowgate.db')), true);
  assert.equal(isStorageFullError(ioError, join(tmpdir(), 'flowgate.db')), false);

  // The runs whose step result could not be written are neither failed nor dropped.
  await sleep(1500);
  for (const id of slow) assert.equal((await call('GET', `/v1/runs/${id}`)).body.status, 'running');
  assert.equal((await call('GET', '/readyz')).status, 503, 'still not ready while the disk is full');

  rmSync(filler);
  await until(async () => (await call('GET', '/readyz')).status === 200, '/readyz to answer 200 again', 15_000);
  const again = await call('POST', '/v1/workflows/quick/runs', { after: true });
  assert.equal(again.status, 202, JSON.stringify(again.body));
  acknowledged.push(again.body.id);

  for (const id of slow) {
    const run = await until(async () => {
      const r = await call('GET', `/v1/runs/${id}`);
      return r.body.status === 'succeeded' ? r.body : null;
    }, `run ${id} to succeed`, 15_000);
    assert.deepEqual(run.data.answer.body, { ok: true });
    assert.equal(run.data.done, true);
  }
  for (const id of acknowledged) {
    const r = await call('GET', `/v1/runs/${id}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'succeeded');
    assert.equal(r.body.data.done, true);
  }

  // The database is intact and holds exactly the acknowledged runs.
  await srv!.close();
  srv = null;
  const db = new Database(join(dir, 'flowgate.db'), { readonly: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const ids = (db.prepare('SELECT id FROM runs').all() as { id: string }[]).map((r) => r.id).sort();
    assert.deepEqual(ids, [...acknowledged, ...slow].sort());
  } finally {
    db.close();
  }
});
