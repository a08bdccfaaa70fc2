/**
 * The code-step memory limit bounds the whole process, not just QuickJS's own count: a step that
 * allocates without end fails with `code_memory` while the server's RSS stays within
 * baseline + workers × (module bound + measured per-worker overhead), for one runaway step and for
 * eight at once; RSS comes back down once they end (their workers are recycled); other runs' code
 * steps running beside them succeed, and code steps still work afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { moduleMemoryBytes } from '../../src/app/sandbox.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const MB = 1024 * 1024;
const LIMIT_MB = 32;
const WORKERS = 2;
/** The most WebAssembly memory one worker's QuickJS module may hold (heap limit + its reserve). */
const MODULE_MB = moduleMemoryBytes(LIMIT_MB * MB) / MB;
/**
 * What a worker costs besides its module's memory, measured on Node 20 with a 32 MB limit: an idle
 * worker adds 13–17 MB RSS (its V8 isolate and the compiled QuickJS module), the first one started
 * about 28 MB; during a runaway a busy worker stood 30–43 MB above the baseline beyond its 32 MB
 * heap (young generation, the JSON and error text crossing the thread). 48 MB covers the worst seen.
 */
const WORKER_OVERHEAD_MB = 48;
/**
 * After the runs the workers that ran out are gone and replaced by fresh ones: RSS returns near
 * what it was with idle workers after ordinary traffic. Compared without the main thread's own V8
 * heap (which keeps 12–30 MB of the tests' HTTP traffic until it next collects, nothing of the
 * sandbox's), it came back to within 7–30 MB of it (native allocator pages kept after threads
 * exit); with the recycling disabled, the workers kept their module memory and it stood 68–73 MB
 * above it.
 */
const SETTLED_MARGIN_MB = 40;

/** The allocation loop of the report: many medium arrays, each far below the limit. */
const RUNAWAY = 'const a = [];\nfor (;;) a.push(new Array(1e6).fill(1));';

const rssMb = (): number => process.memoryUsage.rss() / MB;
/** RSS outside the main thread's V8 heap: the store thread, native buffers and the sandbox workers. */
const outsideMainHeapMb = (): number => {
  const m = process.memoryUsage();
  return (m.rss - m.heapTotal) / MB;
};

/** Samples RSS every 5 ms while `work` runs; resolves with its result and the peak seen. */
async function peakDuring<T>(work: () => Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peakMb = rssMb();
  const timer = setInterval(() => (peakMb = Math.max(peakMb, rssMb())), 5);
  try {
    const result = await work();
    return { result, peakMb: Math.max(peakMb, rssMb()) };
  } finally {
    clearInterval(timer);
  }
}

/** Waits (up to `ms`) for `read()` to fall to `limitMb`; returns the last value read. */
async function settle(read: () => number, limitMb: number, ms = 10_000): Promise<number> {
  const until = Date.now() + ms;
  let now = read();
  while (now > limitMb && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    now = read();
  }
  return now;
}

const expectQuick = (run: any, n: number): void => {
  assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
  assert.equal(run.data.doubled, n * 2);
  assert.equal(run.data.sum, n * 499_500);
};

describe('code step memory: the limit holds for the process', () => {
  let srv: TestServer;
  /** RSS with the server up and a run done, before any sandbox worker exists. */
  let baseMb = 0;
  /** RSS outside the main thread's heap after ordinary code steps started every worker and left them idle. */
  let warmMb = 0;

  before(async () => {
    srv = await startTestServer({ FLOWGATE_CODE_WORKERS: String(WORKERS), FLOWGATE_CODE_MEMORY_MB: String(LIMIT_MB) });
    for (const [id, def] of Object.entries({
      // Deadlines far from what the code needs: this is about memory, on a machine that may be loaded.
      hog: { steps: [{ id: 'js', type: 'code', code: RUNAWAY, timeout: '60s' }] },
      quick: { steps: [{ id: 'js', type: 'code', timeout: '20s', code: 'const list = Array.from({ length: 1000 }, (_, i) => i * data.n);\nreturn { doubled: data.n * 2, sum: list.reduce((s, v) => s + v, 0) }' }] },
      plain: { steps: [{ id: 'set', type: 'set', set: { done: true } }] },
    })) {
      const r = await srv.putWorkflow(id, def);
      assert.ok(r.status === 201 || r.status === 200, r.text);
    }
    const t = await srv.trigger('plain', {});
    assert.equal((await srv.waitRun(t.body.id)).status, 'succeeded');
    await new Promise((r) => setTimeout(r, 200));
    baseMb = rssMb();
    // Ordinary traffic of the same volume as the tests', so that what the main thread keeps of it
    // (its V8 heap grows and stays) is in the idle reference too.
    for (let round = 0; round < 2; round++) {
      const warm = await Promise.all(Array.from({ length: 20 }, (_, n) => srv.trigger('quick', { n })));
      for (const [n, t] of warm.entries()) expectQuick(await srv.waitRun(t.body.id, undefined, { timeoutMs: 60_000 }), n);
    }
    await new Promise((r) => setTimeout(r, 200));
    warmMb = outsideMainHeapMb();
  });
  after(() => srv?.close());

  const runOf = async (id: string, data: object = {}): Promise<any> => {
    const t = await srv.trigger(id, data);
    assert.equal(t.status, 202, t.text);
    return srv.waitRun(t.body.id, undefined, { timeoutMs: 60_000 });
  };

  it('one runaway step fails with code_memory; RSS stays within baseline + one worker', async (t) => {
    const { result: run, peakMb } = await peakDuring(() => runOf('hog'));
    assert.equal(run.status, 'failed');
    assert.equal(run.error.code, 'code_memory', JSON.stringify(run.error));
    const bound = baseMb + 1 * (MODULE_MB + WORKER_OVERHEAD_MB);
    t.diagnostic(`baseline ${baseMb.toFixed(0)} MB, peak ${peakMb.toFixed(0)} MB, bound ${bound.toFixed(0)} MB`);
    assert.ok(peakMb <= bound, `peak RSS ${peakMb.toFixed(0)} MB, bound ${bound.toFixed(0)} MB (baseline ${baseMb.toFixed(0)} MB)`);
  });

  it('eight at once, beside ordinary code steps: all eight fail with code_memory, the others succeed, RSS stays within baseline + workers', async (t) => {
    const { result, peakMb } = await peakDuring(async () => {
      const hogs = await Promise.all(Array.from({ length: 8 }, () => srv.trigger('hog', {})));
      const quick = await Promise.all(Array.from({ length: 12 }, (_, n) => srv.trigger('quick', { n })));
      const wait = (t: { body: { id: string } }) => srv.waitRun(t.body.id, undefined, { timeoutMs: 120_000 });
      return { hogs: await Promise.all(hogs.map(wait)), quick: await Promise.all(quick.map(wait)) };
    });
    for (const run of result.hogs) {
      assert.equal(run.status, 'failed');
      assert.equal(run.error.code, 'code_memory', JSON.stringify(run.error));
    }
    result.quick.forEach((run, n) => expectQuick(run, n));
    const bound = baseMb + WORKERS * (MODULE_MB + WORKER_OVERHEAD_MB);
    t.diagnostic(`baseline ${baseMb.toFixed(0)} MB, peak ${peakMb.toFixed(0)} MB, bound ${bound.toFixed(0)} MB`);
    assert.ok(peakMb <= bound, `peak RSS ${peakMb.toFixed(0)} MB, bound ${bound.toFixed(0)} MB (baseline ${baseMb.toFixed(0)} MB)`);
  });

  it('after the runs end RSS comes back down (the workers that ran out were recycled)', async (t) => {
    const limit = warmMb + SETTLED_MARGIN_MB;
    const now = await settle(outsideMainHeapMb, limit);
    t.diagnostic(`RSS outside the main heap: with idle workers before ${warmMb.toFixed(0)} MB, after ${now.toFixed(0)} MB, limit ${limit.toFixed(0)} MB (RSS ${rssMb().toFixed(0)} MB)`);
    assert.ok(now <= limit, `RSS outside the main heap ${now.toFixed(0)} MB after the runs, expected at most ${limit.toFixed(0)} MB (${warmMb.toFixed(0)} MB with idle workers before)`);
  });

  it('code steps still do their normal work after the recycles', async () => {
    const runs = await Promise.all([3, 4, 5].map((n) => runOf('quick', { n })));
    runs.forEach((run, i) => expectQuick(run, i + 3));
  });
});
