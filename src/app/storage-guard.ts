/**
 * The store as the server uses it when its disk fills up. A verb the store refuses for lack of
 * space fails with a `storage_full` FlowgateError (503 with `Retry-After` on every surface, in its
 * own format) instead of an internal error, and the server reports not ready. Such a write changed
 * nothing (SQLite rolls its transaction back); the engine keeps the writes of the runs it executes
 * and tries them again (src/engine/committer.ts), so no run or state is lost.
 *
 * While the store is full, a tiny write probes it every `probeMs`; the first write that succeeds
 * (the probe, or a commit that created runs) makes the server ready again, without a restart.
 */
import { FlowgateError } from '../core/errors.js';
import type { Logger } from '../engine/executor.js';
import type { Store } from '../store/types.js';

export interface StorageGuard {
  /** The store to use: every verb as the inner store's, with a full disk reported as `storage_full`. */
  readonly store: Store;
  /** True from a write refused for lack of space until a write succeeds again. */
  readonly full: boolean;
  /** True from a verb that failed because the database cannot be reached until a read succeeds again. */
  readonly away: boolean;
}

export interface StorageGuardOptions {
  /** Whether an error of the inner store means it has no space left (for SQLite: isStorageFullError). */
  isFull: (e: unknown) => boolean;
  /** The `Retry-After` (seconds) of a refusal. */
  retryAfterSeconds: number;
  log: Logger;
  clock: () => number;
  /** How often a full store is probed with a write, and a store away with a read (ms). Default 1000. */
  probeMs?: number;
  /**
   * Whether an error means the database cannot be reached (a server store's connection lost, refused
   * or timed out). Such a verb fails with 503 `unavailable` and `Retry-After`, the server is not
   * ready, and a read probes the store every `probeMs` until it answers (the driver reconnects).
   */
  isUnavailable?: (e: unknown) => boolean;
}

/** The setting the probe writes (its value: when it last succeeded). */
const PROBE_SETTING = 'storage_probe';

export function guardStorage(inner: Store, opts: StorageGuardOptions): StorageGuard {
  let full = false;
  let probe: NodeJS.Timeout | null = null;
  let probing = false;

  const refusal = (cause: unknown): FlowgateError =>
    Object.assign(new FlowgateError('storage_full', 'the server has no storage space left; nothing was written, try again later', {
      headers: { 'Retry-After': String(opts.retryAfterSeconds) },
    }), { cause });

  const recovered = (): void => {
    if (!full) return;
    full = false;
    if (probe) clearInterval(probe);
    probe = null;
    opts.log.info({}, 'the store accepts writes again; ready');
  };

  const probeOnce = async (): Promise<void> => {
    if (probing) return;
    probing = true;
    try {
      await inner.putSetting(PROBE_SETTING, String(opts.clock()));
      recovered();
    } catch (e) {
      if (!opts.isFull(e)) opts.log.warn({ err: e }, 'the storage probe failed');
    } finally {
      probing = false;
    }
  };

  let away = false;
  let awayProbe: NodeJS.Timeout | null = null;
  const back = (): void => {
    if (!away) return;
    away = false;
    if (awayProbe) clearInterval(awayProbe);
    awayProbe = null;
    opts.log.info({}, 'the database answers again; ready');
  };
  const probeAway = async (): Promise<void> => {
    if (probing) return;
    probing = true;
    try {
      await inner.getSetting(PROBE_SETTING);
      back();
    } catch {
      // still away: the next probe tries again
    } finally {
      probing = false;
    }
  };

  const refused = (e: unknown): never => {
    if (opts.isUnavailable?.(e)) {
      if (!away) {
        away = true;
        opts.log.error({ err: e }, 'the database cannot be reached: intake answers 503 and the server is not ready until it answers again');
        awayProbe = setInterval(() => void probeAway(), opts.probeMs ?? 1000);
        awayProbe.unref();
      }
      throw Object.assign(new FlowgateError('unavailable', 'the database cannot be reached; nothing was written, try again later', {
        headers: { 'Retry-After': String(opts.retryAfterSeconds) },
      }), { cause: e });
    }
    if (!opts.isFull(e)) throw e;
    if (!full) {
      full = true;
      opts.log.error({ err: e }, 'the store has no space left: writes are refused (503 storage_full) and the server is not ready until space is freed');
      probe = setInterval(() => void probeOnce(), opts.probeMs ?? 1000);
      probe.unref();
    }
    throw refusal(e);
  };

  const guarded: Record<string, unknown> = {
    capabilities: inner.capabilities,
    hints: inner.hints,
    close: () => {
      if (probe) clearInterval(probe);
      if (awayProbe) clearInterval(awayProbe);
      probe = null;
      awayProbe = null;
      return inner.close();
    },
  };
  const source = inner as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const verb of verbsOf(inner)) {
    const fn = source[verb];
    guarded[verb] = verb === 'writeBatch'
      ? (...args: unknown[]) => fn.apply(inner, args).then((r) => {
        // A commit that created runs wrote rows: there is space again.
        if (full && (r as Awaited<ReturnType<Store['writeBatch']>>).creates.some((c) => c.kind === 'created')) recovered();
        return r;
      }, refused)
      : (...args: unknown[]) => fn.apply(inner, args).then(away ? (r) => { back(); return r; } : undefined, refused);
  }
  // The database rate-limit mode's buckets: a check the database cannot answer is a 503 too.
  if (inner.rateBuckets) {
    const buckets = inner.rateBuckets;
    guarded.rateBuckets = { take: (...args: Parameters<typeof buckets.take>) => buckets.take(...args).then(away ? (r) => { back(); return r; } : undefined, refused) };
  }
  return {
    store: guarded as unknown as Store,
    get full() {
      return full;
    },
    get away() {
      return away;
    },
  };
}

/** The store's verbs: its functions (own or inherited), but `close`. */
function verbsOf(store: Store): string[] {
  const names = new Set<string>();
  for (let o: object | null = store; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name !== 'constructor' && name !== 'close' && typeof (store as unknown as Record<string, unknown>)[name] === 'function') names.add(name);
    }
  }
  return [...names];
}
