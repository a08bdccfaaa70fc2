/**
 * Durable timers and lease upkeep. Parked runs carry their wake-up time in the store (delay ends,
 * wait timeouts, retry backoffs); one loop per node sleeps until the earliest one and is nudged
 * when an earlier one is written. A million parked runs cost disk, not memory.
 */
import type { Store } from '../store/types.js';
import { DueLoop } from './due-loop.js';
import type { Executor, Logger } from './executor.js';

const CLAIM_BATCH = 200;

export class TimerLoop {
  private readonly loop: DueLoop;

  constructor(
    private readonly store: Store,
    private readonly executor: Executor,
    private readonly opts: { owner: string; leaseMs: number; clock: () => number; log: Logger },
  ) {
    this.loop = new DueLoop(() => this.pass(), { clock: opts.clock, log: opts.log, what: 'timer loop' });
  }

  start(): void {
    this.loop.start();
  }

  stop(): void {
    this.loop.stop();
  }

  /** A wake-up at `at` was just written: make sure the loop wakes by then. */
  nudge(at: number): void {
    this.loop.nudge(at);
  }

  /** Claims every due parked run, then says when the next one is due. */
  private async pass(): Promise<number | null> {
    for (;;) {
      const now = this.opts.clock();
      const runs = await this.store.claimDueRuns(this.opts.owner, now, now + this.opts.leaseMs, CLAIM_BATCH);
      for (const run of runs) this.executor.dispatch({ run });
      if (runs.length < CLAIM_BATCH || this.loop.isStopped) break;
    }
    return this.store.nextWakeAt();
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
