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
import type { Json, JsonObject, Run, RunError, StepRecord } from '../core/types.js';
import { STEP_KINDS } from '../steps/index.js';
import type { ChildPort, HttpPort, Outcome, Resumption, SandboxPort, StepContext, StepLimits } from '../steps/types.js';
import type { ExecutorDeps, Job } from './executor-types.js';
import { advance, newRecord } from './machine.js';
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

const errorOutcome = (e: unknown): Outcome => {
  const err = e as Error & { code?: string };
  const code = typeof err?.code === 'string' ? err.code : 'step_error';
  return { kind: 'fail', error: { code, message: err?.message ?? String(e) } };
};

export class Slice {
  private readonly d: ExecutorDeps;
  private run: Run;
  /** Records written since the last commit. */
  private pending: StepRecord[] = [];
  private secretValues: string[] = [];
  private producedReply = false;
  private dirty = false;
  /** The run's stored records, read on first need (a fresh run has none). */
  private records: StepRecord[] | null;

  constructor(private readonly host: SliceHost, private readonly job: Job) {
    this.d = host.deps;
    this.run = job.run;
    this.records = job.fresh ? [] : null;
  }

  async execute(): Promise<void> {
    const d = this.d;
    const job = this.job;
    const run0 = this.run;
    const loaded = job.loaded ?? d.workflows.loaded(run0.tenant, run0.workflow, run0.version) ?? await d.workflows.version(run0.tenant, run0.workflow, run0.version);
    let secrets: Record<string, string> = {};
    if (loaded?.usesSecrets) {
      secrets = await d.secrets.values(this.run.tenant);
      this.secretValues = Object.values(secrets);
    }
    let views: Record<string, StepView> | null = null;
    if (loaded?.usesSteps) {
      views = {};
      for (const r of await this.loadRecords()) views[r.step_id] = stepView(r);
    }

    if (!loaded) {
      const run = this.run;
      this.failWith({ code: 'workflow_missing', message: `workflow ${run.workflow} v${run.version} not found` });
      await this.commit();
      return;
    }
    const wf: LoadedWorkflow = loaded;
    if (this.run.status === 'queued' || this.run.started_at === null) {
      const started = copyRun(this.run);
      if (started.status === 'queued') started.status = 'running';
      if (started.started_at === null) started.started_at = d.clock();
      this.run = started;
      this.dirty = true;
    }

    let resume = job.resume;
    let recovered = job.recovered === true;
    let executed = 0;
    while (this.run.status === 'running' && !this.host.isStopping()) {
      const run = this.run;
      const stepId = run.step;
      const step = stepId === null ? undefined : wf.compiled.steps.get(stepId);
      if (!step) {
        this.failWith({ code: 'unknown_step', message: `step ${stepId} does not exist in version ${run.version}` });
        break;
      }
      const kind = STEP_KINDS.get(step.def.type);
      if (!kind) {
        this.failWith({ step: step.def.id, code: 'unsupported_step', message: `step type ${step.def.type} is not supported` });
        break;
      }
      if (run.step_seq >= d.maxStepsPerRun) {
        this.failWith({ step: step.def.id, code: 'too_many_steps', message: `the run executed ${run.step_seq} steps; the limit is ${d.maxStepsPerRun}` });
        break;
      }

      // Which record this execution writes, and which attempt it is.
      let record: StepRecord;
      let attempt = 1;
      let resumption: Resumption | undefined;
      const parking = run.parking;
      if (parking && parking.step === step.def.id) {
        const existing = (await this.loadRecords()).find((r) => r.seq === parking.seq);
        record = existing ?? newRecord(run, step, parking.seq, d.clock());
        if (parking.kind === 'retry') attempt = parking.attempt + 1;
        else if (parking.kind === 'child') {
          const runs = await Promise.all(parking.children.map((id) => d.store.loadRun(id)));
          resumption = { kind: 'children', runs: runs.filter((r): r is Run => r !== null) };
        } else resumption = resume ?? acceptedCallback(parking.kind, existing) ?? { kind: 'timer' };
        const unparked = copyRun(run);
        unparked.parking = null;
        unparked.wake_at = null;
        this.run = unparked;
      } else if (recovered && run.step_seq > 0) {
        const last = (await this.loadRecords()).find((r) => r.seq === run.step_seq);
        if (last && last.status === 'running' && last.step_id === step.def.id) {
          const lost = { n: last.attempts.length + 1, started_at: last.started_at, finished_at: null, duration_ms: null, error: { class: 'interrupted', message: 'the server stopped during this attempt' } };
          record = { ...last, attempts: [...last.attempts, lost] };
          attempt = record.attempts.length + 1;
        } else {
          record = newRecord(run, step, run.step_seq + 1, d.clock());
          this.run = withSeq(run, record.seq);
        }
      } else {
        record = newRecord(run, step, run.step_seq + 1, d.clock());
        this.run = withSeq(run, record.seq);
      }
      resume = undefined;
      recovered = false;

      if ((IO_STEPS.has(step.def.type) && !resumption) || (job.fresh && EFFECT_STEPS.has(step.def.type))) {
        record = { ...record, status: 'running' };
        this.pending.push(record);
        if (!(await this.commit())) return;
      }

      const attemptStarted = d.clock();
      const parent = this.run;
      const seq = record.seq;
      const ctx = new SliceStepContext(d, parent, wf, step, seq, attempt, resumption || attempt > 1 ? record : null, buildScope({
        run: parent, workflowName: wf.compiled.workflow.name, callbackUrl: d.callbackUrl,
        steps: views ?? {}, secrets, stepCount: wf.compiled.steps.size, now: attemptStarted,
      }));
      let outcome: Outcome | typeof NOT_SYNC = NOT_SYNC;
      try {
        if (!resumption && kind.executeSync) outcome = kind.executeSync(ctx);
        if (outcome === NOT_SYNC) outcome = resumption ? await kind.resume!(ctx, resumption) : await kind.execute(ctx);
      } catch (e) {
        outcome = errorOutcome(e);
      }
      const check = this.checkOutcome(outcome, step, ctx);
      const checked = check instanceof Promise ? await check : check;
      const adv = advance(this.run, step, record, checked.outcome, attemptStarted, d.clock());
      this.run = adv.run;
      if (checked.progress !== undefined && this.run.status !== 'succeeded') this.run.progress = checked.progress; // adv.run is a fresh copy
      if (adv.replied) this.producedReply = true;
      this.dirty = true;
      replaceBySeq(this.pending, adv.record);
      if (views) views[adv.record.step_id] = stepView(adv.record);
      if (this.records) replaceBySeq(this.records, adv.record);
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
    if (this.job.fresh) return this.createFresh(now, holding);
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
    if (run.error) run.error = redact(run.error as unknown as JsonObject, secretValues) as unknown as RunError;
    return { run, steps: this.pending.map((r) => redactRecord(r, secretValues)) };
  }

  /** The first commit of a fresh run creates it, with the records of the steps it already ran. */
  private async createFresh(now: number, holding: boolean): Promise<boolean> {
    const d = this.d;
    const fresh = this.job.fresh!;
    const { run: created, steps } = this.toStore(now, holding);
    const result = await d.committer.create({ run: created, refPolicy: fresh.refPolicy, steps });
    this.job.fresh = undefined;
    fresh.settle(result);
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

function withSeq(run: Run, seq: number): Run {
  const r = copyRun(run);
  r.step_seq = seq;
  return r;
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
  ) {
    this.workflow = loaded.compiled;
    this.now = d.clock;
    this.http = d.http;
    this.sandbox = d.sandbox;
    this.limits = d.stepLimits;
  }

  get children(): ChildPort {
    return { start: (specs) => this.d.startChildren(this.run, this.step.def.id, this.seq, specs) };
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
