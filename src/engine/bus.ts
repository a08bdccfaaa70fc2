/**
 * In-process notifications of committed changes: SSE streams, sync waiters and metrics listen here.
 * Events are emitted only after the change is durable. They are hints for this node; anything that
 * must survive a missed event re-reads the store.
 *
 * Changes another node committed reach the followers and waiters through `publishRemote` (fed by
 * the cluster link, src/engine/cluster.ts, from the store's hints and periodic re-reads); this
 * node's every-run listeners (metrics, logs) hear only what this node committed.
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
  /** Followers of every run of a tenant, whichever node committed the change (run-changes streams). */
  private readonly tenantFollowers = new Map<string, Set<(e: RunEvent) => void>>();
  /** Told when changes may have been missed (the cluster link's hint channel came back). */
  private readonly gapListeners = new Set<() => void>();
  /** The highest rev published of each watched run (a remote re-read that brings nothing newer is dropped). */
  private readonly seenRev = new Map<string, number>();

  publishRun(run: Run): void {
    this.noteRev(run);
    this.deliver(run);
    const followers = this.tenantFollowers.get(run.tenant);
    if (followers) {
      const event: RunEvent = { type: 'run', run };
      for (const fn of [...followers]) fn(event);
    }
  }

  /**
   * A run state another node committed, as read back from the store: its followers, waiters and the
   * tenant's followers hear it when it is newer than what they heard; true when it was.
   */
  publishRemote(run: Run): boolean {
    if (!this.isNewer(run)) return false;
    this.noteRev(run);
    if (this.followers.has(run.id) || this.settleWaiters.has(run.id)) {
      const followers = this.followers.get(run.id);
      if (followers) for (const fn of [...followers]) fn({ type: 'run', run });
      this.settle(run);
    }
    const tenant = this.tenantFollowers.get(run.tenant);
    if (tenant) for (const fn of [...tenant]) fn({ type: 'run', run });
    return true;
  }

  /** Whether someone here watches the run and has not heard of this state of it yet. */
  isNewer(run: Run): boolean {
    const seen = this.seenRev.get(run.id);
    if (seen !== undefined) return run.rev > seen;
    return this.isWatched(run.id) || this.tenantFollowers.has(run.tenant);
  }

  /** A step record another node committed (read back from the store), for the run's followers. */
  publishRemoteStep(record: StepRecord): void {
    this.publishStep(record);
  }

  /** The runs this node's followers and waiters are interested in. */
  watchedIds(): string[] {
    const ids = new Set(this.followers.keys());
    for (const id of this.settleWaiters.keys()) ids.add(id);
    return [...ids];
  }

  isWatched(runId: string): boolean {
    return this.followers.has(runId) || this.settleWaiters.has(runId);
  }

  /** Whether the run's step records matter to someone here (SSE streams follow them, waiters do not). */
  isFollowed(runId: string): boolean {
    return this.followers.has(runId);
  }

  /** Whether something here follows every run of the tenant. */
  followsTenant(tenant: string): boolean {
    return this.tenantFollowers.has(tenant);
  }

  /** Follows every run of a tenant, committed here or (through the cluster link) on another node. */
  subscribeTenant(tenant: string, fn: (e: RunEvent) => void): () => void {
    let set = this.tenantFollowers.get(tenant);
    if (!set) this.tenantFollowers.set(tenant, (set = new Set()));
    set.add(fn);
    return () => {
      const s = this.tenantFollowers.get(tenant);
      if (s?.delete(fn) && s.size === 0) this.tenantFollowers.delete(tenant);
    };
  }

  /** Calls fn whenever changes may have been missed; returns the unsubscribe function. */
  onGap(fn: () => void): () => void {
    this.gapListeners.add(fn);
    return () => void this.gapListeners.delete(fn);
  }

  /** Changes committed elsewhere may have been missed: everyone who follows more than one run re-reads. */
  announceGap(): void {
    for (const fn of [...this.gapListeners]) fn();
  }

  private noteRev(run: Run): void {
    if (!this.isWatched(run.id)) return;
    const seen = this.seenRev.get(run.id);
    if (seen === undefined || run.rev > seen) this.seenRev.set(run.id, run.rev);
  }

  /** Forgets the revs of runs nobody here watches any more. */
  private forget(runId: string): void {
    if (!this.isWatched(runId)) this.seenRev.delete(runId);
  }

  private settle(run: Run): void {
    if (run.reply !== null || isTerminal(run.status)) {
      const waiters = this.settleWaiters.get(run.id);
      if (waiters) {
        this.settleWaiters.delete(run.id);
        this.forget(run.id);
        for (const w of waiters) w(run);
      }
    }
  }

  private deliver(run: Run): void {
    const followers = this.followers.get(run.id);
    if (followers !== undefined || this.everyRun.size > 0) {
      const event: RunEvent = { type: 'run', run };
      if (followers) for (const fn of [...followers]) fn(event);
      for (const fn of this.everyRun) fn(event);
    }
    this.settle(run);
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
      if (s?.delete(fn) && s.size === 0) {
        this.followers.delete(runId);
        this.forget(runId);
      }
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
        if (s.size === 0) {
          this.settleWaiters.delete(runId);
          this.forget(runId);
        }
      }
    };
  }
}
