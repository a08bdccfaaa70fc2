/**
 * Durable timers and lease upkeep. Parked runs carry their wake-up time in the store (delay ends,
 * wait timeouts, retry backoffs); one loop per node sleeps until the earliest one and is nudged
 * when an earlier one is written. A million parked runs cost disk, not memory.
 */
import type { Store } from '../store/types.js';
import type { Executor, Logger } from './executor.js';

const MAX_SLEEP_MS = 30_000;
const CLAIM_BATCH = 200;

export class TimerLoop {
  private timer: NodeJS.Timeout | null = null;
  private dueAt = Infinity;
  private running = false;
  private stopped = false;
  private rerun = false;

  constructor(
    private readonly store: Store,
    private readonly executor: Executor,
    private readonly opts: { owner: string; leaseMs: number; clock: () => number; log: Logger },
  ) {}

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** A wake-up at `at` was just written: make sure the loop wakes by then. */
  nudge(at: number): void {
    if (this.stopped || at >= this.dueAt) return;
    this.arm(at);
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = at;
    const delay = Math.max(0, Math.min(MAX_SLEEP_MS, at - this.opts.clock()));
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.running = true;
    this.dueAt = Infinity;
    try {
      for (;;) {
        const now = this.opts.clock();
        const runs = await this.store.claimDueRuns(this.opts.owner, now, now + this.opts.leaseMs, CLAIM_BATCH);
        for (const run of runs) this.executor.dispatch({ run });
        if (runs.length < CLAIM_BATCH || this.stopped) break;
      }
      const next = await this.store.nextWakeAt();
      // A nudge that came while nextWakeAt was read (this.dueAt) may be earlier than what it read.
      if (!this.stopped) this.arm(Math.min(next ?? this.opts.clock() + MAX_SLEEP_MS, this.dueAt));
    } catch (e) {
      this.opts.log.error({ err: e }, 'timer loop failed; retrying in 1s');
      if (!this.stopped) this.arm(Math.min(this.opts.clock() + 1000, this.dueAt));
    } finally {
      this.running = false;
      if (this.rerun && !this.stopped) {
        this.rerun = false;
        void this.tick();
      }
    }
  }
}

/** Keeps the leases of the runs this node executes alive, and reclaims orphaned runs. */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    private readonly executor: Executor,
    private readonly opts: { owner: string; leaseMs: number; clock: () => number; log: Logger },
  ) {}

  /** Claims every run left queued or running by a dead owner and dispatches it. */
  async recover(): Promise<number> {
    let total = 0;
    for (;;) {
      const now = this.opts.clock();
      const runs = await this.store.claimOrphanedRuns(this.opts.owner, now, now + this.opts.leaseMs, CLAIM_BATCH);
      for (const run of runs) this.executor.dispatch({ run, recovered: true });
      total += runs.length;
      if (runs.length < CLAIM_BATCH) return total;
    }
  }

  start(): void {
    const every = Math.max(1000, Math.floor(this.opts.leaseMs / 3));
    this.timer = setInterval(() => void this.renew(), every);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async renew(): Promise<void> {
    try {
      const ids = this.executor.activeIds;
      if (ids.length) await this.store.renewLeases(this.opts.owner, ids, this.opts.clock() + this.opts.leaseMs);
      if (this.store.capabilities.concurrentClaimers) await this.recover();
    } catch (e) {
      this.opts.log.error({ err: e }, 'lease renewal failed');
    }
  }
}
