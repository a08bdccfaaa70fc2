/**
 * In-process notifications of committed changes: SSE streams, sync waiters and metrics listen here.
 * Events are emitted only after the change is durable. They are hints for this node; anything that
 * must survive a missed event re-reads the store.
 */
import { EventEmitter } from 'node:events';
import { isTerminal, type Run, type StepRecord } from '../core/types.js';

export type RunEvent =
  | { type: 'run'; run: Run }
  | { type: 'step'; run_id: string; record: StepRecord };

export class RunBus {
  private readonly emitter = new EventEmitter();
  /** run id -> callbacks waiting for the run to reply or end. */
  private readonly settleWaiters = new Map<string, Set<(run: Run) => void>>();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publishRun(run: Run): void {
    if (this.emitter.listenerCount(run.id) > 0) this.emitter.emit(run.id, { type: 'run', run } satisfies RunEvent);
    this.emitter.emit('*', { type: 'run', run } satisfies RunEvent);
    if (run.reply !== null || isTerminal(run.status)) {
      const waiters = this.settleWaiters.get(run.id);
      if (waiters) {
        this.settleWaiters.delete(run.id);
        for (const w of waiters) w(run);
      }
    }
  }

  publishStep(record: StepRecord): void {
    if (this.emitter.listenerCount(record.run_id) > 0) this.emitter.emit(record.run_id, { type: 'step', run_id: record.run_id, record } satisfies RunEvent);
  }

  /** Follows one run's committed changes; returns the unsubscribe function. */
  subscribe(runId: string, fn: (e: RunEvent) => void): () => void {
    this.emitter.on(runId, fn);
    return () => this.emitter.off(runId, fn);
  }

  /** Follows every run's committed state changes (metrics). */
  subscribeAll(fn: (e: RunEvent) => void): () => void {
    this.emitter.on('*', fn);
    return () => this.emitter.off('*', fn);
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
