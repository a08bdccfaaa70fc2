/**
 * In-process notifications of committed changes: SSE streams, sync waiters and metrics listen here.
 * Events are emitted only after the change is durable. They are hints for this node; anything that
 * must survive a missed event re-reads the store.
 */
import { isTerminal, type Run, type StepRecord } from '../core/types.js';

export type RunEvent =
  | { type: 'run'; run: Run }
  | { type: 'step'; run_id: string; record: StepRecord };

export class RunBus {
  /** run id -> followers of that run (SSE streams). */
  private readonly followers = new Map<string, Set<(e: RunEvent) => void>>();
  /** Followers of every run's state changes (metrics, logs). */
  private readonly everyRun = new Set<(e: RunEvent) => void>();
  /** run id -> callbacks waiting for the run to reply or end. */
  private readonly settleWaiters = new Map<string, Set<(run: Run) => void>>();

  publishRun(run: Run): void {
    const followers = this.followers.get(run.id);
    if (followers !== undefined || this.everyRun.size > 0) {
      const event: RunEvent = { type: 'run', run };
      if (followers) for (const fn of [...followers]) fn(event);
      for (const fn of this.everyRun) fn(event);
    }
    if (run.reply !== null || isTerminal(run.status)) {
      const waiters = this.settleWaiters.get(run.id);
      if (waiters) {
        this.settleWaiters.delete(run.id);
        for (const w of waiters) w(run);
      }
    }
  }

  publishStep(record: StepRecord): void {
    const followers = this.followers.get(record.run_id);
    if (!followers) return;
    const event: RunEvent = { type: 'step', run_id: record.run_id, record };
    for (const fn of [...followers]) fn(event);
  }

  /** Follows one run's committed changes; returns the unsubscribe function. */
  subscribe(runId: string, fn: (e: RunEvent) => void): () => void {
    let set = this.followers.get(runId);
    if (!set) this.followers.set(runId, (set = new Set()));
    set.add(fn);
    return () => {
      const s = this.followers.get(runId);
      if (s?.delete(fn) && s.size === 0) this.followers.delete(runId);
    };
  }

  /** Follows every run's committed state changes (metrics). */
  subscribeAll(fn: (e: RunEvent) => void): () => void {
    this.everyRun.add(fn);
    return () => void this.everyRun.delete(fn);
  }

  /** Calls fn once when the run replies or ends; returns a cancel function. */
  onSettled(runId: string, fn: (run: Run) => void): () => void {
    let set = this.settleWaiters.get(runId);
    if (!set) this.settleWaiters.set(runId, (set = new Set()));
    set.add(fn);
    return () => {
      const s = this.settleWaiters.get(runId);
      if (s) {
        s.delete(fn);
        if (s.size === 0) this.settleWaiters.delete(runId);
      }
    };
  }
}
