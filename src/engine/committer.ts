/**
 * Group commit. Run creations and run transitions that arrive while the store is busy (or within
 * the same turn of the event loop) are written together: one transaction, one fsync, then every
 * caller is answered. No fixed sleep: a batch closes when a write slot is free. Two writes may be
 * in flight (maxInFlight), so a store on its own thread starts the next batch the moment it has
 * committed one, instead of waiting a round trip for it; the store carries them out in order.
 * Nothing in a later batch depends on an earlier one that is still in flight: a run's transition is
 * only queued after its creation was answered.
 *
 * A write the store refuses for lack of space (`storage_full`) is not split up, and nothing of it is
 * dropped: the engine's own writes for the runs it executes (a transition fenced by this node's
 * ownership, a child run's creation) are kept and tried again, with a growing pause, until they are
 * written; their slices wait meanwhile. A write for a caller (a trigger's creation, a cancel, a
 * callback) fails with the error, so the caller is answered 503 and may try again. After `close()`
 * kept writes get one more try, then fail (recovery at the next start continues from the last commit).
 * A database that cannot be reached (`unavailable`) is handled the same way.
 */
import { isStorageFull, isStoreUnavailable } from '../core/errors.js';
import type { CreateResult, NewRun, Store, Transition, TransitionResult } from '../store/types.js';
import type { EngineObserver } from './observer.js';

/** The first pause before a write refused for lack of space is tried again (ms); it doubles up to the cap (a failing write costs little; space that returns is used within a second). */
export const SPACE_RETRY_MS = 200;
export const SPACE_RETRY_MAX_MS = 1_000;

interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/** Where a failed write is told (the engine's logger). */
interface CommitLog {
  error(obj: object, msg?: string): void;
}

export class Committer {
  private creates: Pending<NewRun, CreateResult>[] = [];
  private transitions: Pending<Transition, TransitionResult>[] = [];
  private scheduled = false;
  private readonly writing = new Set<Promise<void>>();
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  /** Writes refused for lack of space, waiting for their next try. */
  private kept: { creates: Pending<NewRun, CreateResult>[]; transitions: Pending<Transition, TransitionResult>[] } = { creates: [], transitions: [] };
  private keptTimer: NodeJS.Timeout | null = null;
  private spacePause = SPACE_RETRY_MS;
  private closed = false;
  private readonly log: CommitLog | undefined;
  private readonly observer: EngineObserver | undefined;

  constructor(private readonly store: Store, opts: { maxBatch?: number; maxInFlight?: number; log?: CommitLog; observer?: EngineObserver } = {}) {
    this.maxBatch = opts.maxBatch ?? 2000;
    this.maxInFlight = opts.maxInFlight ?? 2;
    this.log = opts.log;
    this.observer = opts.observer;
  }

  create(item: NewRun): Promise<CreateResult> {
    return new Promise((resolve, reject) => {
      this.creates.push({ item, resolve, reject });
      this.schedule();
    });
  }

  transition(item: Transition): Promise<TransitionResult> {
    return new Promise((resolve, reject) => {
      this.transitions.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Stops keeping writes refused for lack of space: the kept ones get one more try now, then fail. */
  close(): void {
    this.closed = true;
    if (this.keptTimer) {
      clearTimeout(this.keptTimer);
      this.keptTimer = null;
      this.requeueKept();
    }
  }

  /** Resolves when everything queued so far has been written (or has failed). */
  async drain(): Promise<void> {
    while (this.scheduled || this.writing.size || this.creates.length || this.transitions.length || this.keptTimer) {
      if (this.writing.size) await Promise.all(this.writing);
      else await new Promise((r) => (this.keptTimer && !this.scheduled ? setTimeout(r, 50) : setImmediate(r)));
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    while (this.writing.size >= this.maxInFlight) await Promise.race(this.writing);
    this.scheduled = false;
    const creates = this.creates.splice(0, this.maxBatch);
    const transitions = this.transitions.splice(0, this.maxBatch);
    if (this.creates.length || this.transitions.length) this.schedule();
    if (!creates.length && !transitions.length) return;
    const writing = this.write(creates, transitions).finally(() => this.writing.delete(writing));
    this.writing.add(writing);
    await writing;
  }

  /** One store call, one transaction, one fsync for everything queued. */
  private async write(creates: Pending<NewRun, CreateResult>[], transitions: Pending<Transition, TransitionResult>[]): Promise<void> {
    try {
      const started = this.observer?.committed ? performance.now() : 0;
      const newRuns = creates.map((p) => p.item);
      const moves = transitions.map((p) => p.item);
      const results = await this.store.writeBatch(newRuns, moves);
      this.spacePause = SPACE_RETRY_MS;
      creates.forEach((p, i) => p.resolve(results.creates[i]));
      transitions.forEach((p, i) => p.resolve(results.transitions[i]));
      this.observer?.committed?.({
        creates: newRuns, created: results.creates, transitions: moves, applied: results.transitions, seconds: (performance.now() - started) / 1000,
      });
    } catch (e) {
      // A database out of reach is treated as a full one: the engine's own writes wait for it.
      if (isStorageFull(e) || isStoreUnavailable(e)) return this.outOfSpace(e, creates, transitions);
      const items = creates.length + transitions.length;
      this.log?.error({ err: e, items }, items === 1 ? 'a commit failed; its caller is told' : 'a group commit failed; its items are written one by one');
      if (items === 1) {
        for (const p of creates) p.reject(e);
        for (const p of transitions) p.reject(e);
        return;
      }
      // One bad item must not sink the others: write each alone, so only the culprit fails.
      for (const p of creates) await this.write([p], []);
      for (const p of transitions) await this.write([], [p]);
    }
  }

  /** The store had no space for these writes: keep the engine's own, fail the callers' (see the top). */
  private outOfSpace(e: unknown, creates: Pending<NewRun, CreateResult>[], transitions: Pending<Transition, TransitionResult>[]): void {
    for (const p of creates) {
      if (!this.closed && p.item.run.parent) this.kept.creates.push(p);
      else p.reject(e);
    }
    for (const p of transitions) {
      if (!this.closed && p.item.owner) this.kept.transitions.push(p);
      else p.reject(e);
    }
    if (this.keptTimer || (!this.kept.creates.length && !this.kept.transitions.length)) return;
    this.keptTimer = setTimeout(() => {
      this.keptTimer = null;
      this.requeueKept();
    }, this.spacePause);
    this.keptTimer.unref();
    this.spacePause = Math.min(this.spacePause * 2, SPACE_RETRY_MAX_MS);
  }

  /** Kept writes go before anything queued since (they are older). */
  private requeueKept(): void {
    const { creates, transitions } = this.kept;
    this.kept = { creates: [], transitions: [] };
    if (!creates.length && !transitions.length) return;
    this.creates.unshift(...creates);
    this.transitions.unshift(...transitions);
    this.schedule();
  }
}
