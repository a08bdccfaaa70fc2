/**
 * The executor: runs the steps of the runs this node holds. A run is executed in a slice: steps
 * follow one another in memory and the slice commits (one fenced transition, group-committed with
 * other runs' transitions) when the run replies, parks, ends, is about to do I/O, or has run many
 * steps. A slice whose fenced commit is refused stops: the run changed elsewhere (cancel, modify,
 * another node), and the store's version wins; if the run is still this node's, it continues from
 * the stored state. A new run's first slice runs before the run is stored (FreshRun).
 */
import type { Run } from '../core/types.js';
import type { ExecutorDeps, Job } from './executor-types.js';
import { ConcurrencyGates } from './concurrency.js';
import { Slice, type SliceHost } from './slice.js';

export type { ExecutorDeps, Job, Logger, SecretsPort } from './executor-types.js';

/**
 * How long the executor spends starting slices from its ready queue in one turn of the event loop
 * (a slice runs synchronously until its first await: up to a slice's worth of steps). The rest
 * waits for the next turn, so requests (new triggers, health checks) are answered in between.
 */
export const PUMP_TURN_MS = 10;

export class Executor {
  private readonly active = new Map<string, Job>();
  private readonly ready: Job[] = [];
  private stopping = false;
  /** What slices see of this executor (made once). */
  private readonly host: SliceHost;
  private idleWaiters: (() => void)[] = [];
  /** When the current turn's pumping began (-1: not in this turn), and whether a later pump is due. */
  private turnBegan = -1;
  private pumpDue = false;

  /** The per-workflow concurrency caps (`trigger.concurrency`), in memory or in the store. */
  private readonly gates: ConcurrencyGates;

  constructor(private readonly d: ExecutorDeps) {
    this.host = { deps: d, isStopping: () => this.stopping, readyLater: (run) => this.readyLater(run) };
    this.gates = new ConcurrencyGates({
      store: d.store, owner: d.owner, clock: d.clock, leaseMs: d.leaseMs, log: d.log,
      room: () => this.d.maxActive - this.load, dispatch: (job) => this.dispatch(job),
      isStopping: () => this.stopping, dropped: (id) => this.dropped.add(id),
    });
  }

  /**
   * Starts runs waiting in the store's slot queue whose workflow has a free slot (on a store shared
   * by several nodes; called periodically, and by the gates when a capped run of this node ends).
   */
  claimFreeSlots(): Promise<void> {
    return this.gates.claimFree();
  }

  get activeIds(): string[] {
    return [...this.active.keys()];
  }

  /** The runs this node holds leases on: executing, waiting for a concurrency slot, or ready to start. */
  get heldIds(): string[] {
    const ids = new Set(this.active.keys());
    for (const job of this.ready) ids.add(job.run.id);
    return [...ids];
  }

  /** The jobs whose runs are stored with this node's lease (a fresh run has none yet): what renewal extends. */
  leasedJobs(): Job[] {
    const jobs: Job[] = [];
    for (const job of this.active.values()) if (!job.fresh) jobs.push(job);
    return jobs;
  }

  /**
   * Renewal found `job`'s run no longer leased to this node. Its slice stops before its next step,
   * if that slice still holds the run (a job that ended meanwhile, or was replaced by a later
   * job of the same run, is left alone).
   */
  leaseLost(job: Job): void {
    if (this.active.get(job.run.id) === job) job.leaseLost = true;
  }

  /** Whether a slice of this node holds the run now. */
  isActive(runId: string): boolean {
    return this.active.has(runId);
  }

  get load(): number {
    return this.active.size + this.ready.length;
  }

  /** Whether a new run can be executed before its creation is committed (see FreshRun). */
  canRunFresh(): boolean {
    return !this.stopping && this.active.size < this.d.maxActive;
  }

  /** Executes a new, not yet stored run at once; its first commit creates it (see FreshRun). */
  runFresh(job: Job & { fresh: NonNullable<Job['fresh']> }): void {
    this.active.set(job.run.id, job);
    void this.holding(job, false);
  }

  dispatch(job: Job): void {
    if (this.stopping) return;
    this.ready.push(job);
    this.pump();
  }

  /**
   * Stops taking work and resolves when every slice in flight has committed or stopped, with the ids
   * of the runs this node held but did not get to (ready or waiting for a concurrency slot): their
   * leases are this node's still, for the caller to release.
   */
  async stop(): Promise<string[]> {
    this.stopping = true;
    for (const job of this.ready.splice(0)) if (!this.active.has(job.run.id)) this.dropped.add(job.run.id);
    this.gates.stop();
    if (this.active.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    return [...this.dropped];
  }

  /** Runs held but never started because the executor stopped. */
  private readonly dropped = new Set<string>();

  private pump(): void {
    if (this.turnBegan < 0) {
      this.turnBegan = performance.now();
      setImmediate(() => { this.turnBegan = -1; });
    }
    while (this.ready.length > 0 && this.active.size < this.d.maxActive) {
      if (performance.now() - this.turnBegan >= PUMP_TURN_MS) {
        this.pumpNextTurn();
        return;
      }
      const job = this.ready.shift()!;
      if (this.active.has(job.run.id)) continue; // a slice already holds this run
      this.active.set(job.run.id, job);
      void this.holding(job, true);
    }
  }

  private pumpNextTurn(): void {
    if (this.pumpDue) return;
    this.pumpDue = true;
    setImmediate(() => {
      this.pumpDue = false;
      this.pump();
    });
  }

  /**
   * Executes a job (through its workflow's concurrency gate when `gated`) while it counts as active;
   * a crash fails the run (or, never stored, the trigger).
   */
  private async holding(job: Job, gated: boolean): Promise<void> {
    try {
      await (gated ? this.gated(job) : this.slice(job));
    } catch (e) {
      if (job.fresh) job.fresh.fail(e); // never stored: the trigger gets the error, nothing was created
      else await this.failCrashed(job.run.id, e);
    } finally {
      this.active.delete(job.run.id);
      if (this.active.size === 0 && this.stopping) for (const w of this.idleWaiters.splice(0)) w();
      this.pump();
    }
  }

  /** A slice threw (a bug or a store failure): fail the run rather than leave it running with no one on it. */
  private async failCrashed(runId: string, e: unknown): Promise<void> {
    this.d.log.error({ err: e, run_id: runId }, 'run slice crashed');
    try {
      const run = await this.d.store.loadRun(runId);
      if (!run || run.owner !== this.d.owner || (run.status !== 'running' && run.status !== 'queued')) return;
      const now = this.d.clock();
      const failed: Run = {
        ...run, status: 'failed', error: { step: run.step ?? undefined, code: 'internal_error', message: `the engine failed while running this step: ${(e as Error)?.message ?? e}` },
        owner: null, lease_until: null, finished_at: now, updated_at: now, rev: run.rev + 1,
      };
      const res = await this.d.committer.transition({ run: failed, expectRev: run.rev, owner: this.d.owner, steps: [] });
      if (res.ok) {
        this.d.bus.publishRun(failed);
        this.d.onCommitted?.(failed);
      }
    } catch (err) {
      this.d.log.error({ err, run_id: runId }, 'could not record the crash on the run; recovery will retry it');
    }
  }

  /** Per-workflow caps on running runs (`trigger.concurrency`): excess runs wait their turn, still queued (concurrency.ts). */
  private async gated(job: Job): Promise<void> {
    const loaded = job.loaded ?? await this.d.workflows.version(job.run.tenant, job.run.workflow, job.run.version);
    const cap = loaded?.compiled.workflow.definition.trigger?.concurrency;
    if (!cap) return this.slice(job);
    return this.gates.pass(job, cap, () => this.slice(job));
  }

  private slice(job: Job): Promise<void> {
    return new Slice(this.host, job).execute();
  }

  private readyLater(run: Run): void {
    setImmediate(() => this.dispatch({ run }));
  }
}
