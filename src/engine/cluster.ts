/**
 * The cluster link: what keeps one node in step with the other nodes sharing its store.
 *
 * - `run` hints (a run another node changed) are re-read from the store, in one batch read for
 *   every hint that arrived in the same turn, and published on this node's bus, so a `?wait`, Sync
 *   API or SSE caller here, and the tenant's run-changes streams (run-feed.ts), hear the run that
 *   node B executed at once. After the hint channel reconnects the bus announces a gap, so those
 *   streams resync.
 * - Every `recheckMs` the runs this node's waiters and followers watch are re-read in batches (one
 *   store read per RECHECK_BATCH runs), and all of them after the hint channel reconnects: a lost
 *   hint costs at most that delay, never an answer.
 * - `work` hints make the claim loops look at once (a due timer, a queued or released run).
 * - `invalidate` hints land in the node's caches (src/engine/caches.ts).
 *
 * A hint is never the truth: every decision is made on what the store answers.
 */
import type { Run, StepRecord } from '../core/types.js';
import type { Hint, HintListener, Store } from '../store/types.js';
import type { RunBus } from './bus.js';
import type { Logger } from './executor-types.js';

/** Runs re-read by one store read. */
export const RECHECK_BATCH = 500;
/** How often watched runs are re-read when nothing is heard of them (ms; docs/operations.md). */
export const DEFAULT_RECHECK_MS = 1000;

export interface ClusterLinkParts {
  /** Something became claimable: the timer and recovery loops should look now. */
  wakeClaims(): void;
  /** A cached fact changed on another node; `key` '' forgets the whole cache. */
  invalidate(cache: string, key: string): void;
  /** Hints may have been missed: forget every cached fact. */
  invalidateAll(): void;
}

export class ClusterLink implements HintListener {
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly pending = new Set<string>();
  private flushing = false;
  private flushDue = false;
  private stopped = true;
  /** The step records already published for followed runs: run id -> seq -> status and finish time. */
  private readonly stepsSeen = new Map<string, Map<number, string>>();

  constructor(
    private readonly store: Store,
    private readonly bus: RunBus,
    private readonly parts: ClusterLinkParts,
    private readonly opts: { recheckMs: number; log: Logger },
  ) {}

  /** Whether other nodes may change this store's runs (the link does nothing on a single-node store). */
  get active(): boolean {
    return this.store.capabilities.concurrentClaimers || this.store.hints !== undefined;
  }

  start(): void {
    if (!this.active || !this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.store.hints?.subscribe(this) ?? null;
    this.timer = setInterval(() => this.recheck(), this.opts.recheckMs);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.pending.clear();
  }

  hint(hint: Hint): void {
    if (this.stopped) return;
    switch (hint.kind) {
      case 'run':
        if (this.bus.isWatched(hint.id) || this.bus.followsTenant(hint.tenant)) this.read([hint.id]);
        return;
      case 'work':
        this.parts.wakeClaims();
        return;
      case 'invalidate':
        this.parts.invalidate(hint.cache, hint.key);
        return;
    }
  }

  reconnected(): void {
    if (this.stopped) return;
    this.opts.log.info({}, 'the hint channel is back: re-reading what this node waits for');
    this.parts.invalidateAll();
    this.parts.wakeClaims();
    this.bus.announceGap();
    this.recheck();
  }

  /** Re-reads every run watched here (the periodic check). */
  recheck(): void {
    if (this.stopped) return;
    for (const id of this.stepsSeen.keys()) if (!this.bus.isFollowed(id)) this.stepsSeen.delete(id);
    const ids = this.bus.watchedIds();
    if (ids.length > 0) this.read(ids);
  }

  /** Queues runs for the next batch read (hints of one turn share one read). */
  private read(ids: string[]): void {
    for (const id of ids) this.pending.add(id);
    if (this.flushing) {
      this.flushDue = true;
      return;
    }
    this.flushing = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.size > 0 && !this.stopped) {
        const ids = [...this.pending].slice(0, RECHECK_BATCH);
        for (const id of ids) this.pending.delete(id);
        const runs = await this.store.loadRuns(ids);
        for (const run of runs) await this.publish(run);
      }
    } catch (e) {
      this.opts.log.warn({ err: e }, 're-reading watched runs failed; the next periodic check tries again');
      this.pending.clear();
    } finally {
      this.flushing = false;
      if (this.flushDue && !this.stopped) {
        this.flushDue = false;
        if (this.pending.size > 0) this.read([]);
      }
    }
  }

  private async publish(run: Run): Promise<void> {
    if (!this.bus.isNewer(run)) return;
    // The step records first (a stream shows the steps before the run state they led to).
    if (this.bus.isFollowed(run.id)) {
      for (const record of await this.newSteps(run.id)) this.bus.publishRemoteStep(record);
    }
    this.bus.publishRemote(run);
  }

  /** The step records of a followed run not yet published here in their current state. */
  private async newSteps(runId: string): Promise<StepRecord[]> {
    const records = await this.store.listSteps(runId);
    let seen = this.stepsSeen.get(runId);
    if (!seen) this.stepsSeen.set(runId, (seen = new Map()));
    const out: StepRecord[] = [];
    for (const r of records) {
      const mark = `${r.status}:${r.finished_at ?? ''}`;
      if (seen.get(r.seq) === mark) continue;
      seen.set(r.seq, mark);
      out.push(r);
    }
    return out;
  }
}
