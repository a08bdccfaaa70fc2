/**
 * Durable timers and lease upkeep. Parked runs carry their wake-up time in the store (delay ends,
 * wait timeouts, retry backoffs); one loop per node sleeps until the earliest one and is nudged
 * when an earlier one is written. A million parked runs cost disk, not memory.
 */
import type { Store } from '../store/types.js';
import { DueLoop } from './due-loop.js';
import type { Executor, Logger } from './executor.js';

const CLAIM_BATCH = 200;
/** A failed recovery at start is tried again after this long. */
const RECOVERY_RETRY_MS = 1000;

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

  /** Looks for due runs now (another node may have written a wake-up this node did not see). */
  wake(): void {
    if (!this.loop.isStopped) this.loop.wake();
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

/**
 * On a store with several claimers, how often a node looks for runs whose lease expired (ms): a dead
 * node's runs resume within this of their lease's expiry (docs/operations.md "Running a cluster").
 */
export const ORPHAN_CHECK_MS = 1000;

/** Keeps the leases of the runs this node executes alive, and reclaims orphaned runs. */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | null = null;
  private orphans: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private recovering: Promise<number> | null = null;
  private again = false;

  constructor(
    private readonly store: Store,
    private readonly executor: Executor,
    private readonly opts: {
      owner: string; leaseMs: number; clock: () => number; log: Logger;
      /** Called after each periodic orphan check of a clustered store (the timer loop looks too). */
      onPass?: () => void;
    },
  ) {}

  /** A recovery pass soon (another node released runs or a lease may have expired); passes never overlap. */
  recoverSoon(): void {
    if (!this.timer) return;
    if (this.recovering) {
      this.again = true;
      return;
    }
    this.recovering = this.recover().catch((e) => {
      this.opts.log.error({ err: e }, 'claiming orphaned runs failed; the next check tries again');
      return 0;
    }).finally(() => {
      this.recovering = null;
      if (this.again) {
        this.again = false;
        this.recoverSoon();
      }
    });
  }

  /**
   * Gives up the leases of runs this node holds but will not execute (a clean stop): another node
   * may claim them at once instead of after their lease expires. A failure is logged (they are then
   * claimed when the lease expires).
   */
  async release(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      await this.store.renewLeases(this.opts.owner, ids, this.opts.clock() - 1);
      await this.store.hints?.publish({ kind: 'work' });
    } catch (e) {
      this.opts.log.warn({ err: e, runs: ids.length }, 'releasing the leases of runs not executed failed; other nodes take them when the leases expire');
    }
  }

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

  /**
   * The recovery at start: the number of runs recovered, or null when it failed, in which case the
   * failure is logged and the recovery retried every RECOVERY_RETRY_MS until one succeeds.
   */
  async recoverAtStart(): Promise<number | null> {
    try {
      return await this.recover();
    } catch (e) {
      this.opts.log.error({ err: e }, 'recovering the runs of a previous process failed; retrying');
      this.retryRecovery();
      return null;
    }
  }

  private retryRecovery(): void {
    this.retry = setTimeout(() => {
      this.retry = null;
      this.recover().then(
        (n) => this.opts.log.info({ recovered: n }, 'recovered the runs of a previous process'),
        (e) => {
          this.opts.log.error({ err: e }, 'recovering the runs of a previous process failed; retrying');
          if (this.timer) this.retryRecovery();
        },
      );
    }, RECOVERY_RETRY_MS);
    this.retry.unref?.();
  }

  start(): void {
    const every = Math.max(1000, Math.floor(this.opts.leaseMs / 3));
    this.timer = setInterval(() => void this.renew(), every);
    this.timer.unref?.();
    if (this.store.capabilities.concurrentClaimers) {
      // Another node may die at any time: its runs are claimable once their leases expire, and its
      // parked runs' timers are due whoever looks.
      this.orphans = setInterval(() => {
        this.recoverSoon();
        this.opts.onPass?.();
      }, ORPHAN_CHECK_MS);
      this.orphans.unref?.();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.orphans) clearInterval(this.orphans);
    if (this.retry) clearTimeout(this.retry);
    this.timer = null;
    this.orphans = null;
    this.retry = null;
  }

  /**
   * Extends the leases of every run this node holds (executing, ready, or waiting for a concurrency
   * slot); a run it executes whose lease could not be extended is no longer this node's (it expired
   * and another node claimed it, or the run was cancelled): that is logged and its slice stops.
   * (Runs whose leases expired elsewhere are taken over by the orphan pass, `start`.)
   */
  async renew(): Promise<void> {
    try {
      const ids = this.executor.heldIds;
      if (ids.length) {
        const renewed = new Set(await this.store.renewLeases(this.opts.owner, ids, this.opts.clock() + this.opts.leaseMs));
        const lost = this.executor.leasedJobs().filter((j) => !renewed.has(j.run.id));
        if (lost.length) {
          this.opts.log.warn({ run_ids: lost.map((j) => j.run.id) }, 'these runs are no longer leased to this node (taken over or cancelled); their slices stop');
          for (const job of lost) this.executor.leaseLost(job);
        }
      }
    } catch (e) {
      this.opts.log.error({ err: e }, 'lease renewal failed');
    }
  }
}
