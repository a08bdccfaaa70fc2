/**
 * The real sandbox (QuickJS in worker threads): what user code can and cannot reach, and how the
 * pool survives code that loops, allocates or recurses without end.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { SandboxRequest, SandboxResult } from '../steps/types.js';
import { moduleMemoryBytes, WorkerSandbox } from './sandbox.js';

const sandbox = new WorkerSandbox({ workers: 2, memoryBytes: 32 * 1024 * 1024 });
after(() => sandbox.close());

const run = (code: string, data: Record<string, unknown> = {}, opts: Partial<SandboxRequest> = {}): Promise<SandboxResult> =>
  sandbox.run({ code, data: data as SandboxRequest['data'], timeoutMs: 1000, seed: 'run-1:1', ...opts });

const value = async (code: string, data: Record<string, unknown> = {}): Promise<unknown> => {
  const r = await run(code, data);
  assert.ok(r.ok, `expected success, got ${JSON.stringify(r)}`);
  return r.value;
};

describe('sandbox: computing', () => {
  it('returns what the body returns, as JSON', async () => {
    assert.deepEqual(await value('return { sum: data.a + data.b, list: [1, "x", null], nested: { ok: true } }', { a: 2, b: 3 }), {
      sum: 5, list: [1, 'x', null], nested: { ok: true },
    });
  });

  it('gives undefined when nothing is returned; JSON drops functions and undefined keys', async () => {
    assert.equal(await value('const x = 1;'), undefined);
    assert.deepEqual(await value('return { f() {}, u: undefined, d: new Date(5) }'), { d: '1970-01-01T00:00:00.005Z' });
  });

  it('passes data as a deep copy: mutating it inside changes nothing outside', async () => {
    const data = { list: [1, 2], obj: { k: 'v' } };
    assert.equal(await value('data.list.push(3); data.obj.k = "changed"; data.extra = 1;', data), undefined);
    assert.deepEqual(data, { list: [1, 2], obj: { k: 'v' } });
  });

  it('accepts await (promises settle through the job queue)', async () => {
    assert.deepEqual(await value('const v = await Promise.resolve(41); return { v: v + 1 }'), { v: 42 });
  });

  it('a promise that can never settle is an error, not a hang', async () => {
    const r = await run('await new Promise(() => {}); return {}');
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error.code === 'code_error' && /never settles/.test(r.error.message));
  });
});

describe('sandbox: no way out', () => {
  it('has no process, require, import, fetch, timers or host globals', async () => {
    const seen = await value(`return {
      process: typeof process, require: typeof require, module: typeof module, fetch: typeof fetch,
      setTimeout: typeof setTimeout, setInterval: typeof setInterval, queueMicrotask: typeof queueMicrotask,
      Buffer: typeof Buffer, performance: typeof performance, WebAssembly: typeof WebAssembly,
      std: typeof std, os: typeof os, XMLHttpRequest: typeof XMLHttpRequest,
      viaFunction: Function('return typeof process')(), viaThis: typeof (function () { return this; })().process,
    }`) as Record<string, string>;
    for (const [name, type] of Object.entries(seen)) assert.equal(type, 'undefined', `${name} must not exist in the sandbox`);
  });

  it('a dynamic import fails inside the sandbox', async () => {
    const r = await run('const fs = await import("node:fs"); return { read: typeof fs.readFileSync }');
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error.code === 'code_error');
  });

  it('require and process are reference errors with the line they were used on', async () => {
    const r = await run('const x = 1;\nrequire("fs");');
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'code_error');
    assert.match(r.error.message, /ReferenceError: .*require/);
    assert.equal(r.error.line, 2);
  });

  it('has no real clock: Date.now() is 0 and new Date() is the epoch, every time', async () => {
    const first = await value('return { now: Date.now(), date: new Date().toISOString(), text: Date(), viaCtor: new (new Date().constructor)().getTime() }') as Record<string, unknown>;
    assert.equal(first.now, 0);
    assert.equal(first.date, '1970-01-01T00:00:00.000Z');
    assert.equal(first.viaCtor, 0);
    assert.match(String(first.text), /1970|1969/);
    // Dates computed from given values still work.
    assert.deepEqual(await value('return { iso: new Date(Date.UTC(2024, 1, 29)).toISOString() }'), { iso: '2024-02-29T00:00:00.000Z' });
  });

  it('Math.random is deterministic per seed (same run and step, same numbers) and differs between seeds', async () => {
    const code = 'return { r: [Math.random(), Math.random(), Math.random()] }';
    const a = await run(code, {}, { seed: 'run-1:1' });
    const b = await run(code, {}, { seed: 'run-1:1' });
    const c = await run(code, {}, { seed: 'run-1:2' });
    assert.ok(a.ok && b.ok && c.ok);
    assert.deepEqual(a.value, b.value);
    assert.notDeepEqual(a.value, c.value);
    for (const r of (a.value as { r: number[] }).r) assert.ok(r >= 0 && r < 1);
  });

  it('keeps nothing between evaluations (a fresh realm each time)', async () => {
    await value('globalThis.leak = 1; Object.prototype.polluted = true;');
    assert.deepEqual(await value('return { leak: typeof leak, polluted: ({}).polluted === true }'), { leak: 'undefined', polluted: false });
  });
});

describe('sandbox: limits', () => {
  it('an endless loop fails with code_timeout at its deadline, without blocking the event loop', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = Date.now();
    const r = await run('while (true) {}', {}, { timeoutMs: 300 });
    clearInterval(timer);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'code_timeout');
    assert.ok(Date.now() - started < 1500, `stopped after ${Date.now() - started} ms`);
    // A blocked loop would tick at most once; a loaded machine may fire fewer than the 30 due.
    assert.ok(ticks >= 3, `the event loop ran meanwhile (${ticks} ticks)`);
  });

  it('a huge allocation fails with code_memory', async () => {
    for (const code of ['const s = "x".repeat(200 * 1024 * 1024); return { n: s.length }', 'const a = new Array(5e7).fill(1); return { n: a.length }', 'return { b: new ArrayBuffer(512 * 1024 * 1024).byteLength }']) {
      // A generous deadline: filling an array grows it step by step, slow on a loaded machine.
      const r = await run(code, {}, { timeoutMs: 20_000 });
      assert.ok(!r.ok, code);
      assert.equal(r.error.code, 'code_memory', `${code}: ${JSON.stringify(r)}`);
    }
  });

  it('unbounded recursion fails with a stack overflow error', async () => {
    const r = await run('function f(n) { return f(n + 1) + 1 }\nreturn { v: f(0) }');
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'code_error');
    assert.match(r.error.message, /stack overflow/i);
  });

  it('a cyclic result fails clearly', async () => {
    const r = await run('const o = {}; o.self = o; return o');
    assert.ok(!r.ok && r.error.code === 'code_error' && /circular/i.test(r.error.message));
  });

  it('after loops, allocations and overflows the pool still evaluates, in parallel', async () => {
    const results = await Promise.all([
      run('while (true) {}', {}, { timeoutMs: 200 }),
      run('return { v: "x".repeat(1e9).length }'),
      ...Array.from({ length: 20 }, (_, i) => run('return { i: data.i * 2 }', { i })),
    ]);
    assert.equal(results[0].ok, false);
    assert.equal(results[1].ok, false);
    results.slice(2).forEach((r, i) => assert.deepEqual(r, { ok: true, value: { i: i * 2 } }));
  });

  it('a worker that does not answer is terminated and replaced (watchdog)', async () => {
    // The worker's own interrupt deadline is pushed far out (as if the thread were wedged): the
    // watchdog fires first, kills the thread, and the next evaluation gets a new worker.
    const strict = new WorkerSandbox({ workers: 1, memoryBytes: 32 * 1024 * 1024, graceMs: 100, workerDeadlineExtraMs: 60_000 });
    try {
      await strict.run({ code: 'return {}', data: {}, timeoutMs: 1000, seed: 's' }); // warm up
      const r = await strict.run({ code: 'while (true) {}', data: {}, timeoutMs: 100, seed: 's' });
      assert.ok(!r.ok && r.error.code === 'code_timeout');
      assert.ok(strict.replaced >= 1, 'the silent worker was replaced');
      assert.deepEqual(await strict.run({ code: 'return { ok: 1 }', data: {}, timeoutMs: 1000, seed: 's' }), { ok: true, value: { ok: 1 } });
    } finally {
      await strict.close();
    }
  });
});

describe('sandbox: memory bounds the worker, not only QuickJS\'s count', () => {
  const MB = 1024 * 1024;
  /** The loop that passed QuickJS's own limit: many arrays, each far below it. */
  const RUNAWAY = 'const a = [];\nfor (;;) a.push(new Array(1e6).fill(1));';
  const req = (code: string, timeoutMs = 30_000): SandboxRequest => ({ code, data: {}, timeoutMs, seed: 's' });

  it('many allocations below the limit stop at it: code_memory, the process grows by about one module, the worker is recycled', async () => {
    const one = new WorkerSandbox({ workers: 1, memoryBytes: 32 * MB });
    try {
      assert.deepEqual(await one.run(req('return { ok: 1 }')), { ok: true, value: { ok: 1 } }); // the worker is up
      const before = process.memoryUsage.rss();
      let peak = before;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
      const r = await one.run(req(RUNAWAY)).finally(() => clearInterval(timer));
      assert.ok(!r.ok && r.error.code === 'code_memory', JSON.stringify(r));
      // The module's memory can hold no more than its bound; 48 MB covers the rest of a busy worker.
      const grew = (peak - before) / MB;
      assert.ok(grew <= moduleMemoryBytes(32 * MB) / MB + 48, `RSS grew by ${grew.toFixed(0)} MB`);
      assert.equal(one.recycled, 1, 'the worker that ran out was replaced');
      // A fresh worker takes over and computes normally.
      assert.deepEqual(await one.run(req('return { sum: [1, 2, 3].reduce((s, v) => s + v, 0) }')), { ok: true, value: { sum: 6 } });
    } finally {
      await one.close();
    }
  });

  it('the heap up to the limit stays usable; a worker whose memory grew is recycled, others are kept', async () => {
    const one = new WorkerSandbox({ workers: 1, memoryBytes: 32 * MB });
    try {
      assert.deepEqual(await one.run(req('return { n: Array.from({ length: 1000 }, (_, i) => i).length }')), { ok: true, value: { n: 1000 } });
      assert.equal(one.replaced, 0, 'a small evaluation keeps its worker');
      // An allocation QuickJS refuses outright grows nothing: code_memory, and the worker is kept.
      const refused = await one.run(req('return { n: "x".repeat(200 * 1024 * 1024).length }'));
      assert.ok(!refused.ok && refused.error.code === 'code_memory', JSON.stringify(refused));
      assert.equal(one.replaced, 0, 'a refused allocation keeps its worker');
      // 24 MB of strings: beyond the module's initial 16 MB, within the 32 MB heap.
      const big = await one.run(req(`const parts = [];\nfor (let i = 0; i < 24; i++) parts.push("x".repeat(${MB - 64}) + i);\nreturn { n: parts.length, len: parts[23].length }`));
      assert.deepEqual(big, { ok: true, value: { n: 24, len: MB - 64 + 2 } });
      assert.equal(one.recycled, 1, 'its grown module was discarded');
      assert.deepEqual(await one.run(req('return { v: 2 }')), { ok: true, value: { v: 2 } });
    } finally {
      await one.close();
    }
  });

  it('a runaway fails only its own evaluation: the others, before, beside and after it, succeed', async () => {
    const pool = new WorkerSandbox({ workers: 2, memoryBytes: 32 * MB });
    try {
      const results = await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => pool.run({ ...req('return { i: data.i * 2 }'), data: { i } })),
        pool.run(req(RUNAWAY)),
        pool.run(req(RUNAWAY)),
        ...Array.from({ length: 10 }, (_, i) => pool.run({ ...req('return { i: data.i * 2 }'), data: { i: i + 10 } })),
      ]);
      results.slice(0, 10).forEach((r, i) => assert.deepEqual(r, { ok: true, value: { i: i * 2 } }));
      for (const r of results.slice(10, 12)) assert.ok(!r.ok && r.error.code === 'code_memory', JSON.stringify(r));
      results.slice(12).forEach((r, i) => assert.deepEqual(r, { ok: true, value: { i: (i + 10) * 2 } }));
      assert.equal(pool.recycled, 2);
    } finally {
      await pool.close();
    }
  });

  it('a result too large to copy out of the module is code_memory, not a broken answer', async () => {
    const one = new WorkerSandbox({ workers: 1, memoryBytes: 32 * MB });
    try {
      // 10 M characters: 10 MB in QuickJS, its JSON text as much again, 20 MB more as UTF-8.
      const r = await one.run(req('return { s: "\u00e9".repeat(1e7) }', 60_000));
      assert.ok(!r.ok && r.error.code === 'code_memory', JSON.stringify(r).slice(0, 300));
      assert.deepEqual(await one.run(req('return { v: 3 }')), { ok: true, value: { v: 3 } });
    } finally {
      await one.close();
    }
  });

  it('a limit of 4 GB or more is capped at what the module can hold instead of wrapping', async () => {
    const huge = new WorkerSandbox({ workers: 1, memoryBytes: 4096 * MB });
    try {
      assert.deepEqual(await huge.run(req('return { v: [1, 2].length }')), { ok: true, value: { v: 2 } });
    } finally {
      await huge.close();
    }
  });
});
