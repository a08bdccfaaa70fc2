/**
 * foreach durability against the real server PROCESS (issue 5, docs/spec.md §3, §8.11): a foreach over
 * 1 000 items (each child a quick set → end, concurrency 50) is SIGKILLed mid-way, the process is
 * restarted on the same data dir, and the run must end with exact statistics:
 *
 * - total 1000, succeeded + failed = 1000, each equal to the number of children that ended so;
 * - exactly one child run per item index (children carry the deterministic ref
 *   `<parent>.<seq>.<index>`): none started twice, none forgotten;
 * - each child's input is its own item; save_as holds the results in item order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { callProcess, killServerProcesses, sigkill, startServerProcess, type ServerProcess } from '../helpers/process.js';

const TOKEN = 'foreach-crash-admin-token';
const ITEMS = 1000;

const startProcess = (dataDir: string): Promise<ServerProcess> => startServerProcess(dataDir, { token: TOKEN });
const call = (base: string, method: string, path: string, body?: unknown) => callProcess(TOKEN, base, method, path, body);

/** Every child run of `parent` (follows the cursor). */
async function childrenOf(base: string, parent: string): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const page = await call(base, 'GET', `/v1/runs?parent=${parent}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    out.push(...page.body.items);
    cursor = page.body.next_cursor;
  } while (cursor);
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('a foreach over 1000 items killed mid-way and restarted ends with exact statistics, one child per item', { timeout: 170_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowgate-foreach-crash-'));
  t.after(() => {
    killServerProcesses();
    rmSync(dataDir, { recursive: true, force: true });
  });

  let p = await startProcess(dataDir);
  for (const [id, def] of Object.entries({
    // Each child parks briefly, so 1000 of them at 50 a time take a few seconds: long enough to kill mid-way.
    'quick-child': {
      steps: [
        { id: 'calc', type: 'set', set: { doubled: '{{ i * 2 }}' } },
        { id: 'pause', type: 'delay', for: '100ms' },
        { id: 'fin', type: 'end', status: 'succeeded' },
      ],
    },
    'big-fan': {
      params: { items: { type: 'array', required: true } },
      steps: [
        { id: 'each', type: 'foreach', items: 'items', workflow: 'quick-child', concurrency: 50, save_as: 'results' },
      ],
    },
  })) {
    const r = await call(p.url, 'PUT', `/v1/workflows/${id}`, def);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }

  const items = Array.from({ length: ITEMS }, (_, i) => ({ i }));
  const started = await call(p.url, 'POST', '/v1/workflows/big-fan/runs', { items });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const id: string = started.body.id;

  const t0 = Date.now();
  // Kill once the foreach is well under way but not done (progress moves in steps of 5 here: the
  // 50 children of a round finish together and the parent takes them in one resume).
  let seen = 0;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await call(p.url, 'GET', `/v1/runs/${id}`);
    assert.equal(r.status, 200);
    seen = r.body.progress;
    if (seen >= 40) break;
    if (['succeeded', 'failed', 'cancelled'].includes(r.body.status)) assert.fail(`the foreach ended before the kill: ${JSON.stringify(r.body)}`);
    if (Date.now() > deadline) assert.fail(`the foreach made no progress within 60 s: ${JSON.stringify(r.body)}\n${p.output()}`);
    await sleep(10);
  }
  t.diagnostic(`progress ${seen} after ${Date.now() - t0} ms`);
  await sigkill(p);
  assert.ok(seen < 90, `the process was killed mid-way (progress ${seen} when killed)`);

  // After the restart the parent usually resumes only at its periodic child check (≤ 30 s,
  // CHILD_CHECK_MS): the kill lands right after the parent parked (that commit is what moves
  // progress), before the wake-up its already-finished children asked for was committed.
  const killedAt = Date.now();
  p = await startProcess(dataDir);
  let run: any;
  const end = Date.now() + 120_000;
  for (;;) {
    const r = await call(p.url, 'GET', `/v1/runs/${id}`);
    assert.equal(r.status, 200);
    run = r.body;
    if (['succeeded', 'failed', 'cancelled'].includes(run.status)) break;
    if (Date.now() > end) assert.fail(`the foreach did not finish within 120 s after the restart: progress ${run.progress}, status ${run.status}\n${p.output()}`);
    await sleep(100);
  }
  t.diagnostic(`killed at progress ${seen}; finished ${Date.now() - killedAt} ms after the kill`);
  assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
  assert.equal(run.progress, 100);
  const stats = run.data.stats;
  assert.equal(stats.total, ITEMS);
  assert.equal(stats.succeeded + stats.failed, ITEMS, `exact statistics: ${JSON.stringify(stats)}`);
  if (stats.failed > 0) t.diagnostic(`${stats.failed} children failed (a loaded machine can time out their expression); the counts must still be exact`);
  assert.equal(run.data.results.length, ITEMS);

  const kids = await childrenOf(p.url, id);
  const byIndex = new Map<number, any[]>();
  for (const k of kids) {
    const m = /^(.+)\.(\d+)\.(\d+)$/.exec(k.ref ?? '');
    assert.ok(m && m[1] === id, `child ref ${k.ref} names its parent`);
    const index = Number(m![3]);
    byIndex.set(index, [...(byIndex.get(index) ?? []), k]);
    assert.deepEqual(k.input, { i: index }, 'each child got its own item');
    assert.ok(k.status === 'succeeded' || k.status === 'failed', `child ${index} ended (${k.status})`);
    // save_as holds each child's result (its final data) at its item's index.
    if (k.status === 'succeeded') assert.deepEqual(run.data.results[index], { i: index, doubled: index * 2 }, `result ${index} in item order`);
  }
  assert.equal(kids.filter((k) => k.status === 'succeeded').length, stats.succeeded, 'succeeded counts exactly the succeeded children');
  assert.equal(kids.filter((k) => k.status === 'failed').length, stats.failed, 'failed counts exactly the failed children');
  const twice = [...byIndex].filter(([, v]) => v.length > 1).map(([i]) => i);
  assert.deepEqual(twice, [], 'no item was started twice');
  const missing = Array.from({ length: ITEMS }, (_, i) => i).filter((i) => !byIndex.has(i));
  assert.deepEqual(missing, [], 'no item was forgotten');
  assert.equal(kids.length, ITEMS, 'exactly one child run per item');

  await sigkill(p);
});
