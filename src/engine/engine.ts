/**
 * The engine's front door: start runs (group-committed), follow them to their reply, cancel, retry,
 * resume from callbacks. Everything that advances a run goes through the executor or a fenced
 * transition, so a run has one writer at a time.
 */
import { childSpan, traceOfRun } from '../core/trace.js';
import { FlowgateError, notFound } from '../core/errors.js';
import { randomToken, uuidv7 } from '../core/ids.js';
import { compileParams } from '../core/params.js';
import { isTerminal, type Json, type JsonObject, type Run, type Workflow } from '../core/types.js';
import { DEFAULT_MAX_FOREACH_ITEMS } from '../steps/calls.js';
import type { ChildSpec, ChildStart, HttpPort, SandboxPort } from '../steps/types.js';
import { DeliveryLoop, type DeliveryConfig } from './delivery.js';
import type { EngineObserver } from './observer.js';
import type { WebhookSecretsPort } from './webhook-secrets.js';
import type { CreateResult, RefPolicy, Store } from '../store/types.js';
import { RunBus } from './bus.js';
import { RunFeed } from './run-feed.js';
import { Caches } from './caches.js';
import { ClusterLink, DEFAULT_RECHECK_MS } from './cluster.js';
import { Committer } from './committer.js';
import { Executor, type Logger, type SecretsPort } from './executor.js';
import { FreshRun } from './fresh-run.js';
import { cancelled } from './machine.js';
import { testHttpStep, testUnsavedHttpStep, type StepTestDeps, type StepTestResult } from './step-test.js';
import { LeaseKeeper, TimerLoop } from './timers.js';
import { WorkflowCache, type LoadedWorkflow } from './workflows.js';

export interface EngineConfig {
  /** This node's identity in leases. */
  owner: string;
  leaseMs: number;
  maxDataBytes: number;
  stepsPerSlice: number;
  maxStepsPerRun: number;
  maxActive: number;
  /** Items one foreach may fan out to (default DEFAULT_MAX_FOREACH_ITEMS). */
  maxForeachItems?: number;
  clock: () => number;
  callbackUrl: (token: string) => string;
  /** How often the runs waited for or followed here are re-read on a clustered store (default DEFAULT_RECHECK_MS). */
  recheckMs?: number;
}

export interface StartRequest {
  workflow: Workflow;
  /** The run's initial data (params applied). */
  data: JsonObject;
  /** What the caller sent, kept for idempotency comparison and display. */
  input: JsonObject;
  ref: string | null;
  refPolicy: RefPolicy;
  resultUrl?: string | null;
  parent?: Run['parent'];
  /** The run's callback token when the caller must know it before the run exists (a sync caller's `__callback_url`). */
  callbackToken?: string;
  /** Kept with the run as `meta` (not data): e.g. who initiated it on a compatibility surface. */
  meta?: JsonObject;
}

/**
 * A run's callback token: 160 random bits behind a time prefix, so new tokens land at the end of the
 * store's token index instead of all over it (intake writes stay sequential).
 */
export const callbackToken = (now: number): string => `${Math.floor(now).toString(36).padStart(9, '0')}${randomToken(20)}`;

/**
 * Child runs a step asks for are started this many at a time; the next chunk starts once the one
 * before is created (committed), so a large fan-out takes its turn with new triggers instead of
 * holding the event loop and the store for one long burst.
 */
export const CHILD_START_CHUNK = 20;

export type CallbackResult = { kind: 'resumed'; run: Run } | { kind: 'replied'; run: Run };

export class Engine {
  readonly bus = new RunBus();
  /** Every committed run change of a tenant, from this node and (on a store with hints) the others. */
  readonly feed: RunFeed;
  /** The node's caches of stored facts (one place where a change, here or on another node, lands). */
  readonly caches: Caches;
  readonly workflows: WorkflowCache;
  readonly executor: Executor;
  private readonly committer: Committer;
  private readonly timers: TimerLoop;
  private readonly leases: LeaseKeeper;
  private readonly cluster: ClusterLink;
  /** Result deliveries to the runs' result_url (null when the engine was built without them). */
  readonly deliveries: DeliveryLoop | null;

  private readonly log: Logger;
  private readonly ports: { http: HttpPort; secrets: SecretsPort };

  constructor(
    private readonly store: Store,
    deps: {
      http: HttpPort; secrets: SecretsPort; log: Logger; sandbox?: SandboxPort;
      /** The node's caches (made here when not given; the app shares them with the HTTP layer). */
      caches?: Caches;
      delivery?: { secrets: WebhookSecretsPort; config: Omit<DeliveryConfig, 'owner' | 'clock'> };
      /** Told what is committed and delivered (metrics). */
      observer?: EngineObserver;
    },
    private readonly config: EngineConfig,
  ) {
    this.log = deps.log;
    this.ports = { http: deps.http, secrets: deps.secrets };
    this.feed = new RunFeed(this.bus);
    this.caches = deps.caches ?? new Caches(config.clock, store.hints ? (h) => store.hints!.publish(h) : null, deps.log);
    this.workflows = new WorkflowCache(store, this.caches);
    this.committer = new Committer(store, { log: deps.log, observer: deps.observer });
    this.executor = new Executor({
      store, committer: this.committer, bus: this.bus, workflows: this.workflows,
      http: deps.http, sandbox: deps.sandbox, secrets: deps.secrets, log: deps.log,
      owner: config.owner, clock: config.clock, callbackUrl: config.callbackUrl,
      leaseMs: config.leaseMs, maxDataBytes: config.maxDataBytes, stepsPerSlice: config.stepsPerSlice,
      maxStepsPerRun: config.maxStepsPerRun, maxActive: config.maxActive,
      stepLimits: { foreachItems: config.maxForeachItems ?? DEFAULT_MAX_FOREACH_ITEMS },
      startChildren: (parent, step, seq, specs) => this.startChildren(parent, step, seq, specs),
      selfCallback: (token, body) => this.selfCallback(token, body),
      onCommitted: (run) => this.afterCommit(run),
    });
    const loopOpts = { owner: config.owner, leaseMs: config.leaseMs, clock: config.clock, log: deps.log };
    this.timers = new TimerLoop(store, this.executor, loopOpts);
    this.leases = new LeaseKeeper(store, this.executor, {
      ...loopOpts,
      onPass: () => {
        this.timers.wake();
        void this.executor.claimFreeSlots();
      },
    });
    this.cluster = new ClusterLink(store, this.bus, {
      wakeClaims: () => {
        this.timers.wake();
        this.leases.recoverSoon();
      },
      invalidate: (cache, key) => this.caches.invalidate(cache, key),
      invalidateAll: () => this.caches.invalidateAll(),
    }, { recheckMs: config.recheckMs ?? DEFAULT_RECHECK_MS, log: deps.log });
    this.deliveries = deps.delivery
      ? new DeliveryLoop(store, deps.http, deps.delivery.secrets, deps.log, { ...deps.delivery.config, owner: config.owner, clock: config.clock, observer: deps.observer })
      : null;
  }

  /**
   * Recovers runs left by a previous process, then starts the timer and lease loops. A store
   * failure does not stop the start: a failed recovery is logged and retried in the background
   * (`recovered` is then null), and parents waiting for children keep their periodic check.
   */
  async start(): Promise<{ recovered: number | null }> {
    const recovered = await this.leases.recoverAtStart();
    try {
      await this.store.hurryChildWaits(this.config.clock());
    } catch (e) {
      this.log.error({ err: e }, 'hurrying the parents waiting for child runs failed; they look at their children at their next periodic check');
    }
    this.timers.start();
    this.leases.start();
    this.cluster.start();
    this.deliveries?.start();
    return { recovered };
  }

  /** Stops taking work, lets slices in flight commit, and flushes pending writes. */
  async stop(): Promise<void> {
    this.timers.stop();
    this.leases.stop();
    this.cluster.stop();
    this.committer.close(); // writes kept for lack of space get one last try: slices waiting on them end
    const dropped = await this.executor.stop();
    await this.committer.drain();
    await this.leases.release(dropped);
    await this.deliveries?.stop();
  }

  /** A fresh callback token and the URL it gives (docs/spec.md §8.8), for a caller that hands the URL to the run itself. */
  newCallback(): { token: string; url: string } {
    const token = callbackToken(this.config.clock());
    return { token, url: this.config.callbackUrl(token) };
  }

  /** Creates a run durably (group-committed with others) and, when it is new, starts executing it. */
  startRun(req: StartRequest): Promise<CreateResult> {
    const wf = req.workflow;
    const loaded = this.workflows.loaded(wf.tenant, wf.id, wf.version);
    if (loaded) {
      try {
        return this.startLoaded(req, loaded);
      } catch (e) {
        return Promise.reject(e); // callers map many starts at once: an error must reject, not throw
      }
    }
    return this.workflows.version(wf.tenant, wf.id, wf.version, wf).then((l) => {
      if (!l) throw notFound('workflow');
      return this.startLoaded(req, l);
    });
  }

  private startLoaded(req: StartRequest, loaded: LoadedWorkflow): Promise<CreateResult> {
    const now = this.config.clock();
    const run: Run = {
      id: uuidv7(now), tenant: req.workflow.tenant, workflow: req.workflow.id, version: req.workflow.version,
      ref: req.ref, status: 'queued', input: req.input, data: req.data, progress: 0,
      step: loaded.compiled.start, step_seq: 0, reply: null, error: null, parking: null, wake_at: null,
      callback_token: req.callbackToken ?? callbackToken(now), result_url: req.resultUrl ?? null, parent: req.parent ?? null,
      attempt: 1, owner: this.config.owner, lease_until: now + this.config.leaseMs, rev: 1,
      created_at: now, started_at: null, finished_at: null, updated_at: now,
    }; // the fields in copyRun's order (src/core/run.ts): one shape for every run
    if (req.meta) run.meta = req.meta;
    // Run its first steps before the creation is committed (one write instead of two), unless a
    // concurrency cap means it may have to wait queued, or the executor is saturated.
    if (!loaded.compiled.workflow.definition.trigger?.concurrency && this.executor.canRunFresh()) {
      const fresh = new FreshRun(req.refPolicy);
      this.executor.runFresh({ run, loaded, fresh });
      return fresh.created;
    }
    return this.committer.create({ run, refPolicy: req.refPolicy }).then((result) => {
      if (result.kind === 'created') {
        this.bus.publishRun(result.run);
        this.executor.dispatch({ run: result.run });
      }
      return result;
    });
  }

  /**
   * A run's http step POSTing to its own callback URL (docs/spec.md §6): the callback path without the
   * network, answered as `POST /v1/callbacks/{token}` would be. Safe while the executor holds the
   * run: a running run gets the body as its reply, and replies are set-once, independent of rev.
   */
  async selfCallback(token: string, body: JsonObject): Promise<{ status: number; body: Json }> {
    try {
      const outcome = await this.callback(token, body);
      return { status: 202, body: { run_id: outcome.run.id, accepted: outcome.kind } };
    } catch (e) {
      if (e instanceof FlowgateError) return { status: e.status, body: { title: e.code, status: e.status, detail: e.message } };
      throw e;
    }
  }

  /** Executes one http step of the current version on `data` without a run (the Test button). */
  testStep(tenant: string, workflow: string, step: string, data: JsonObject): Promise<StepTestResult> {
    return testHttpStep(this.stepTestDeps(), tenant, workflow, step, data);
  }

  /** Executes an unsaved http step definition on `data` (in a saved workflow's context when named), without a run. */
  testUnsavedStep(tenant: string, step: unknown, workflow: string | null, data: JsonObject): Promise<StepTestResult> {
    return testUnsavedHttpStep(this.stepTestDeps(), tenant, step, workflow, data);
  }

  private stepTestDeps(): StepTestDeps {
    return {
      workflows: this.workflows, http: this.ports.http, secrets: this.ports.secrets,
      clock: this.config.clock, callbackUrl: this.config.callbackUrl,
    };
  }

  /**
   * Follow-ups of a committed run state: timers, waking a parent, checking a parked parent's
   * children. A parent a slice of this node is executing is not woken: when it parks, its own
   * commit checks its children (checkChildren), which then include this one's committed state; so a
   * fan-out whose children end while the parent is still starting others reads no parent per child.
   */
  private afterCommit(run: Run): void {
    if (run.status === 'waiting' && run.wake_at !== null) this.timers.nudge(run.wake_at);
    if (run.parent && (run.reply !== null || isTerminal(run.status)) && !this.executor.isActive(run.parent.run_id)) {
      void this.wakeParent(run.parent.run_id, run);
    }
    if (run.status === 'waiting' && run.parking?.kind === 'child') {
      this.checkChildren(run).catch((e) => this.log.error({ err: e, run_id: run.id }, 'checking the children of a parked run failed; its periodic check will resume it'));
    }
    if (run.result_url !== null && isTerminal(run.status)) this.deliveries?.runEnded(run);
  }

  private settles(child: Run, wakeOn: 'reply' | 'end'): boolean {
    return isTerminal(child.status) || (wakeOn === 'reply' && child.reply !== null);
  }

  /** A child replied or ended: resume its parent if the parent is parked waiting for it. */
  private async wakeParent(parentId: string, child: Run): Promise<void> {
    try {
      for (let i = 0; i < 3; i++) {
        const parent = await this.store.loadRun(parentId);
        const parking = parent?.parking;
        if (!parent || parent.status !== 'waiting' || parking?.kind !== 'child' || !parking.children.includes(child.id)) return;
        if (!this.settles(child, parking.wake_on)) return;
        const now = this.config.clock();
        const claimed: Run = { ...parent, status: 'running', owner: this.config.owner, lease_until: now + this.config.leaseMs, rev: parent.rev + 1, updated_at: now };
        const res = await this.committer.transition({ run: claimed, expectRev: parent.rev, steps: [] });
        if (res.ok) {
          this.executor.dispatch({ run: claimed });
          return;
        }
      }
    } catch (e) {
      this.log.error({ err: e, run_id: parentId }, 'waking the parent run failed; its periodic check will resume it');
    }
  }

  /** After a parent parks, a child may already have settled (its wake-up found the parent busy). */
  private async checkChildren(parent: Run): Promise<void> {
    const parking = parent.parking;
    if (parking?.kind !== 'child') return;
    for (const id of parking.children) {
      const child = await this.store.loadRun(id);
      if (child && this.settles(child, parking.wake_on)) return this.wakeParent(parent.id, child);
    }
  }

  /**
   * Starts child runs for a step record, CHILD_START_CHUNK at a time (each chunk once the one before
   * is created); the ref `<parent>.<seq>.<key>` makes a repeated start find the first.
   */
  private async startChildren(parent: Run, step: string, seq: number, specs: ChildSpec[]): Promise<ChildStart[]> {
    if (specs.length <= CHILD_START_CHUNK) return Promise.all(specs.map((spec) => this.startChild(parent, step, seq, spec)));
    const out: ChildStart[] = [];
    for (let i = 0; i < specs.length; i += CHILD_START_CHUNK) {
      const chunk = specs.slice(i, i + CHILD_START_CHUNK);
      for (const s of await Promise.all(chunk.map((spec) => this.startChild(parent, step, seq, spec)))) out.push(s);
    }
    return out;
  }

  private async startChild(parent: Run, step: string, seq: number, spec: ChildSpec): Promise<ChildStart> {
    const wf = await this.workflows.current(parent.tenant, spec.workflow);
    if (!wf || wf.archived) return { key: spec.key, error: { code: 'child_workflow_not_found', message: `workflow ${spec.workflow} not found` } };
    const checked = compileParams(wf.definition.params, wf.definition.undeclared).apply(spec.data);
    if (!checked.ok) {
      return { key: spec.key, error: { code: 'child_invalid_input', message: `input for ${spec.workflow} is invalid: ${checked.errors.map((e) => `${e.path} ${e.message}`).join('; ')}` } };
    }
    // A child run belongs to its parent's trace, as a span of its own.
    const trace = traceOfRun(parent);
    const result = await this.startRun({
      workflow: wf, data: checked.data, input: spec.data, ref: `${parent.id}.${seq}.${spec.key}`, refPolicy: 'native',
      parent: { run_id: parent.id, step, seq },
      ...(trace ? { meta: { trace: { ...childSpan(trace) } } } : {}),
    });
    return { key: spec.key, run: result.run };
  }

  /**
   * Resolves with the run once it has replied or ended, or with its current state after timeoutMs.
   * `mayBeSettled` asks for a store re-read right away (the run was not just created by this call).
   */
  awaitSettled(run: Run, timeoutMs: number, mayBeSettled = true): Promise<Run> {
    if (run.reply !== null || isTerminal(run.status)) return Promise.resolve(run);
    return new Promise((resolve) => {
      let done = false;
      const finish = (r: Run | null): void => {
        if (done) return;
        done = true;
        off();
        clearTimeout(timer);
        if (r) resolve(r);
        else void this.store.loadRun(run.id).then((x) => resolve(x ?? run), () => resolve(run));
      };
      const off = this.bus.onSettled(run.id, finish);
      const timer = setTimeout(() => finish(null), Math.max(0, timeoutMs));
      if (mayBeSettled) {
        this.store.loadRun(run.id).then((r) => {
          if (r && (r.reply !== null || isTerminal(r.status))) finish(r);
        }, (e) => this.log.warn({ err: e, run_id: run.id }, 'reading a run for its waiter failed; the waiter is answered when the run settles or its time is up'));
      }
    });
  }

  async cancel(tenant: string, id: string): Promise<Run> {
    for (let i = 0; i < 5; i++) {
      const run = await this.store.getRun(tenant, id);
      if (!run) throw notFound('run');
      if (isTerminal(run.status)) throw new FlowgateError('conflict', `the run is already ${run.status}`);
      const now = this.config.clock();
      const next: Run = { ...cancelled(run, now), rev: run.rev + 1 };
      const steps = [];
      if (run.parking) {
        const rec = (await this.store.listSteps(run.id)).find((r) => r.seq === run.parking!.seq);
        if (rec) steps.push({ ...rec, status: 'failed' as const, finished_at: now, error: { step: rec.step_id, code: 'cancelled', message: 'the run was cancelled' } });
      }
      const res = await this.committer.transition({ run: next, expectRev: run.rev, steps });
      if (res.ok) {
        for (const r of steps) this.bus.publishStep(r);
        this.bus.publishRun(next);
        this.deliveries?.runEnded(next);
        return next;
      }
    }
    throw new FlowgateError('conflict', 'the run kept changing; try again');
  }

  /** Restarts a failed run from its failed step, or from the start (with its original input). */
  async retry(tenant: string, id: string, fromStart: boolean): Promise<Run> {
    const run = await this.store.getRun(tenant, id);
    if (!run) throw notFound('run');
    if (run.status !== 'failed') throw new FlowgateError('conflict', `only failed runs can be retried; this one is ${run.status}`);
    const loaded = await this.workflows.version(run.tenant, run.workflow, run.version);
    if (!loaded) throw notFound('workflow version');
    const now = this.config.clock();
    const step = fromStart ? loaded.compiled.start : (run.error?.step ?? run.step ?? loaded.compiled.start);
    const next: Run = {
      ...run, status: 'queued', step, error: null, finished_at: null, parking: null, wake_at: null,
      attempt: run.attempt + 1, owner: this.config.owner, lease_until: now + this.config.leaseMs,
      rev: run.rev + 1, updated_at: now,
      ...(fromStart ? { data: run.input, progress: 0 } : {}),
    };
    const res = await this.committer.transition({ run: next, expectRev: run.rev, steps: [] });
    if (!res.ok) throw new FlowgateError('conflict', 'the run changed while it was being retried; try again');
    this.bus.publishRun(next);
    this.executor.dispatch({ run: next });
    return next;
  }

  /**
   * Merges data into a run (Corezoid `modify`). A run parked in `wait` is released with the data as
   * its callback body; any other run is updated by a durable fenced write before this returns. A
   * slice executing the run then finds its next commit refused and continues from the stored state
   * (the steps since its last commit run again: at least once).
   */
  async modify(tenant: string, id: string, data: JsonObject): Promise<{ run: Run; released: boolean }> {
    for (let i = 0; i < 5; i++) {
      const run = await this.store.getRun(tenant, id);
      if (!run) throw notFound('run');
      if (run.status === 'waiting' && run.parking?.kind === 'callback') {
        const outcome = await this.callback(run.callback_token, data);
        return { run: outcome.run, released: outcome.kind === 'resumed' };
      }
      const now = this.config.clock();
      const next: Run = { ...run, data: { ...run.data, ...data }, rev: run.rev + 1, updated_at: now };
      const res = await this.committer.transition({ run: next, expectRev: run.rev, steps: [] });
      if (res.ok) {
        this.bus.publishRun(next);
        return { run: next, released: false };
      }
    }
    throw new FlowgateError('conflict', 'the run kept changing; try again');
  }

  /**
   * A POST to a run's callback URL: resumes a `wait` step, else becomes the run's reply if it has
   * none yet, else 409.
   */
  async callback(token: string, body: JsonObject): Promise<CallbackResult> {
    for (let i = 0; i < 5; i++) {
      const run = await this.store.findRunByCallbackToken(token);
      if (!run) throw notFound('callback');
      if (run.status === 'waiting' && run.parking?.kind === 'callback') {
        const now = this.config.clock();
        const claimed: Run = { ...run, status: 'running', owner: this.config.owner, lease_until: now + this.config.leaseMs, rev: run.rev + 1, updated_at: now };
        // The body is committed with the claim (on the parked record, marked running), so a crash
        // after the 202 and before the slice commits resumes with it instead of timing out.
        const parked = (await this.store.listSteps(run.id)).find((r) => r.seq === run.parking!.seq);
        const steps = parked ? [{ ...parked, status: 'running' as const, output: body }] : [];
        const res = await this.committer.transition({ run: claimed, expectRev: run.rev, steps });
        if (!res.ok) continue; // a timeout or another callback won the race: look again
        this.executor.dispatch({ run: claimed, resume: { kind: 'callback', body } });
        return { kind: 'resumed', run: claimed };
      }
      if (run.reply === null) {
        const now = this.config.clock();
        if (await this.store.setReply(run.id, { status: 'ok', data: body, at: now }, now)) {
          const fresh = (await this.store.loadRun(run.id)) ?? run;
          this.bus.publishRun(fresh);
          return { kind: 'replied', run: fresh };
        }
        continue;
      }
      throw new FlowgateError('conflict', 'the run has already replied and is not waiting for a callback');
    }
    throw new FlowgateError('conflict', 'the run kept changing; try again');
  }
}
