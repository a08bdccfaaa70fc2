/**
 * The executor: runs the steps of the runs this node holds. A run is executed in a slice: steps
 * follow one another in memory and the slice commits (one fenced transition, group-committed with
 * other runs' transitions) when the run replies, parks, ends, is about to do I/O, or has run many
 * steps. A slice whose fenced commit is refused stops: the run changed elsewhere (cancel, modify,
 * another node), and the store's version wins; if the run is still this node's, it continues from
 * the stored state. A new run's first slice runs before the run is stored (Job.fresh).
 */
import type { CompiledStep } from '../core/compiled.js';
import type { Json, JsonObject, Run, RunError, StepRecord } from '../core/types.js';
import { STEP_KINDS } from '../steps/index.js';
import type { ChildSpec, ChildStart, HttpPort, Outcome, Resumption, SandboxPort, StepContext } from '../steps/types.js';
import type { CreateResult, RefPolicy, Store } from '../store/types.js';
import type { RunBus } from './bus.js';
import type { Committer } from './committer.js';
import { advance, newRecord } from './machine.js';
import { buildScope, redact, stepView, type StepView } from './scope.js';
import type { LoadedWorkflow, WorkflowCache } from './workflows.js';

export interface SecretsPort {
  /** The tenant's secrets, decrypted. */
  values(tenant: string): Promise<Record<string, string>>;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ExecutorDeps {
  store: Store;
  committer: Committer;
  bus: RunBus;
  workflows: WorkflowCache;
  http: HttpPort;
  /** The JavaScript sandbox of `code` steps; without it they fail with code_error. */
  sandbox?: SandboxPort;
  secrets: SecretsPort;
  log: Logger;
  owner: string;
  clock: () => number;
  callbackUrl: (token: string) => string;
  leaseMs: number;
  maxDataBytes: number;
  /** Steps a slice may run before it commits and yields to other runs. */
  stepsPerSlice: number;
  /** Steps one run may execute in all; a runaway loop fails the run. */
  maxStepsPerRun: number;
  maxActive: number;
  /** Starts child runs of `parent` for the step record `seq` (idempotent per key). */
  startChildren: (parent: Run, step: string, seq: number, specs: ChildSpec[]) => Promise<ChildStart[]>;
  /** A POST by a run's http step to its own callback URL (by token), handled without the network. */
  selfCallback?: (token: string, body: JsonObject) => Promise<{ status: number; body: Json }>;
  /** Called after every commit of a slice (timers are nudged, finished runs delivered). */
  onCommitted?: (run: Run) => void;
}

export interface Job {
  run: Run;
  resume?: Resumption;
  /** The run was reclaimed after a crash: a step left `running` is re-executed under its own record. */
  recovered?: boolean;
  /**
   * The run is not stored yet: its first steps run in memory and its first commit CREATES it (with
   * those steps' records), so a run that replies or ends at once costs one write, not two. Only
   * steps without effects run before that commit; `settle` answers the trigger once it is durable.
   */
  fresh?: { refPolicy: RefPolicy; settle: (r: CreateResult) => void; fail: (e: unknown) => void };
}

/** Step kinds that do I/O: the run's state is committed before they start. */
const IO_STEPS = new Set(['http']);
/** Step kinds with effects beyond the run (child runs, user code): never run before the run is stored. */
const EFFECT_STEPS = new Set(['call', 'foreach', 'code']);

const errorOutcome = (e: unknown): Outcome => {
  const err = e as Error & { code?: string };
  const code = typeof err?.code === 'string' ? err.code : 'step_error';
  return { kind: 'fail', error: { code, message: err?.message ?? String(e) } };
};

export class Executor {
  private readonly active = new Map<string, Job>();
  private readonly ready: Job[] = [];
  private stopping = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly d: ExecutorDeps) {}

  get activeIds(): string[] {
    return [...this.active.keys()];
  }

  get load(): number {
    return this.active.size + this.ready.length;
  }

  /** Whether a new run can be executed before its creation is committed (see Job.fresh). */
  canRunFresh(): boolean {
    return !this.stopping && this.active.size < this.d.maxActive;
  }

  /** Executes a new, not yet stored run at once; its first commit creates it (see Job.fresh). */
  runFresh(job: Job & { fresh: NonNullable<Job['fresh']> }): void {
    this.hold(job, () => this.slice(job));
  }

  dispatch(job: Job): void {
    if (this.stopping) return;
    this.ready.push(job);
    this.pump();
  }

  /** Stops taking work and resolves when every slice in flight has committed or stopped. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.ready.length = 0;
    for (const g of this.gates.values()) for (const w of g.waiting.splice(0)) w();
    if (this.active.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.ready.length > 0 && this.active.size < this.d.maxActive) {
      const job = this.ready.shift()!;
      if (this.active.has(job.run.id)) continue; // a slice already holds this run
      this.hold(job, () => this.gated(job));
    }
  }

  /** Runs `work` for a job while it counts as active; a crash fails the run (or, never stored, the trigger). */
  private hold(job: Job, work: () => Promise<void>): void {
    this.active.set(job.run.id, job);
    void work()
      .catch((e) => {
        if (job.fresh) job.fresh.fail(e); // never stored: the trigger gets the error, nothing was created
        else return this.failCrashed(job.run.id, e);
      })
      .finally(() => {
        this.active.delete(job.run.id);
        if (this.active.size === 0 && this.stopping) for (const w of this.idleWaiters.splice(0)) w();
        this.pump();
      });
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

  /** Per-workflow caps on running runs (`trigger.concurrency`): excess runs wait their turn, still queued. */
  private readonly gates = new Map<string, { running: number; waiting: (() => void)[] }>();

  private async gated(job: Job): Promise<void> {
    const loaded = await this.d.workflows.version(job.run.tenant, job.run.workflow, job.run.version);
    const cap = loaded?.compiled.workflow.definition.trigger?.concurrency;
    if (!cap) return this.slice(job);
    const key = `${job.run.tenant}\u0000${job.run.workflow}`;
    let gate = this.gates.get(key);
    if (!gate) this.gates.set(key, (gate = { running: 0, waiting: [] }));
    const g = gate;
    if (g.running >= cap) await new Promise<void>((resolve) => g.waiting.push(resolve)); // the releaser hands over its slot
    else g.running++;
    try {
      if (!this.stopping) await this.slice(job);
    } finally {
      const next = g.waiting.shift();
      if (next) next();
      else if (--g.running === 0) this.gates.delete(key);
    }
  }

  private async slice(job: Job): Promise<void> {
    const d = this.d;
    let run: Run = job.run;
    const loaded = await d.workflows.version(run.tenant, run.workflow, run.version);
    let pending: StepRecord[] = [];
    let secretValues: string[] = [];
    let secrets: Record<string, string> = {};
    if (loaded?.usesSecrets) {
      secrets = await d.secrets.values(run.tenant);
      secretValues = Object.values(secrets);
    }
    let views: Record<string, StepView> | null = null;
    let producedReply = false;
    let dirty = false;
    let records = (job.fresh ? [] : null) as StepRecord[] | null;
    const loadRecords = async (): Promise<StepRecord[]> => (records ??= await d.store.listSteps(run.id));
    if (loaded?.usesSteps) {
      views = {};
      for (const r of await loadRecords()) views[r.step_id] = stepView(r);
    }

    const commit = async (): Promise<boolean> => {
      const now = d.clock();
      const holding = run.status === 'running' || run.status === 'queued';
      if (job.fresh) return createFresh(now, holding);
      const next: Run = {
        ...run, rev: run.rev + 1, updated_at: now,
        owner: holding ? d.owner : null, lease_until: holding ? now + d.leaseMs : null,
      };
      // A step's error message may quote a URL or an answer that holds a secret (a webhook URL kept in $secrets).
      if (secretValues.length && next.error) next.error = redact(next.error as unknown as JsonObject, secretValues) as unknown as RunError;
      const steps = secretValues.length ? pending.map((r) => redactRecord(r, secretValues)) : pending;
      const res = await d.committer.transition({ run: next, expectRev: run.rev, owner: d.owner, steps });
      if (!res.ok) {
        // The stored run changed under this slice. If it is still ours to run, continue from the
        // stored state (steps since the last commit run again: at least once); otherwise stop.
        const stored = await d.store.loadRun(run.id);
        if (stored && stored.owner === d.owner && (stored.status === 'running' || stored.status === 'queued')) {
          d.log.warn({ run_id: run.id }, 'run changed under its slice; continuing from the stored state');
          this.readyLater(stored);
        } else {
          d.log.info({ run_id: run.id, status: stored?.status }, 'run changed elsewhere (cancelled or claimed); this slice stops');
        }
        return false;
      }
      if (producedReply && !res.replied) {
        // Someone else (a POST to the callback URL) replied first: the stored reply stands.
        const stored = await d.store.loadRun(run.id);
        next.reply = stored?.reply ?? next.reply;
      }
      producedReply = false;
      dirty = false;
      run = next;
      job.run = run;
      for (const r of steps) d.bus.publishStep(r);
      pending = [];
      d.bus.publishRun(run);
      d.onCommitted?.(run);
      return true;
    };

    /** The first commit of a fresh run creates it, with the records of the steps it already ran. */
    const createFresh = async (now: number, holding: boolean): Promise<boolean> => {
      const fresh = job.fresh!;
      const created: Run = { ...run, updated_at: now, owner: holding ? d.owner : null, lease_until: holding ? now + d.leaseMs : null };
      if (secretValues.length && created.error) created.error = redact(created.error as unknown as JsonObject, secretValues) as unknown as RunError;
      const steps = secretValues.length ? pending.map((r) => redactRecord(r, secretValues)) : pending;
      const result = await d.committer.create({ run: created, refPolicy: fresh.refPolicy, steps });
      job.fresh = undefined;
      fresh.settle(result);
      if (result.kind !== 'created') return false; // the ref belongs to another run: this one never existed
      producedReply = false;
      dirty = false;
      run = created;
      job.run = run;
      pending = [];
      for (const r of steps) d.bus.publishStep(r);
      d.bus.publishRun(run);
      d.onCommitted?.(run);
      return true;
    };

    if (!loaded) {
      run = { ...run, status: 'failed', error: { code: 'workflow_missing', message: `workflow ${run.workflow} v${run.version} not found` }, finished_at: d.clock() };
      await commit();
      return;
    }
    const wf: LoadedWorkflow = loaded;
    if (run.status === 'queued' || run.started_at === null) {
      run = { ...run, status: run.status === 'queued' ? 'running' : run.status, started_at: run.started_at ?? d.clock() };
      dirty = true;
    }

    let resume = job.resume;
    let recovered = job.recovered === true;
    let executed = 0;
    while (run.status === 'running' && !this.stopping) {
      const stepId = run.step;
      const step = stepId === null ? undefined : wf.compiled.steps.get(stepId);
      if (!step) {
        run = { ...run, status: 'failed', error: { code: 'unknown_step', message: `step ${stepId} does not exist in version ${run.version}` }, finished_at: d.clock() };
        break;
      }
      const kind = STEP_KINDS.get(step.def.type);
      if (!kind) {
        run = { ...run, status: 'failed', error: { step: step.def.id, code: 'unsupported_step', message: `step type ${step.def.type} is not supported` }, finished_at: d.clock() };
        break;
      }
      if (run.step_seq >= d.maxStepsPerRun) {
        run = { ...run, status: 'failed', error: { step: step.def.id, code: 'too_many_steps', message: `the run executed ${run.step_seq} steps; the limit is ${d.maxStepsPerRun}` }, finished_at: d.clock() };
        break;
      }

      // Which record this execution writes, and which attempt it is.
      let record: StepRecord;
      let attempt = 1;
      let resumption: Resumption | undefined;
      const parking = run.parking;
      if (parking && parking.step === step.def.id) {
        const existing = (await loadRecords()).find((r) => r.seq === parking.seq);
        record = existing ?? newRecord(run, step, parking.seq, d.clock());
        if (parking.kind === 'retry') attempt = parking.attempt + 1;
        else if (parking.kind === 'child') {
          const runs = await Promise.all(parking.children.map((id) => d.store.loadRun(id)));
          resumption = { kind: 'children', runs: runs.filter((r): r is Run => r !== null) };
        } else resumption = resume ?? acceptedCallback(parking.kind, existing) ?? { kind: 'timer' };
        run = { ...run, parking: null, wake_at: null };
      } else if (recovered && run.step_seq > 0) {
        const last = (await loadRecords()).find((r) => r.seq === run.step_seq);
        if (last && last.status === 'running' && last.step_id === step.def.id) {
          const lost = { n: last.attempts.length + 1, started_at: last.started_at, finished_at: null, duration_ms: null, error: { class: 'interrupted', message: 'the server stopped during this attempt' } };
          record = { ...last, attempts: [...last.attempts, lost] };
          attempt = record.attempts.length + 1;
        } else {
          record = newRecord(run, step, run.step_seq + 1, d.clock());
          run = { ...run, step_seq: record.seq };
        }
      } else {
        record = newRecord(run, step, run.step_seq + 1, d.clock());
        run = { ...run, step_seq: record.seq };
      }
      resume = undefined;
      recovered = false;

      if ((IO_STEPS.has(step.def.type) && !resumption) || (job.fresh && EFFECT_STEPS.has(step.def.type))) {
        record = { ...record, status: 'running' };
        pending.push(record);
        if (!(await commit())) return;
      }

      const attemptStarted = d.clock();
      const parent = run;
      const seq = record.seq;
      const ctx: StepContext = {
        run, workflow: wf.compiled, step, seq, attempt, now: d.clock, http: d.http, sandbox: d.sandbox,
        record: resumption || attempt > 1 ? record : null,
        children: { start: (specs) => d.startChildren(parent, step.def.id, seq, specs) },
        selfCallback: d.selfCallback ? (body) => d.selfCallback!(parent.callback_token, body) : undefined,
        scope: buildScope({
          run, workflowName: wf.compiled.workflow.name, callbackUrl: d.callbackUrl(run.callback_token),
          steps: views ?? {}, secrets, stepCount: wf.compiled.steps.size, now: attemptStarted,
        }),
      };
      let outcome: Outcome;
      try {
        outcome = resumption ? await kind.resume!(ctx, resumption) : await kind.execute(ctx);
      } catch (e) {
        outcome = errorOutcome(e);
      }
      const checked = await this.checkOutcome(outcome, step, ctx);
      const adv = advance(run, step, record, checked.outcome, attemptStarted, d.clock());
      run = adv.run;
      if (checked.progress !== undefined && run.status !== 'succeeded') run = { ...run, progress: checked.progress };
      if (adv.replied) producedReply = true;
      dirty = true;
      pending = pending.filter((r) => r.seq !== adv.record.seq);
      pending.push(adv.record);
      if (views) views[adv.record.step_id] = stepView(adv.record);
      if (records) records = records.filter((r) => r.seq !== adv.record.seq).concat(adv.record);
      executed++;
      if (!adv.proceed || adv.replied || executed >= d.stepsPerSlice) {
        if (!(await commit())) return;
        if (adv.proceed && executed >= d.stepsPerSlice) {
          // Yield to other runs: continue this one later in the ready queue.
          this.readyLater(run);
          return;
        }
      }
    }
    if (dirty || pending.length > 0) await commit();
  }

  private readyLater(run: Run): void {
    setImmediate(() => this.dispatch({ run }));
  }

  /** Applies the data size limit to an outcome and evaluates the step's `progress`. */
  private async checkOutcome(outcome: Outcome, step: CompiledStep, ctx: StepContext): Promise<{ outcome: Outcome; progress?: number }> {
    if (outcome.kind === 'continue' && outcome.data) {
      const size = Buffer.byteLength(JSON.stringify(outcome.data));
      if (size > this.d.maxDataBytes) {
        return { outcome: { kind: 'fail', error: { code: 'data_too_large', message: `run data would be ${size} bytes; the limit is ${this.d.maxDataBytes}` } } };
      }
    }
    if ((outcome.kind === 'continue' || outcome.kind === 'reply') && step.def.progress !== undefined) {
      let p: unknown = step.def.progress;
      try {
        if (typeof p === 'string') {
          const data = outcome.kind === 'continue' && outcome.data ? outcome.data : ctx.scope.data;
          p = await step.expressions.progress.evaluate({ ...ctx.scope, data });
        }
      } catch (e) {
        return { outcome: errorOutcome(e) };
      }
      if (typeof p === 'number' && Number.isFinite(p)) return { outcome, progress: Math.max(0, Math.min(100, p)) };
    }
    return { outcome };
  }
}

/** A callback accepted (committed by Engine.callback) but not yet acted on when the claimer died. */
function acceptedCallback(kind: string, record: StepRecord | undefined): Resumption | undefined {
  const body = record?.output;
  if (kind !== 'callback' || record?.status !== 'running' || !body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  return { kind: 'callback', body };
}

function redactRecord(r: StepRecord, secrets: string[]): StepRecord {
  return {
    ...r,
    input: redact(r.input, secrets),
    output: redact(r.output, secrets),
    attempts: r.attempts.map((a) => redact(a as unknown as Json, secrets) as unknown as typeof a),
    error: r.error ? (redact(r.error as unknown as JsonObject, secrets) as unknown as typeof r.error) : null,
  };
}
