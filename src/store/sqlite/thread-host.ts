/**
 * The store thread's side of src/store/sqlite/thread.ts: opens the database, then answers each
 * message with the SqliteStore verb it names, in arrival order. Every verb runs synchronously
 * inside better-sqlite3, so one message is finished before the next is read, and answers leave in
 * the order the calls came (thread.ts relies on it to tell which call an unreadable answer was for).
 *
 * No call goes unanswered: an answer that cannot be sent (structured clone refuses it) is answered
 * with that error instead, and a call that cannot be read is answered with an error under the id
 * it must have had. An answer nested deeper than WIRE_MAX_DEPTH is never sent, since the main
 * thread (with a smaller stack) could not read it: a run whose stored values nest that deep cannot
 * be loaded, so it is failed in the store by itself (`too_deep`) and answered as such — and left
 * out of claims — instead of wedging whoever asked for it.
 */
import type { MessagePort } from 'node:worker_threads';
import { exceedsDepth } from '../../core/depth.js';
import { isTerminal, type Run, type StepRecord } from '../../core/types.js';
import type { CreateResult } from '../types.js';
import { DatabaseLockedError, openSqliteStore, type SqliteOptions, type SqliteStore } from './store.js';
import { unpackNewRun, unpackTransition, type PackedNewRun, type PackedTransition } from './wire.js';

/**
 * The deepest answer sent to the main thread. Structured clone recurses per level; the main thread
 * reads about 3,000 levels with Node's default stack (half that with --stack-size=500). Values that
 * entered through Flowgate nest at most a few times the nesting limit (core/depth.ts, at most 256).
 */
export const WIRE_MAX_DEPTH = 1000;
/** Levels an answer may wrap a run in (`{ runs: [run] }`, `{ creates: [{ run }] }`). */
const WRAP_LEVELS = 4;

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

const UNREADABLE = `nests deeper than ${WIRE_MAX_DEPTH - WRAP_LEVELS} levels and cannot be loaded`;

/**
 * Answers that would nest deeper than WIRE_MAX_DEPTH, made sendable: every run in them that nests too
 * deep is failed in the store (unless it has ended already) and answered as failed with its values
 * left out, or left out of a claim; step records keep their identity without their values. Anything
 * else too deep is an error answer.
 */
class Unreadable {
  constructor(private readonly store: SqliteStore) {}

  async fit(verb: string, value: unknown): Promise<unknown> {
    switch (verb) {
      case 'getRun': case 'loadRun': case 'findRunByCallbackToken': case 'findRunByRef':
        return value === null ? null : this.run(value as Run);
      case 'listRuns': {
        const page = value as { runs: Run[]; next_cursor: string | null };
        return { runs: await this.runs(page.runs, false), next_cursor: page.next_cursor };
      }
      case 'claimDueRuns': case 'claimOrphanedRuns': case 'claimSlots':
        return this.runs(value as Run[], true);
      case 'runsAwaitingDelivery': case 'loadRuns':
        return this.runs(value as Run[], false);
      case 'acquireSlots':
        return Promise.all((value as { kind: string; run?: Run }[]).map(async (a) => (a.run === undefined ? a : { ...a, run: await this.run(a.run) })));
      case 'listSteps':
        return (value as StepRecord[]).map((r) => (tooDeep(r) ? this.record(r) : r));
      case 'createRuns':
        return Promise.all((value as CreateResult[]).map((r) => this.created(r)));
      case 'writeBatch': {
        const v = value as { creates: CreateResult[]; transitions: unknown[] };
        return { creates: await Promise.all(v.creates.map((r) => this.created(r))), transitions: v.transitions };
      }
      default:
        throw new RangeError(`the answer to ${verb} nests deeper than ${WIRE_MAX_DEPTH} levels; it cannot be sent`);
    }
  }

  private async runs(runs: Run[], claimed: boolean): Promise<Run[]> {
    const out: Run[] = [];
    for (const run of runs) {
      if (!tooDeep(run)) out.push(run);
      else {
        const failed = await this.run(run);
        if (!claimed) out.push(failed);
      }
    }
    return out;
  }

  private async created(r: CreateResult): Promise<unknown> {
    return r.kind === 'created' || !tooDeep(r.run) ? r : { ...r, run: await this.run(r.run) };
  }

  /** Fails a run that nests too deep (once: an ended run stays as it ended) and answers it without its deep values. */
  private async run(run: Run): Promise<Run> {
    if (!tooDeep(run)) return run;
    const error = { code: 'too_deep', message: `the run's stored data ${UNREADABLE}` };
    let shown = run;
    if (!isTerminal(run.status)) {
      // Its stored values stay as they are (evidence); it is simply never claimed again.
      const now = Date.now();
      const failed: Run = {
        ...run, status: 'failed', error, parking: null, wake_at: null, owner: null, lease_until: null,
        finished_at: now, updated_at: now, rev: run.rev + 1,
      };
      const [result] = await this.store.applyTransitions([{ run: failed, expectRev: run.rev, steps: [] }]);
      if (result.ok) shown = failed;
    }
    const { meta, ...rest } = shown;
    return {
      ...rest,
      input: tooDeep(shown.input) ? {} : shown.input,
      data: tooDeep(shown.data) ? {} : shown.data,
      reply: tooDeep(shown.reply) ? null : shown.reply,
      error: shown.error === null || tooDeep(shown.error) ? error : shown.error,
      ...(meta !== undefined && !tooDeep(meta) ? { meta } : {}),
    };
  }

  private record(r: StepRecord): StepRecord {
    return { ...r, input: null, output: null, attempts: [], error: { code: 'too_deep', message: `the step record ${UNREADABLE}` } };
  }
}

const tooDeep = (v: unknown): boolean => exceedsDepth(v, WIRE_MAX_DEPTH - WRAP_LEVELS);

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
  const unreadable = new Unreadable(store);
  const fail = (id: number, e: unknown): void => {
    try {
      port.postMessage({ id, ok: false, error: describe(e, opts.path) } satisfies HostAnswer);
    } catch {
      port.postMessage({ id, ok: false, error: { name: 'Error', message: 'the store call failed, and its error could not be sent' } } satisfies HostAnswer);
    }
  };
  const answer = (id: number, value: unknown): void => {
    try {
      port.postMessage({ id, ok: true, value } satisfies HostAnswer);
    } catch (e) {
      // DataCloneError, or RangeError from a clone that ran out of stack: the caller hears of it.
      fail(id, e);
    }
  };
  // Answers leave in call order: each call is handled once the one before it has been answered.
  let previous: Promise<void> = Promise.resolve();
  // The ids of calls are consecutive (thread.ts reuses the id of a call it could not send).
  let lastId = 0;

  const handle = async (msg: HostCall): Promise<void> => {
    try {
      let value = await verbs[msg.verb](...unpackArgs(msg.verb, msg.args));
      if (msg.verb === 'createRuns') value = lighten(value as CreateResult[]);
      else if (msg.verb === 'writeBatch') {
        const v = value as { creates: CreateResult[]; transitions: unknown[] };
        value = { creates: lighten(v.creates), transitions: v.transitions };
      }
      if (exceedsDepth(value, WIRE_MAX_DEPTH)) value = await unreadable.fit(msg.verb, value);
      answer(msg.id, value);
    } catch (e) {
      fail(msg.id, e);
    }
  };

  port.on('message', (msg: HostCall | null) => {
    if (msg === null) {
      // The database is closed by now. End the thread here: the module loader keeps a port open.
      process.exit(0);
    }
    lastId = msg.id;
    const next = (): Promise<void> => handle(msg);
    previous = previous.then(next, next);
  });
  // A call that arrived but cannot be read (it failed to deserialize here): answer the id it had.
  port.on('messageerror', (e: Error) => {
    const id = ++lastId;
    const next = (): void => fail(id, new RangeError(`the store thread could not read a call: ${e.message}`));
    previous = previous.then(next, next);
  });
}
