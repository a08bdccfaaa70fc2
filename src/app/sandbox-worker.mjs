// @ts-check
/**
 * One sandbox worker thread: evaluates `code` step bodies in QuickJS (WebAssembly), one at a time.
 *
 * Plain JavaScript on purpose: worker threads do not inherit the TypeScript loader the CLI registers
 * in the main thread, so this file must load as is. src/app/sandbox.ts owns the pool and the
 * protocol; this file only evaluates.
 *
 * Isolation: every evaluation gets a fresh QuickJS runtime and context (no state survives between
 * runs), with a memory limit, a stack limit and an interrupt handler that stops it at its deadline.
 * The QuickJS realm has no I/O, no module loader, no `require`, `process`, `fetch` or timers.
 * It has no clock either: this thread's `Date.now` is frozen at 0 before QuickJS loads, and QuickJS
 * reads time only through it, so `Date.now()` is 0 and `new Date()` is 1970-01-01T00:00:00Z.
 * `Math.random` is replaced by a PRNG seeded per request (deterministic for one run and step).
 *
 * Memory: QuickJS's own heap limit is applied, but this build cannot measure its allocations
 * (malloc_usable_size is unavailable, so it counts a few bytes per block) and only refuses one
 * allocation bigger than the limit; many smaller ones would pass it. The bound that holds is the
 * module's WebAssembly memory: it is created here with a maximum (`moduleBytes`, set by the pool),
 * so an allocation past it fails inside QuickJS as "out of memory". WebAssembly memory never
 * shrinks: a module whose memory grew past its initial size is discarded after answering, and with
 * it this thread (the pool replaces it), so an idle worker holds only its base.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

// Before QuickJS is loaded: emscripten's clock imports call Date.now(); nothing else in this
// thread needs wall time (deadlines use the monotonic performance.now()).
Date.now = () => 0;

const { RELEASE_SYNC, newQuickJSWASMModuleFromVariant, newVariant } = await import('quickjs-emscripten');

/** Fixed for the life of this thread (src/app/sandbox.ts computes them). */
const LIMITS = /** @type {{ heapBytes: number; moduleBytes: number; stackBytes: number }} */ (workerData);
const PAGE = 65536;
/** The QuickJS module declares a memory of at least 256 pages (16 MB) and at most 32768 (2 GB). */
const MODULE_MIN_PAGES = 256;
const MODULE_MAX_PAGES = 32768;

/**
 * The one place a QuickJS module is made. Its WebAssembly memory may grow up to `moduleBytes` and
 * no further; `grown()` tells whether it holds more than it started with (it can never give that
 * back, so such a module must be discarded).
 */
async function createModule() {
  const initial = MODULE_MIN_PAGES;
  const maximum = Math.min(MODULE_MAX_PAGES, Math.max(initial, Math.ceil(LIMITS.moduleBytes / PAGE)));
  const memory = new WebAssembly.Memory({ initial, maximum });
  const quickjs = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmMemory: memory }));
  const initialBytes = memory.buffer.byteLength;
  return {
    quickjs,
    grown: () => memory.buffer.byteLength > initialBytes,
    full: () => memory.buffer.byteLength + PAGE > maximum * PAGE,
  };
}

const wasm = await createModule();
const QuickJS = wasm.quickjs;

/**
 * Runs before user code in the same realm: a seeded Math.random (sfc32 over an xmur3 hash of the
 * seed), non-writable so that it stays what the documentation says.
 */
const PRELUDE = `(function (seed) {
  let h = 1779033703 ^ seed.length;
  for (let i = 0; i < seed.length; i++) { h = Math.imul(h ^ seed.charCodeAt(i), 3432918353); h = (h << 13) | (h >>> 19); }
  const next = () => { h = Math.imul(h ^ (h >>> 16), 2246822507); h = Math.imul(h ^ (h >>> 13), 3266489909); return (h ^= h >>> 16) >>> 0; };
  let a = next(), b = next(), c = next(), d = next();
  function random() {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9); b = (c + (c << 3)) | 0; c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0; t = (t + d) | 0; c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  Object.defineProperty(Math, 'random', { value: random, writable: false, configurable: false });
})`;

/** The user's body becomes an async function of `data`; its first line stays line 1 of code.js. */
const wrap = (code) => `(async function (data) {${code}\n})`;

/** @param {unknown} e */
function describe(e) {
  if (e && typeof e === 'object') {
    const o = /** @type {{ name?: unknown; message?: unknown; stack?: unknown }} */ (e);
    const name = typeof o.name === 'string' ? o.name : 'Error';
    const message = typeof o.message === 'string' ? o.message : String(e);
    const m = typeof o.stack === 'string' ? /code\.js:(\d+)/.exec(o.stack) : null;
    return { name, message, line: m ? Number(m[1]) : undefined };
  }
  return { name: 'Error', message: String(e), line: undefined };
}

/** @param {{ name: string; message: string; line?: number }} d @param {boolean} timedOut */
function failure(d, timedOut) {
  if (timedOut || (d.name === 'InternalError' && d.message === 'interrupted')) return { code: 'code_timeout', message: 'the code ran past its time limit' };
  // Allocation failures under the heap limit, and strings beyond QuickJS's maximum length (only a
  // huge allocation makes one). A RangeError for an invalid array length may be a negative length:
  // it stays a code_error with its message.
  if ((d.name === 'InternalError' && /out of memory|string too long/i.test(d.message)) || (d.name === 'RangeError' && /invalid string length/i.test(d.message))) {
    return { code: 'code_memory', message: `the code ran out of memory (${d.message})`, line: d.line };
  }
  return { code: 'code_error', message: `${d.name}: ${d.message}`, line: d.line };
}

/**
 * @param {{ code: string; data: string; timeoutMs: number; seed: string }} req
 * @returns {{ ok: true; json: string | null } | { ok: false; error: { code: string; message: string; line?: number } }}
 */
function evaluate(req) {
  const rt = QuickJS.newRuntime();
  // Never above what the module can hold (a limit of 4 GB or more would wrap in its 32-bit size_t).
  rt.setMemoryLimit(Math.min(LIMITS.heapBytes, LIMITS.moduleBytes));
  rt.setMaxStackSize(LIMITS.stackBytes);
  const deadline = performance.now() + req.timeoutMs;
  let timedOut = false;
  rt.setInterruptHandler(() => (timedOut = timedOut || performance.now() > deadline));
  const vm = rt.newContext();
  /** @type {any[]} */
  const handles = [];
  const keep = (h) => (handles.push(h), h);
  try {
    const prelude = vm.evalCode(PRELUDE, 'prelude.js');
    if (prelude.error) throw new Error('the sandbox prelude failed');
    const seeded = vm.callFunction(keep(prelude.value), vm.undefined, keep(vm.newString(req.seed)));
    if (seeded.error) throw new Error('the sandbox prelude failed');
    keep(seeded.value);

    const fn = vm.evalCode(wrap(req.code), 'code.js');
    if (fn.error) return { ok: false, error: failure(describe(vm.dump(keep(fn.error))), timedOut) };
    // data crosses as JSON text and is parsed inside: a deep copy with no host object in it.
    const parse = vm.evalCode('JSON.parse', 'input.js');
    if (parse.error) throw new Error('JSON.parse is unavailable');
    const parsed = vm.callFunction(keep(parse.value), vm.undefined, keep(vm.newString(req.data)));
    if (parsed.error) return { ok: false, error: failure(describe(vm.dump(keep(parsed.error))), timedOut) };
    const called = vm.callFunction(keep(fn.value), vm.undefined, keep(parsed.value));
    if (called.error) return { ok: false, error: failure(describe(vm.dump(keep(called.error))), timedOut) };
    const promise = keep(called.value);
    // Settle the async function: with no I/O, every promise settles through the job queue.
    for (;;) {
      const jobs = rt.executePendingJobs();
      if (jobs.error) return { ok: false, error: failure(describe(vm.dump(keep(jobs.error))), timedOut) };
      if (!rt.hasPendingJob()) break;
    }
    const state = vm.getPromiseState(promise);
    if (state.type === 'pending') {
      return { ok: false, error: { code: 'code_error', message: 'the code awaited something that never settles (there is no I/O or timer in the sandbox)' } };
    }
    if (state.type === 'rejected') return { ok: false, error: failure(describe(vm.dump(keep(state.error))), timedOut) };
    const value = keep(state.value);
    if (vm.typeof(value) === 'undefined') return { ok: true, json: null };
    // Serialised inside the sandbox, under its limits: a cyclic or huge value fails there.
    const stringify = vm.evalCode('(v) => { const s = JSON.stringify(v); return s === undefined ? "null" : s; }', 'output.js');
    if (stringify.error) throw new Error('JSON.stringify is unavailable');
    const text = vm.callFunction(keep(stringify.value), vm.undefined, value);
    if (text.error) return { ok: false, error: failure(describe(vm.dump(keep(text.error))), timedOut) };
    // Copying the text out needs its UTF-8 form inside the module too; when that allocation fails,
    // the copy comes back empty (JSON text never is).
    const json = vm.getString(keep(text.value));
    if (json === '') return { ok: false, error: { code: 'code_memory', message: 'the code ran out of memory (its result does not fit in the memory limit)' } };
    return { ok: true, json };
  } finally {
    // Freeing can abort the WebAssembly module (QuickJS asserts on leaked objects after some
    // failures); the caller then replaces this worker, the answer above still stands.
    try {
      for (const h of handles) if (h.alive) h.dispose();
      vm.dispose();
      rt.dispose();
    } catch (e) {
      broken = e;
    }
  }
}

/** Set when the QuickJS module can no longer be trusted: this worker answers, then retires. */
let broken = /** @type {unknown} */ (null);

const port = parentPort;
if (!port) throw new Error('sandbox-worker.mjs must run in a worker thread');
port.on('message', (msg) => {
  let answer;
  /** Why this thread must be replaced after answering, if it must. */
  let retire = /** @type {'broken' | 'memory' | undefined} */ (undefined);
  try {
    answer = { id: msg.id, ...evaluate(msg) };
    if (broken !== null) retire = 'broken';
  } catch (e) {
    // A host stack overflow or a WebAssembly abort (e.g. QuickJS asserting while freeing a runtime
    // after a deep recursion, or failing an allocation outside user code once the memory is full)
    // leaves the module unusable: answer, then ask to be replaced.
    const message = e instanceof Error ? e.message : String(e);
    const stack = /call stack|stack overflow/i.test(message);
    answer = {
      id: msg.id, ok: false,
      error: stack ? { code: 'code_error', message: 'InternalError: stack overflow (the code recursed too deeply)' }
        : wasm.full() ? { code: 'code_memory', message: `the code ran out of memory (${message})` }
        : { code: 'code_error', message: `the sandbox failed: ${message}` },
    };
    retire = 'broken';
  }
  // The memory the evaluation grew stays with the module: discard it (and this thread). A huge
  // allocation QuickJS refused outright grew nothing; that module stays in use.
  if (!retire && wasm.grown()) retire = 'memory';
  port.postMessage({ ...answer, retire });
});
port.postMessage({ ready: true });
