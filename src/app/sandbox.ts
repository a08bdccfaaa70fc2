/**
 * The SandboxPort of `code` steps: QuickJS (WebAssembly) in a small pool of worker threads.
 *
 * A long evaluation never blocks the event loop: it runs in a worker. Each evaluation gets a fresh
 * QuickJS runtime with a memory limit, a stack limit and an interrupt deadline (sandbox-worker.mjs).
 * The pool adds a watchdog: a worker that has not answered by the deadline plus a grace period is
 * terminated and replaced, as is a worker that crashes, exits or reports its module broken. The
 * caller gets `code_timeout` / `code_memory` / `code_error`; the server stays healthy.
 *
 * Memory is bounded per worker, whatever the code does: the module's WebAssembly memory has a
 * maximum (the heap limit plus MODULE_RESERVE_BYTES), the thread's own V8 heap has resourceLimits
 * scaled to the same limit, and a worker whose module memory grew during an evaluation is replaced
 * after answering (WebAssembly memory never shrinks). Each worker evaluates one job at a time, so a
 * runaway evaluation fails only its own step; the others run in other workers or wait in the queue.
 */
import { Worker } from 'node:worker_threads';
import type { JsonObject } from '../core/types.js';
import type { Logger } from '../engine/executor.js';
import type { SandboxPort, SandboxRequest, SandboxResult } from '../steps/types.js';

export interface SandboxOptions {
  /** Worker threads in the pool (started on first use). */
  workers: number;
  /** QuickJS heap limit per evaluation; it also sizes each worker's module memory and V8 heap. */
  memoryBytes: number;
  /** QuickJS stack limit per evaluation (kept well below the worker thread's own stack). */
  stackBytes?: number;
  /** How long past its deadline a silent worker is given before it is terminated. */
  graceMs?: number;
  /** Test seam: pushes the worker's own interrupt deadline out, to exercise the watchdog. */
  workerDeadlineExtraMs?: number;
  log?: Logger;
}

const WORKER_URL = new URL('./sandbox-worker.mjs', import.meta.url);
const DEFAULT_STACK_BYTES = 256 * 1024;
const DEFAULT_GRACE_MS = 1000;
const MB = 1024 * 1024;

/**
 * What the QuickJS module needs of its WebAssembly memory besides the heap: its static data, its
 * 5 MB C stack and the runtime's own structures (measured: a 16 MB module memory leaves about
 * 11 MB of heap). The module's memory is created with a maximum of heap limit + this reserve
 * (and never below the 16 MB the module requires).
 */
export const MODULE_RESERVE_BYTES = 8 * MB;

/**
 * The most WebAssembly memory one worker's QuickJS module can ever hold for a heap limit (the
 * module itself requires between 16 MB and 2 GB).
 */
export const moduleMemoryBytes = (heapBytes: number): number => Math.min(2048 * MB, Math.max(16 * MB, heapBytes + MODULE_RESERVE_BYTES));

/**
 * The worker thread's V8 heap holds only the glue around QuickJS: the request's data as JSON text
 * and the result copied out of the module (at most the module's size, twice over as UTF-16).
 */
const workerHeapMb = (heapBytes: number): number => 16 + 2 * Math.ceil(moduleMemoryBytes(heapBytes) / MB);

interface Job {
  id: number;
  req: SandboxRequest;
  data: string;
  resolve: (r: SandboxResult) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | null;
  watchdog: NodeJS.Timeout | null;
  /** Set once the slot is being replaced: late messages and exits are ignored. */
  dead: boolean;
}

type WorkerAnswer =
  | { ready: true }
  | { id: number; ok: true; json: string | null; retire?: Retire }
  | { id: number; ok: false; error: { code: 'code_timeout' | 'code_memory' | 'code_error'; message: string; line?: number }; retire?: Retire };

/** Why a worker asks to be replaced: its module is broken, or its memory grew (and cannot shrink). */
type Retire = 'broken' | 'memory';

export class WorkerSandbox implements SandboxPort {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private startFailures = 0;
  private closed = false;
  /** Workers replaced since start (a misbehaving evaluation costs one). */
  replaced = 0;
  /** Of those, workers replaced because their module's memory had grown. */
  recycled = 0;

  constructor(private readonly opts: SandboxOptions) {}

  run(req: SandboxRequest): Promise<SandboxResult> {
    if (this.closed) return Promise.resolve({ ok: false, error: { code: 'code_error', message: 'the sandbox is shut down' } });
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, req, data: JSON.stringify(req.data satisfies JsonObject), resolve });
      this.pump();
    });
  }

  /** Terminates every worker; queued and running evaluations fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve({ ok: false, error: { code: 'code_error', message: 'the sandbox is shut down' } });
    await Promise.all(this.slots.splice(0).map(async (slot) => {
      slot.dead = true;
      if (slot.watchdog) clearTimeout(slot.watchdog);
      slot.job?.resolve({ ok: false, error: { code: 'code_error', message: 'the sandbox is shut down' } });
      await slot.worker.terminate();
    }));
  }

  private pump(): void {
    if (this.closed) return;
    while (this.slots.length < this.opts.workers && this.queue.length > this.slots.filter((s) => !s.job).length) this.spawn();
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.ready && !slot.job && !slot.dead) this.send(slot, this.queue.shift()!);
    }
  }

  private spawn(): Slot {
    const heapBytes = this.opts.memoryBytes;
    const worker = new Worker(WORKER_URL, {
      workerData: { heapBytes, moduleBytes: moduleMemoryBytes(heapBytes), stackBytes: this.opts.stackBytes ?? DEFAULT_STACK_BYTES },
      // The thread's own V8 stack must stay larger than QuickJS's limit (WebAssembly frames use it).
      resourceLimits: { stackSizeMb: 8, maxOldGenerationSizeMb: workerHeapMb(heapBytes), maxYoungGenerationSizeMb: 8 },
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, ready: false, job: null, watchdog: null, dead: false };
    worker.on('message', (msg: WorkerAnswer) => this.onMessage(slot, msg));
    worker.on('error', (e) => this.lose(slot, e));
    worker.on('exit', (code) => this.lose(slot, new Error(`the sandbox worker exited (code ${code})`)));
    // Referenced while it starts or evaluates (a caller is waiting on it), unreferenced when idle.
    this.slots.push(slot);
    return slot;
  }

  private send(slot: Slot, job: Job): void {
    slot.job = job;
    slot.worker.ref();
    const { code, timeoutMs, seed } = job.req;
    slot.watchdog = setTimeout(() => {
      // The interrupt handler did not stop it (or the thread is wedged): kill the thread.
      this.finish(slot, { ok: false, error: { code: 'code_timeout', message: `the code ran past its time limit (${timeoutMs} ms)` } });
      this.replace(slot);
    }, timeoutMs + (this.opts.graceMs ?? DEFAULT_GRACE_MS));
    slot.watchdog.unref();
    slot.worker.postMessage({
      id: job.id, code, data: job.data, timeoutMs: timeoutMs + (this.opts.workerDeadlineExtraMs ?? 0), seed,
    });
  }

  private onMessage(slot: Slot, msg: WorkerAnswer): void {
    if (slot.dead) return;
    if ('ready' in msg) {
      slot.ready = true;
      this.startFailures = 0;
      this.pump();
      if (!slot.job) slot.worker.unref();
      return;
    }
    if (!slot.job || slot.job.id !== msg.id) return;
    if (msg.ok) {
      let value;
      try {
        value = msg.json === null ? undefined : JSON.parse(msg.json);
      } catch (e) {
        return this.finish(slot, { ok: false, error: { code: 'code_error', message: `the code returned a value that is not JSON: ${(e as Error).message}` } });
      }
      this.finish(slot, { ok: true, value });
    } else {
      this.finish(slot, { ok: false, error: msg.error });
    }
    if (msg.retire) {
      if (msg.retire === 'memory') this.recycled++;
      this.replace(slot);
    } else this.pump();
  }

  private finish(slot: Slot, result: SandboxResult): void {
    if (slot.watchdog) clearTimeout(slot.watchdog);
    slot.watchdog = null;
    const job = slot.job;
    slot.job = null;
    slot.worker.unref();
    job?.resolve(result);
  }

  /** A worker crashed or exited: fail its evaluation and replace it. */
  private lose(slot: Slot, e: Error & { code?: string }): void {
    if (slot.dead) return;
    const memory = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
    this.opts.log?.warn({ err: e }, 'a sandbox worker died; replacing it');
    this.finish(slot, { ok: false, error: memory ? { code: 'code_memory', message: 'the code ran out of memory (the sandbox worker was stopped)' } : { code: 'code_error', message: `the sandbox failed: ${e.message}` } });
    if (!slot.ready && ++this.startFailures >= 3) {
      // The sandbox cannot start at all (e.g. the WebAssembly module is missing): fail what waits
      // instead of respawning forever; the next evaluation tries again.
      this.startFailures = 0;
      for (const job of this.queue.splice(0)) job.resolve({ ok: false, error: { code: 'code_error', message: `the sandbox could not start: ${e.message}` } });
    }
    this.replace(slot);
  }

  private replace(slot: Slot): void {
    if (slot.dead) return;
    slot.dead = true;
    this.replaced++;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.worker.terminate().catch(() => undefined);
    this.pump();
  }
}
