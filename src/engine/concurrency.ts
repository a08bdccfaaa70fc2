/**
 * Per-workflow concurrency caps (`trigger.concurrency`): at most `cap` runs of a workflow execute
 * at once; the others wait, still `queued`. Where the count is kept depends on the store:
 *
 * - A store one node owns (SQLite; `capabilities.concurrentClaimers` false): in this node's memory.
 *   Excess runs wait here, under this node's lease, and take the slot a finishing run hands over.
 * - A store several nodes share (PostgreSQL): in the store, across the cluster. Before a capped
 *   run executes, `Store.acquireSlots` decides (serialized per workflow; the capped runs of one
 *   turn are asked for in one call, one call in flight at a time): the run starts, or it goes to
 *   the store's slot queue and this job ends. `claimFree` starts queued runs once slots are free,
 *   on whichever node looks first: the node whose capped run just ended (it has room, and the end
 *   is committed before it looks, so a run queued meanwhile is seen by it or was granted the
 *   slot), and every node's periodic pass (the lease keeper's orphan check, every second), which
 *   also finds the slots of expired leases. A slot is held by a run that is `running` under a
 *   live lease, so a node killed with -9 gives its slots back when its leases expire.
 *
 * Runs of workflows without a cap never pass here.
 */
import type { SlotAnswer, Store } from '../store/types.js';
import type { Job, Logger } from './executor-types.js';

/** Runs one claim of the slot queue starts at most. */
const CLAIM_BATCH = 200;
/** A slot decision that failed on a store error is tried again after this long (ms). */
const RETRY_MS = 1000;

export interface GateHost {
  store: Store;
  owner: string;
  clock: () => number;
  leaseMs: number;
  log: Logger;
  /** How many more runs the executor can take now. */
  room(): number;
  dispatch(job: Job): void;
  isStopping(): boolean;
  /** A run held but not executed because the executor stops (its lease is released). */
  dropped(runId: string): void;
}

interface LocalGate {
  running: number;
  waiting: (() => void)[];
}

export class ConcurrencyGates {
  private readonly local = new Map<string, LocalGate>();
  private claiming: Promise<void> | null = null;
  private claimAgain = false;
  /** Slot requests waiting for the next acquireSlots call, and whether one is in flight. */
  private asks: { runId: string; cap: number; answer: (a: SlotAnswer) => void; fail: (e: unknown) => void }[] = [];
  private asking = false;

  constructor(private readonly h: GateHost) {}

  /** Whether caps are decided by the store (several nodes) rather than in this node's memory. */
  get shared(): boolean {
    return this.h.store.capabilities.concurrentClaimers;
  }

  /**
   * Executes `body` once `job`'s run may execute under its workflow's `cap`. Returns without
   * executing it when the run went to the store's slot queue, is no longer this node's, or the
   * executor stops meanwhile.
   */
  pass(job: Job, cap: number, body: () => Promise<void>): Promise<void> {
    return this.shared ? this.viaStore(job, cap, body) : this.inMemory(job, cap, body);
  }

  /** The executor stops: runs waiting for a local slot go on (and are dropped, not executed). */
  stop(): void {
    for (const g of this.local.values()) for (const w of g.waiting.splice(0)) w();
  }

  /**
   * Starts runs of the store's slot queue that have a free slot now, as many as the executor has
   * room for (a shared store only; claims never overlap: one asked for meanwhile runs after).
   */
  claimFree(): Promise<void> {
    if (!this.shared || this.h.isStopping()) return Promise.resolve();
    if (this.claiming) {
      this.claimAgain = true;
      return this.claiming;
    }
    this.claiming = this.claim().catch((e) => {
      this.h.log.error({ err: e }, 'starting runs of the slot queue failed; the next pass tries again');
    }).finally(() => {
      this.claiming = null;
      if (this.claimAgain) {
        this.claimAgain = false;
        void this.claimFree();
      }
    });
    return this.claiming;
  }

  private async claim(): Promise<void> {
    for (;;) {
      const limit = Math.min(this.h.room(), CLAIM_BATCH);
      if (limit <= 0 || this.h.isStopping()) return;
      const now = this.h.clock();
      const runs = await this.h.store.claimSlots(this.h.owner, now, now + this.h.leaseMs, limit);
      // `recovered`: a run may have been stopped mid-step (its node died, or it yielded its slot).
      for (const run of runs) this.h.dispatch({ run, recovered: true, slotted: true });
      if (runs.length < limit) return;
    }
  }

  private async viaStore(job: Job, cap: number, body: () => Promise<void>): Promise<void> {
    if (!job.slotted) {
      let answer: SlotAnswer;
      try {
        answer = await this.ask(job.run.id, cap);
      } catch (e) {
        this.h.log.warn({ err: e, run_id: job.run.id }, 'deciding whether a capped run may start failed; trying again');
        setTimeout(() => this.h.dispatch(job), RETRY_MS).unref?.();
        return;
      }
      // queued: it waits in the store's slot queue, for whichever node has room when a slot frees.
      if (answer.kind !== 'started' || answer.run.status !== 'running') return;
      if (answer.run.rev !== job.run.rev) job.run = answer.run;
    }
    try {
      if (this.h.isStopping()) this.h.dropped(job.run.id);
      else await body();
    } finally {
      // The run left `running` (parked, ended): its slot is free, and this node has room.
      if (job.run.status !== 'running') void this.claimFree();
    }
  }

  /** Asks for a run's slot with the other asks of this turn (and those made while a call is in flight). */
  private ask(runId: string, cap: number): Promise<SlotAnswer> {
    return new Promise((answer, fail) => {
      this.asks.push({ runId, cap, answer, fail });
      if (!this.asking) {
        this.asking = true;
        setImmediate(() => void this.flushAsks());
      }
    });
  }

  private async flushAsks(): Promise<void> {
    while (this.asks.length > 0) {
      const batch = this.asks.splice(0);
      const now = this.h.clock();
      try {
        const answers = await this.h.store.acquireSlots(this.h.owner, now, now + this.h.leaseMs, batch.map(({ runId, cap }) => ({ runId, cap })));
        batch.forEach((b, i) => b.answer(answers[i]));
      } catch (e) {
        for (const b of batch) b.fail(e);
      }
    }
    this.asking = false;
  }

  private async inMemory(job: Job, cap: number, body: () => Promise<void>): Promise<void> {
    const key = `${job.run.tenant}\u0000${job.run.workflow}`;
    let gate = this.local.get(key);
    if (!gate) this.local.set(key, (gate = { running: 0, waiting: [] }));
    const g = gate;
    if (g.running >= cap) await new Promise<void>((resolve) => g.waiting.push(resolve)); // the releaser hands over its slot
    else g.running++;
    try {
      if (!this.h.isStopping()) await body();
      else this.h.dropped(job.run.id);
    } finally {
      const next = g.waiting.shift();
      if (next) next();
      else if (--g.running === 0) this.local.delete(key);
    }
  }
}
