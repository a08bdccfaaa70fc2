/**
 * The SQLite store on a thread of its own. A worker thread owns the database connection and runs
 * the same SqliteStore there; this side is a Store whose every verb is one message to it and one
 * answer back. Inserting rows, encoding them and the commit's WAL write and fsync then use the
 * machine's second core instead of the thread that parses HTTP and executes runs
 * (docs/architecture.md, "The store thread").
 *
 * Messages are handled in the order they are sent, one at a time, so the store's semantics do not
 * change: each verb is still one transaction, and a verb sent after another sees its effects.
 */
import { Worker } from 'node:worker_threads';
import type { Store, StoreCapabilities } from '../types.js';
import { DatabaseLockedError, type SqliteOptions } from './connection.js';
import type { HostAnswer, HostCall, HostError } from './thread-host.js';
import { packNewRun, packTransition } from './wire.js';

/** Every verb of the Store, forwarded as is (writeBatch, createRuns and applyTransitions send their runs packed, wire.ts; created runs come back lighter). */
const VERBS = [
  'migrate', 'getSetting', 'putSetting', 'ensureTenant', 'getTenant', 'createKey', 'findKeyByHash', 'listKeys',
  'deleteKey', 'putSecret', 'getSecretCiphertexts', 'listSecrets', 'deleteSecret', 'createApiLogin', 'findApiLogin',
  'listApiLogins', 'deleteApiLogin', 'saveWorkflow', 'getWorkflow', 'listWorkflows', 'archiveWorkflow',
  'setWorkflowHash', 'setWorkflowIdentifiers', 'listWorkflowVersions', 'workflowActivity', 'findWorkflowByConvId', 'findWorkflowByGuid', 'createRuns', 'writeBatch', 'applyTransitions',
  'getRun', 'loadRun', 'findRunByCallbackToken', 'findRunByRef', 'listRuns', 'listSteps', 'setReply', 'claimDueRuns',
  'claimOrphanedRuns', 'renewLeases', 'hurryChildWaits', 'nextWakeAt', 'createDelivery', 'claimDueDeliveries',
  'recordDeliveryAttempt', 'listDeliveries', 'nextDeliveryAt', 'runsAwaitingDelivery', 'getWebhookSecret',
  'ensureWebhookSecret', 'rotateWebhookSecret', 'loadRuns', 'heartbeatNode', 'listNodes', 'removeNode', 'acquireSlots', 'claimSlots',
] as const satisfies readonly (keyof Store)[];

// A verb added to Store but not to VERBS fails the type check here.
type Unforwarded = Exclude<keyof Store, (typeof VERBS)[number] | 'capabilities' | 'close' | 'hints' | 'rateBuckets'>;
const everyVerbForwarded: [Unforwarded] extends [never] ? true : Unforwarded = true;
void everyVerbForwarded;

export interface ThreadedSqliteOptions extends SqliteOptions {
  /** Called once if the store thread dies (every pending and later call then fails). */
  onFailure?: (error: Error) => void;
}

const HOST_URL = new URL('./thread-worker.mjs', import.meta.url);

function rebuildError(e: HostError): Error {
  if (e.name === 'DatabaseLockedError') return new DatabaseLockedError(e.path ?? '', new Error(e.message));
  const err = new Error(e.message);
  err.name = e.name;
  if (e.code !== undefined) (err as Error & { code: string }).code = e.code;
  if (e.stack) err.stack = `${e.name}: ${e.message}\n    at (store thread)\n${e.stack.split('\n').slice(1).join('\n')}`;
  return err;
}

/** A store call that could not be sent to the store thread (its arguments cannot be cloned). */
export class StoreCallError extends Error {
  constructor(verb: string, cause: unknown) {
    super(`the store call ${verb} could not be sent to the store thread: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreCallError';
  }
}

class StoreThread {
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: Error | null = null;
  private closing = false;
  private readonly exited: Promise<void>;

  constructor(private readonly worker: Worker, private readonly path: string, private readonly onFailure?: (e: Error) => void) {
    worker.unref();
    worker.on('message', (msg: HostAnswer) => this.answer(msg));
    // An answer that arrived but cannot be read here (its clone ran out of stack): the host answers
    // in call order, so it was the answer to the oldest call still waiting.
    worker.on('messageerror', (e: Error) => this.unreadable(e));
    worker.on('error', (e) => this.fail(e instanceof Error ? e : new Error(String(e))));
    this.exited = new Promise((resolve) => worker.once('exit', (code) => {
      if (!this.closing) this.fail(new Error(`the store thread stopped unexpectedly (exit code ${code})`));
      resolve();
    }));
  }

  call<T>(verb: string, args: unknown[]): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error(`the SQLite store ${this.path} is closed`));
    const id = this.nextId;
    return new Promise<T>((resolve, reject) => {
      try {
        this.worker.postMessage({ id, verb, args } satisfies HostCall);
      } catch (e) {
        // Nothing was sent (DataCloneError, or a clone that ran out of stack). The id is used by the
        // next call, so the ids the host sees stay consecutive.
        reject(new StoreCallError(verb, e));
        return;
      }
      this.nextId = id + 1;
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  async close(): Promise<void> {
    if (this.closing) return this.exited;
    const closed = this.failure ? Promise.resolve() : this.call<void>('close', []);
    this.closing = true;
    try {
      await closed;
    } finally {
      this.worker.ref(); // keep this process alive until the thread has ended
      this.worker.postMessage(null); // the host ends its thread
      await this.exited;
    }
  }

  private answer(msg: HostAnswer): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (this.pending.size === 0) this.worker.unref();
    if (msg.ok) p.resolve(msg.value);
    else p.reject(rebuildError(msg.error));
  }

  private unreadable(e: Error): void {
    const oldest = this.pending.keys().next();
    if (oldest.done) return;
    this.answer({ id: oldest.value, ok: false, error: { name: 'RangeError', message: `the store thread's answer could not be read: ${e.message}` } });
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.onFailure?.(e);
  }
}

/** Starts the store thread for these options (the host is thread-worker.mjs). */
export type StartStoreThread = (sqlite: SqliteOptions) => Worker;

const startStoreThread: StartStoreThread = (sqlite) =>
  new Worker(HOST_URL, { workerData: sqlite, execArgv: [], stdout: false, stderr: false });

/**
 * Opens the database on a new store thread; fails (like openSqliteStore) with a DatabaseLockedError
 * when another process owns the file. Call `migrate()` before use. `start` is how the thread is
 * started: tests pass their own to keep the Worker and end it abruptly.
 */
export async function openThreadedSqliteStore(opts: ThreadedSqliteOptions, start: StartStoreThread = startStoreThread): Promise<Store> {
  const { onFailure, ...sqlite } = opts;
  const worker = start(sqlite);
  try {
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number): void => reject(new Error(`the store thread stopped while opening (exit code ${code})`));
      worker.once('exit', onExit);
      worker.once('error', reject);
      worker.once('message', (msg: HostAnswer) => {
        worker.off('exit', onExit);
        worker.off('error', reject);
        if (msg.ok) resolve();
        else reject(rebuildError(msg.error));
      });
    });
  } catch (e) {
    await worker.terminate();
    throw e;
  }
  const thread = new StoreThread(worker, sqlite.path, onFailure);
  const store: Record<string, unknown> = {
    // As the store on the thread declares them (SqliteStore): a shared file has several claimers.
    capabilities: { concurrentClaimers: sqlite.shared === true, notify: false } satisfies StoreCapabilities,
    close: () => thread.close(),
  };
  for (const verb of VERBS) store[verb] = (...args: unknown[]) => thread.call(verb, args);
  // Runs travel packed (wire.ts). A created run comes back as its kind only: the caller already
  // holds the run it sent.
  const s = store as unknown as Store;
  s.createRuns = async (batch) => {
    const results = await thread.call<Awaited<ReturnType<Store['createRuns']>>>('createRuns', [batch.map(packNewRun)]);
    return results.map((r, i) => (r.kind === 'created' ? { kind: 'created', run: batch[i].run } : r));
  };
  s.applyTransitions = (batch) => thread.call('applyTransitions', [batch.map(packTransition)]);
  s.writeBatch = async (creates, transitions) => {
    const results = await thread.call<Awaited<ReturnType<Store['writeBatch']>>>('writeBatch', [creates.map(packNewRun), transitions.map(packTransition)]);
    results.creates = results.creates.map((r, i) => (r.kind === 'created' ? { kind: 'created', run: creates[i].run } : r));
    return results;
  };
  return s;
}
