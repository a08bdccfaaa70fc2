/**
 * One slice of a run (see executor.ts): its steps follow one another in memory and it commits
 * when the run replies, parks, ends, is about to do I/O, or has run `stepsPerSlice` steps.
 *
 * A class rather than a function with inner closures: a slice runs for every run, and its state
 * (the run as it advances, the records not yet committed) lives in fields instead of captured
 * variables, so starting one allocates one object.
 */
import { NOT_SYNC, type CompiledStep, type CompiledWorkflow, type Scope } from '../core/compiled.js';
import { exceedsDepth, tooDeepMessage } from '../core/depth.js';
import { copyRun } from '../core/run.js';
import type { Json, JsonObject, Reply, Run, RunError, StepRecord } from '../core/types.js';
import { STEP_KINDS } from '../steps/index.js';
import type { ChildPort, HttpPort, Outcome, Resumption, SandboxPort, StepContext, StepKind, StepLimits } from '../steps/types.js';
import type { ExecutorDeps, Job } from './executor-types.js';
import type { FreshRun } from './fresh-run.js';
import { advance, chooseExecution, needsRecords, type Advanced } from './machine.js';
import { buildScope, redact, stepView, type StepView } from './scope.js';
import type { LoadedWorkflow } from './workflows.js';

/** What a slice needs of the executor that runs it. */
export interface SliceHost {
  readonly deps: ExecutorDeps;
  isStopping(): boolean;
  /** Continues the run later, from the ready queue. */
  readyLater(run: Run): void;
}

/** Step kinds that do I/O: the run's state is committed before they start. */
const IO_STEPS = new Set(['http']);
/** Step kinds with effects beyond the run (child runs, user code): never run before the run is stored. */
const EFFECT_STEPS = new Set(['call', 'foreach', 'code']);

const NO_SECRETS: Record<string, string> = {};
const NO_RECORDS: readonly StepRecord[] = [];

const errorOutcome = (e: unknown): Outcome => {
  const err = e as Error & { code?: string };
  const code = typeof err?.code === 'string' ? err.code : 'step_error';
  return { kind: 'fail', error: { code, message: err?.message ?? String(e) } };
};

/** A step's outcome without a promise, when its kind can give one; a throw is the step's failure. */
function executeSync(kind: StepKind, ctx: StepContext): Outcome | typeof NOT_SYNC {
  if (!kind.executeSync) return NOT_SYNC;
  try {
    return kind.executeSync(ctx);
  } catch (e) {
    return errorOutcome(e);
  }
}

/** A step's outcome (or a parked step's, from its resumption); a rejection is the step's failure. */
async function executeAsync(kind: StepKind, ctx: StepContext, resumption: Resumption | undefined): Promise<Outcome> {
  try {
    return await (resumption ? kind.resume!(ctx, resumption) : kind.execute(ctx));
  } catch (e) {
    return errorOutcome(e);
  }
}

export class Slice {
  private readonly d: ExecutorDeps;
  private run: Run;
  /** Records written since the last commit. */
  private pending: StepRecord[] = [];
  private secrets: Record<string, string> = NO_SECRETS;
  private secretValues: string[] = [];
  /** What `$steps` shows (only for workflows that read it). */
  private views: Record<string, StepView> | null = null;
  private producedReply = false;
  private dirty = false;
  /** The run's stored records, read on first need (a fresh run has none). */
  private records: StepRecord[] | null;

  constructor(private readonly host: SliceHost, private readonly job: Job) {
    this.d = host.deps;
    this.run = job.run;
    this.records = job.fresh ? [] : null;
  }

  /**
   * Runs steps until the run parks, ends, replies, must commit before I/O, or has run a slice's
   * worth; each step is chosen (chooseExecution), executed, and applied (advance).
   */
  async execute(): Promise<void> {
    const d = this.d;
    const run0 = this.run;
    const loaded = this.job.loaded ?? d.workflows.loaded(run0.tenant, run0.workflow, run0.version) ?? await d.workflows.version(run0.tenant, run0.workflow, run0.version);
    if (loaded?.usesSecrets) {
      this.secrets = await d.secrets.values(this.run.tenant);
      this.secretValues = Object.values(this.secrets);
    }
    if (loaded?.usesSteps) {
      const views: Record<string, StepView> = {};
      for (const r of await this.loadRecords()) views[r.step_id] = stepView(r);
      this.views = views;
    }
    if (!loaded) {
      const run = this.run;
      this.failWith({ code: 'workflow_missing', message: `workflow ${run.workflow} v${run.version} not found` });
      await this.commit();
      return;
    }
    this.begin();

    let resume = this.job.resume;
    let recovered = this.job.recovered === true;
    let executed = 0;
    while (this.run.status === 'running' && !this.host.isStopping() && this.job.leaseLost !== true) {
      const step = this.currentStep(loaded);
      if (!step) break;
      const records = needsRecords(this.run, step.def.id, recovered) ? await this.loadRecords() : NO_RECORDS;
      const chosen = chooseExecution(this.run, step, records, resume, recovered, d.clock());
      resume = undefined;
      recovered = false;
      this.run = chosen.run;
      const resumption = chosen.children ? await this.childrenOf(chosen.children) : chosen.resumption;
      let record = chosen.record;

      if ((IO_STEPS.has(step.def.type) && !resumption) || (this.job.fresh && EFFECT_STEPS.has(step.def.type))) {
        record = { ...record, status: 'running' };
        this.pending.push(record);
        if (!(await this.commit())) return;
      }

      const attemptStarted = d.clock();
      const kind = STEP_KINDS.get(step.def.type)!;
      const parent = this.run;
      const ctx = new SliceStepContext(d, parent, loaded, step, record.seq, chosen.attempt, resumption || chosen.attempt > 1 ? record : null, buildScope({
        run: parent, workflowName: loaded.compiled.workflow.name, callbackUrl: d.callbackUrl,
        steps: this.views ?? {}, secrets: this.secrets, stepCount: loaded.compiled.steps.size, now: attemptStarted,
      }), this.secretValues);
      // Synchronously when the step can (no promise for most steps), else awaited.
      const sync = resumption ? NOT_SYNC : executeSync(kind, ctx);
      const outcome = sync !== NOT_SYNC ? sync : await executeAsync(kind, ctx, resumption);
      const check = this.checkOutcome(outcome, step, ctx);
      const adv = this.apply(step, record, check instanceof Promise ? await check : check, attemptStarted);
      executed++;
      if (!adv.proceed || adv.replied || executed >= d.stepsPerSlice) {
        if (!(await this.commit())) return;
        if (adv.proceed && executed >= d.stepsPerSlice) {
          // Yield to other runs: continue this one later in the ready queue.
          this.host.readyLater(this.run);
          return;
        }
      }
    }
    if (this.dirty || this.pending.length > 0) await this.commit();
  }

  /** A queued run becomes running, and a run that never started gets its start time. */
  private begin(): void {
    if (this.run.status !== 'queued' && this.run.started_at !== null) return;
    const started = copyRun(this.run);
    if (started.status === 'queued') started.status = 'running';
    if (started.started_at === null) started.started_at = this.d.clock();
    this.run = started;
    this.dirty = true;
  }

  /** The run's current step, or null after failing the run when it cannot be executed. */
  private currentStep(wf: LoadedWorkflow): CompiledStep | null {
    const run = this.run;
    const stepId = run.step;
    const step = stepId === null ? undefined : wf.compiled.steps.get(stepId);
    if (!step) {
      this.failWith({ code: 'unknown_step', message: `step ${stepId} does not exist in version ${run.version}` });
      return null;
    }
    if (!STEP_KINDS.has(step.def.type)) {
      this.failWith({ step: step.def.id, code: 'unsupported_step', message: `step type ${step.def.type} is not supported` });
      return null;
    }
    if (run.step_seq >= this.d.maxStepsPerRun) {
      this.failWith({ step: step.def.id, code: 'too_many_steps', message: `the run executed ${run.step_seq} steps; the limit is ${this.d.maxStepsPerRun}` });
      return null;
    }
    return step;
  }

  /** The stored states of the child runs a parked step awaited (those that exist). */
  private async childrenOf(ids: string[]): Promise<Resumption> {
    const runs = await Promise.all(ids.map((id) => this.d.store.loadRun(id)));
    return { kind: 'children', runs: runs.filter((r): r is Run => r !== null) };
  }

  /** Applies a step's checked outcome to the run and keeps its record for the next commit. */
  private apply(step: CompiledStep, record: StepRecord, checked: Checked, attemptStarted: number): Advanced {
    const adv = advance(this.run, step, record, checked.outcome, attemptStarted, this.d.clock());
    this.run = adv.run;
    if (checked.progress !== undefined && this.run.status !== 'succeeded') this.run.progress = checked.progress; // adv.run is a fresh copy
    if (adv.replied) this.producedReply = true;
    this.dirty = true;
    replaceBySeq(this.pending, adv.record);
    if (this.views) this.views[adv.record.step_id] = stepView(adv.record);
    if (this.records) replaceBySeq(this.records, adv.record);
    return adv;
  }

  /**
   * Ends the run as failed with an engine error (not a step's outcome). The failure is a change of
   * its own: it is committed even when no step ran since the last commit (a run that reaches the
   * step limit exactly where a slice ended).
   */
  private failWith(error: RunError): void {
    const failed = copyRun(this.run);
    failed.status = 'failed';
    failed.error = error;
    failed.finished_at = this.d.clock();
    this.run = failed;
    this.dirty = true;
  }

  private async loadRecords(): Promise<StepRecord[]> {
    return (this.records ??= await this.d.store.listSteps(this.run.id));
  }

  /** Commits the run's state and the pending records; false when the slice must stop. */
  private async commit(): Promise<boolean> {
    const d = this.d;
    const run = this.run;
    const now = d.clock();
    const holding = run.status === 'running' || run.status === 'queued';
    if (this.job.fresh) return this.createFresh(this.job.fresh, now, holding);
    const { run: next, steps } = this.toStore(now, holding);
    next.rev = run.rev + 1;
    const res = await d.committer.transition({ run: next, expectRev: run.rev, owner: d.owner, steps });
    if (!res.ok) {
      // The stored run changed under this slice. If it is still ours to run, continue from the
      // stored state (steps since the last commit run again: at least once); otherwise stop.
      const stored = await d.store.loadRun(run.id);
      if (stored && stored.owner === d.owner && (stored.status === 'running' || stored.status === 'queued')) {
        d.log.warn({ run_id: run.id }, 'run changed under its slice; continuing from the stored state');
        this.host.readyLater(stored);
      } else {
        d.log.info({ run_id: run.id, status: stored?.status }, 'run changed elsewhere (cancelled or claimed); this slice stops');
      }
      return false;
    }
    if (this.producedReply && !res.replied) {
      // Someone else (a POST to the callback URL) replied first: the stored reply stands.
      const stored = await d.store.loadRun(run.id);
      next.reply = stored?.reply ?? next.reply;
    }
    this.committed(next, steps);
    return true;
  }

  /**
   * The run state and pending records as they are written: a copy stamped now, holding the lease
   * while the run goes on, with secrets redacted (a step's error message may quote a URL or an
   * answer that holds a secret, such as a webhook URL kept in $secrets).
   */
  private toStore(now: number, holding: boolean): { run: Run; steps: StepRecord[] } {
    const d = this.d;
    const run = copyRun(this.run);
    run.updated_at = now;
    run.owner = holding ? d.owner : null;
    run.lease_until = holding ? now + d.leaseMs : null;
    const secretValues = this.secretValues;
    if (secretValues.length === 0) return { run, steps: this.pending };
    // Whatever came from $secrets is stored (and so shown) redacted: the run's data, reply and error
    // and its step records. A later step needing the value reads $secrets again.
    run.data = redact(run.data, secretValues);
    if (run.reply) run.reply = redact(run.reply as unknown as JsonObject, secretValues) as unknown as Reply;
    if (run.error) run.error = redact(run.error as unknown as JsonObject, secretValues) as unknown as RunError;
    return { run, steps: this.pending.map((r) => redactRecord(r, secretValues)) };
  }

  /** The first commit of a fresh run creates it, with the records of the steps it already ran. */
  private async createFresh(fresh: FreshRun, now: number, holding: boolean): Promise<boolean> {
    const { run: created, steps } = this.toStore(now, holding);
    const result = await fresh.create(this.d.committer, created, steps);
    this.job.fresh = undefined;
    if (result.kind !== 'created') return false; // the ref belongs to another run: this one never existed
    this.committed(created, steps);
    return true;
  }

  private committed(run: Run, steps: StepRecord[]): void {
    const d = this.d;
    this.producedReply = false;
    this.dirty = false;
    this.run = run;
    this.job.run = run;
    this.pending = [];
    for (const r of steps) d.bus.publishStep(r);
    d.bus.publishRun(run);
    d.onCommitted?.(run);
  }

  /**
   * Applies the nesting and data size limits to an outcome and evaluates the step's `progress` (synchronously
   * unless the expression needs JSONata itself).
   */
  private checkOutcome(outcome: Outcome, step: CompiledStep, ctx: StepContext): Checked | Promise<Checked> {
    if (outcome.kind === 'continue' && outcome.data) {
      // Before the size check: its JSON.stringify (and the store thread's clone) need bounded nesting.
      if (exceedsDepth(outcome.data)) return { outcome: { kind: 'fail', error: { code: 'too_deep', message: tooDeepMessage('the run data') } } };
      const size = Buffer.byteLength(JSON.stringify(outcome.data));
      if (size > this.d.maxDataBytes) {
        return { outcome: { kind: 'fail', error: { code: 'data_too_large', message: `run data would be ${size} bytes; the limit is ${this.d.maxDataBytes}` } } };
      }
    }
    if ((outcome.kind !== 'continue' && outcome.kind !== 'reply') || step.def.progress === undefined) return { outcome };
    const p: unknown = step.def.progress;
    if (typeof p !== 'string') return withProgress(outcome, p);
    const data = outcome.kind === 'continue' && outcome.data ? outcome.data : ctx.scope.data;
    const scope: StepContext['scope'] = { data, get vars() { return ctx.scope.vars; } };
    const expr = step.expressions.progress;
    try {
      const v = expr.trySync(scope);
      if (v !== NOT_SYNC) return withProgress(outcome, v);
    } catch (e) {
      return { outcome: errorOutcome(e) };
    }
    return expr.evaluate(scope).then((v) => withProgress(outcome, v), (e) => ({ outcome: errorOutcome(e) }));
  }
}

/** What a step sees of its run and the engine (a class: one allocation per step, its ports made on use). */
class SliceStepContext implements StepContext {
  readonly workflow: CompiledWorkflow;
  readonly now: () => number;
  readonly http: HttpPort;
  readonly sandbox?: SandboxPort;
  readonly limits: StepLimits;

  constructor(
    private readonly d: ExecutorDeps, readonly run: Run, loaded: LoadedWorkflow, readonly step: CompiledStep,
    readonly seq: number, readonly attempt: number, readonly record: StepRecord | null, readonly scope: Scope,
    private readonly secretValues: string[],
  ) {
    this.workflow = loaded.compiled;
    this.now = d.clock;
    this.http = d.http;
    this.sandbox = d.sandbox;
    this.limits = d.stepLimits;
  }

  get children(): ChildPort {
    // A secret's value given to a child run is redacted there as it is here (docs/workflow-format.md "Secrets").
    const secrets = this.secretValues;
    return {
      start: (specs) => this.d.startChildren(this.run, this.step.def.id, this.seq, secrets.length === 0 ? specs : specs.map((c) => ({ ...c, data: redact(c.data, secrets) }))),
    };
  }

  get selfCallback(): StepContext['selfCallback'] {
    const selfCallback = this.d.selfCallback;
    return selfCallback ? (body) => selfCallback(this.run.callback_token, body) : undefined;
  }
}

type Checked = { outcome: Outcome; progress?: number };

const withProgress = (outcome: Outcome, p: unknown): Checked =>
  typeof p === 'number' && Number.isFinite(p) ? { outcome, progress: Math.max(0, Math.min(100, p)) } : { outcome };

/** Puts a record in a list in place of the one with its seq, or at the end. */
function replaceBySeq(list: StepRecord[], record: StepRecord): void {
  for (let i = 0; i < list.length; i++) {
    if (list[i].seq === record.seq) {
      list.splice(i, 1);
      break;
    }
  }
  list.push(record);
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
