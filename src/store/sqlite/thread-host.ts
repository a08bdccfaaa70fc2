/**
 * The store thread's side of src/store/sqlite/thread.ts: opens the database, then answers each
 * message with the SqliteStore verb it names, in arrival order. Every verb runs synchronously
 * inside better-sqlite3, so one message is finished before the next is read.
 */
import type { MessagePort } from 'node:worker_threads';
import type { CreateResult } from '../types.js';
import { DatabaseLockedError, openSqliteStore, type SqliteOptions, type SqliteStore } from './store.js';
import { unpackNewRun, unpackTransition, type PackedNewRun, type PackedTransition } from './wire.js';

export interface HostCall {
  id: number;
  verb: string;
  args: unknown[];
}

export interface HostError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  /** The database file, for a DatabaseLockedError. */
  path?: string;
}

export type HostAnswer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: HostError };

function describe(e: unknown, path: string): HostError {
  if (e instanceof DatabaseLockedError) return { name: 'DatabaseLockedError', message: e.message, path };
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as Error & { code?: unknown }).code;
  return { name: err.name, message: err.message, stack: err.stack, ...(typeof code === 'string' ? { code } : {}) };
}

/** The verbs whose runs travel packed (wire.ts), unpacked here. */
function unpackArgs(verb: string, args: unknown[]): unknown[] {
  switch (verb) {
    case 'writeBatch':
      return [(args[0] as PackedNewRun[]).map(unpackNewRun), (args[1] as PackedTransition[]).map(unpackTransition)];
    case 'createRuns':
      return [(args[0] as PackedNewRun[]).map(unpackNewRun)];
    case 'applyTransitions':
      return [(args[0] as PackedTransition[]).map(unpackTransition)];
    default:
      return args;
  }
}

/** A created run is answered by its kind alone: the caller holds the run it sent. */
const lighten = (results: CreateResult[]): unknown[] => results.map((r) => (r.kind === 'created' ? { kind: 'created' } : r));

export async function serveStore(port: MessagePort, opts: SqliteOptions): Promise<void> {
  let store: SqliteStore;
  try {
    store = await openSqliteStore(opts);
  } catch (e) {
    port.postMessage({ id: 0, ok: false, error: describe(e, opts.path) } satisfies HostAnswer);
    return;
  }
  port.postMessage({ id: 0, ok: true, value: null } satisfies HostAnswer);
  const verbs = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  port.on('message', (msg: HostCall | null) => {
    if (msg === null) {
      // The database is closed by now. End the thread here: the module loader keeps a port open.
      process.exit(0);
    }
    let answer: Promise<unknown>;
    try {
      answer = verbs[msg.verb](...unpackArgs(msg.verb, msg.args));
    } catch (e) {
      answer = Promise.reject(e);
    }
    answer.then(
      (value) => {
        if (msg.verb === 'createRuns') value = lighten(value as CreateResult[]);
        else if (msg.verb === 'writeBatch') {
          const v = value as { creates: CreateResult[]; transitions: unknown[] };
          value = { creates: lighten(v.creates), transitions: v.transitions };
        }
        port.postMessage({ id: msg.id, ok: true, value } satisfies HostAnswer);
      },
      (e: unknown) => port.postMessage({ id: msg.id, ok: false, error: describe(e, opts.path) } satisfies HostAnswer),
    );
  });
}
