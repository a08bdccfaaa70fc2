/**
 * Corezoid ops on `obj: "task"` (docs/spec.md §5.1, §8.7, §8.9): `create`, `modify`, `show`, each answered
 * on its own (`proc: ok | error | not_unical_ref`), in request order, with its `id` echoed.
 *
 * Creates that follow one another in a request are validated first and then started together, so
 * the group commit writes them in one transaction; a `modify` or `show` waits for the creates before
 * it (it may name a task created just before it in the same request). Refs follow Corezoid's rule:
 * taken only while the run holding it is active.
 *
 * With `sync`, each created run also gets `__callback_url` and the answer waits for its reply (or
 * end) as the Sync API does.
 */
import type { TraceContext } from '../../core/trace.js';
import { FlowgateError } from '../../core/errors.js';
import { isTerminal, type Json, type JsonObject, type Run, type RunStatus, type Workflow } from '../../core/types.js';
import type { CreateResult } from '../../store/types.js';
import type { RouteDeps } from '../deps.js';
import { readRef, REF_MAX } from '../../core/ref.js';

export const TIMEOUT_DESCRIPTION = 'Timeout for create task';

/** One op's answer as sent on the wire. */
export type OpAnswer = Record<string, Json>;

export interface OpsScope {
  /** The tenant the request acts for (the API login's, or the direct URL's workflow's). */
  tenant: string;
  /** Direct URLs: every op is bound to this workflow. */
  only?: Workflow;
  /** Sync API: how long to wait for the created runs, in ms. */
  syncWaitMs?: number;
  /** The request's W3C trace context: every run it creates belongs to that trace. */
  trace?: TraceContext;
}

export interface OpsResult {
  answers: OpAnswer[];
  /** Sync API: some created run neither replied nor ended in time. */
  timedOut: boolean;
}

/** A refusal of the whole envelope (HTTP 400, `request_proc: error`). */
export class EnvelopeError extends Error {}

/** Op answers that failed for a fault of the server (not of the op), and Sync API ops that timed out. */
const SERVER_FAULTS = new WeakSet<OpAnswer>();
const TIMEOUTS = new WeakSet<OpAnswer>();

/**
 * How one op ended, for the envelope's status: `ok`; `refused` (the op was wrong: validation, unknown
 * process or task, `not_unical_ref`, …); `fault` (the server failed it); `timeout` (a Sync API op whose
 * task was created but did not answer in time: the task goes on).
 */
export function opOutcome(answer: OpAnswer): 'ok' | 'refused' | 'fault' | 'timeout' {
  if (answer.proc === 'ok') return 'ok';
  return SERVER_FAULTS.has(answer) ? 'fault' : TIMEOUTS.has(answer) ? 'timeout' : 'refused';
}

const TASK_STATUS: Record<RunStatus, string> = {
  queued: 'created', running: 'processing', waiting: 'delayed',
  succeeded: 'processed', failed: 'processed', cancelled: 'canceled',
};

/** Corezoid's name for a run status (docs/spec.md §8.7). */
export const taskStatus = (status: RunStatus): string => TASK_STATUS[status];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const seconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

/**
 * The ops of an envelope. XML and form bodies cannot say "array of one": a single `ops` object is
 * taken as one op. Throws EnvelopeError when the body is no envelope or holds too many ops.
 */
export function envelopeOps(body: unknown, maxOps: number, singleOp = false): unknown[] {
  if (!isObject(body)) throw new EnvelopeError('the body must be a JSON object {"ops": [...]}');
  const ops = body.ops;
  if (ops === undefined) throw new EnvelopeError('the body has no "ops"');
  // `singleOp`: an XML or form body, which cannot say "array of one", may hold one op as an object.
  const list = Array.isArray(ops) ? ops : singleOp && isObject(ops) && typeof ops.type === 'string' ? [ops] : null;
  if (!list) throw new EnvelopeError('"ops" must be an array of ops');
  if (list.length > maxOps) throw new EnvelopeError(`too many ops in one request: ${list.length} (at most ${maxOps})`);
  return list;
}

/** True when a parsed direct-URL body is an ops envelope rather than the task's data. */
export function isEnvelope(body: Record<string, unknown>): boolean {
  const ops = body.ops;
  return Array.isArray(ops) || (isObject(ops) && typeof ops.type === 'string');
}

/** The `timeout` of a Sync API body in seconds: undefined when absent; EnvelopeError when unusable. */
export function syncTimeout(body: unknown): number | undefined {
  if (!isObject(body) || body.timeout === undefined || body.timeout === null || body.timeout === '') return undefined;
  const n = typeof body.timeout === 'string' ? Number(body.timeout) : body.timeout;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new EnvelopeError('"timeout" must be a number of seconds');
  return n;
}

interface Op {
  raw: Record<string, unknown>;
  /** The op's `id`, echoed ("" when none). */
  id: Json;
  hasId: boolean;
  ref: Json;
}

/** A create that passed every check and only waits to be started. */
interface PreparedCreate {
  index: number;
  op: Op;
  workflow: Workflow;
  input: JsonObject;
  ref: string | null;
}

class OpError extends Error {}


export class CorezoidOps {
  /** conv_id → workflow key, checked against the workflow's current conv_id on every use. */
  private readonly convIds = new Map<number, { tenant: string; id: string }>();

  constructor(private readonly d: RouteDeps) {}

  async run(rawOps: unknown[], scope: OpsScope): Promise<OpsResult> {
    const answers: OpAnswer[] = new Array(rawOps.length);
    const waits: Promise<void>[] = [];
    const hasId: boolean[] = new Array(rawOps.length).fill(false);
    const state = { timedOut: false };
    const deadline = scope.syncWaitMs === undefined ? 0 : Date.now() + scope.syncWaitMs;
    let group: { index: number; op: Op }[] = [];

    const flush = async (): Promise<void> => {
      if (group.length === 0) return;
      const creates = group;
      group = [];
      await this.createAll(creates, scope, answers, waits, deadline, state);
    };

    for (let i = 0; i < rawOps.length; i++) {
      const raw = rawOps[i];
      if (!isObject(raw)) {
        await flush();
        answers[i] = { id: '', proc: 'error', description: 'an op must be an object' };
        continue;
      }
      const op: Op = { raw, id: (raw.id ?? '') as Json, hasId: raw.id !== undefined, ref: (raw.ref ?? null) as Json };
      hasId[i] = op.hasId;
      if (raw.type === 'create') {
        group.push({ index: i, op });
        continue;
      }
      await flush();
      answers[i] = await this.other(op, scope);
    }
    await flush();
    await Promise.all(waits);
    // Sync answers carry `id` exactly when the op had one, errors included (docs/compatibility.md).
    if (scope.syncWaitMs !== undefined) answers.forEach((a, i) => { if (!hasId[i]) delete a.id; });
    return { answers, timedOut: state.timedOut };
  }

  /**
   * The workflows an envelope's create ops would start runs of, for the rate limits. An op that
   * names no workflow it may start is left out: it fails on its own when the envelope runs.
   */
  async workflowsToStart(rawOps: unknown[], scope: OpsScope): Promise<Workflow[]> {
    const found: Workflow[] = [];
    for (const raw of rawOps) {
      if (!isObject(raw) || raw.type !== 'create') continue;
      try {
        found.push(await this.workflowOf(raw, scope, true));
      } catch (e) {
        if (!(e instanceof OpError)) throw e;
      }
    }
    return found;
  }

  // ---------------------------------------------------------------- create

  private async createAll(
    creates: { index: number; op: Op }[], scope: OpsScope, answers: OpAnswer[], waits: Promise<void>[],
    deadline: number, state: { timedOut: boolean },
  ): Promise<void> {
    const ready: PreparedCreate[] = [];
    for (const { index, op } of creates) {
      try {
        ready.push(await this.prepareCreate(index, op, scope));
      } catch (e) {
        answers[index] = this.failure(op, e);
      }
    }
    // Started in one synchronous loop: every create reaches the committer in this turn, in op order.
    const started = ready.map((p) => {
      const callback = scope.syncWaitMs === undefined ? null : this.d.engine.newCallback();
      return this.d.intake.start(p.workflow, p.input, {
        ref: p.ref, refPolicy: 'while-active', trace: scope.trace,
        ...(callback ? { callbackToken: callback.token, extra: { __callback_url: callback.url } } : {}),
      }).then((result) => ({ ok: true as const, result }), (error: unknown) => ({ ok: false as const, error }));
    });
    const results = await Promise.all(started);
    results.forEach((r, k) => {
      const p = ready[k];
      if (!r.ok) {
        answers[p.index] = this.failure(p.op, r.error);
        return;
      }
      answers[p.index] = this.createAnswer(p.op, r.result);
      if (scope.syncWaitMs !== undefined && r.result.kind === 'created') {
        // `true`: one store read up front, so a reply committed before this waiter existed is not missed.
        waits.push(this.d.engine.awaitSettled(r.result.run, Math.max(0, deadline - Date.now()), true).then((run) => {
          const answer = syncAnswer(p.op, run);
          if (answer === null) {
            state.timedOut = true;
            const timedOut = withId(p.op, { proc: 'error', description: TIMEOUT_DESCRIPTION });
            TIMEOUTS.add(timedOut);
            answers[p.index] = timedOut;
          } else answers[p.index] = answer;
        }));
      }
    });
  }

  private async prepareCreate(index: number, op: Op, scope: OpsScope): Promise<PreparedCreate> {
    const raw = op.raw;
    if (raw.obj !== 'task') throw new OpError(`unknown obj ${JSON.stringify(raw.obj ?? null)}: ops act on obj "task"`);
    this.checkCompany(raw, scope);
    const workflow = await this.workflowOf(raw, scope, true);
    const ref = refOf(raw.ref);
    const data = raw.data ?? {};
    if (!isObject(data)) throw new OpError('"data" must be an object');
    // Params are applied here so a bad op is answered without holding up the others.
    this.d.intake.prepare(workflow, data);
    return { index, op, workflow, input: data as JsonObject, ref };
  }

  private createAnswer(op: Op, result: CreateResult): OpAnswer {
    if (result.kind === 'conflict') {
      return {
        id: op.id, proc: 'not_unical_ref', obj: 'task', ref: op.ref, obj_id: result.run.id,
        description: `ref ${JSON.stringify(result.run.ref)} belongs to an active task`,
      };
    }
    return { id: op.id, proc: 'ok', obj: 'task', ref: op.ref, obj_id: result.run.id };
  }

  // ---------------------------------------------------------------- modify, show

  private async other(op: Op, scope: OpsScope): Promise<OpAnswer> {
    try {
      const raw = op.raw;
      if (raw.type !== 'modify' && raw.type !== 'show') throw new OpError(`unknown op type ${JSON.stringify(raw.type ?? null)}: use create, modify or show`);
      if (raw.obj !== 'task') throw new OpError(`unknown obj ${JSON.stringify(raw.obj ?? null)}: ops act on obj "task"`);
      this.checkCompany(raw, scope);
      const run = await this.findTask(raw, scope);
      if (raw.type === 'show') return await this.showAnswer(op, run);
      const data = raw.data ?? {};
      if (!isObject(data)) throw new OpError('"data" must be an object');
      const size = Buffer.byteLength(JSON.stringify({ ...run.data, ...data }));
      if (size > this.d.intake.limits.maxDataBytes) throw new OpError(`the task's data would be ${size} bytes; the limit is ${this.d.intake.limits.maxDataBytes}`);
      const modified = await this.d.engine.modify(scope.tenant, run.id, data as JsonObject);
      return { id: op.id, proc: 'ok', obj: 'task', ref: op.ref ?? modified.run.ref, obj_id: modified.run.id };
    } catch (e) {
      return this.failure(op, e);
    }
  }

  private async showAnswer(op: Op, run: Run): Promise<OpAnswer> {
    const wf = await this.d.engine.workflows.current(run.tenant, run.workflow);
    return {
      id: op.id, proc: 'ok', obj: 'task', ref: run.ref, obj_id: run.id, conv_id: wf?.conv_id ?? null,
      status: taskStatus(run.status), data: run.data,
      create_time: seconds(run.created_at), change_time: seconds(run.updated_at), finish_time: seconds(run.finished_at),
    };
  }

  /** The task an op names: by `obj_id`, else by `ref` within the op's `conv_id`. */
  private async findTask(raw: Record<string, unknown>, scope: OpsScope): Promise<Run> {
    const objId = raw.obj_id;
    if (objId !== undefined && objId !== null && objId !== '') {
      if (typeof objId !== 'string') throw new OpError('"obj_id" must be a string');
      const run = await this.d.store.getRun(scope.tenant, objId);
      if (!run || (scope.only && run.workflow !== scope.only.id)) throw new OpError(`task ${objId} not found`);
      if (raw.conv_id !== undefined || raw.processID !== undefined) {
        const wf = await this.workflowOf(raw, scope, false);
        if (wf.id !== run.workflow) throw new OpError(`task ${objId} not found in process ${String(raw.conv_id ?? raw.processID)}`);
      }
      return run;
    }
    const ref = refOf(raw.ref);
    if (ref === null) throw new OpError('name the task by "obj_id", or by "ref" with "conv_id"');
    const wf = await this.workflowOf(raw, scope, false);
    const run = await this.d.store.findRunByRef(scope.tenant, wf.id, ref);
    if (!run) throw new OpError(`task with ref ${JSON.stringify(ref)} not found`);
    return run;
  }

  // ---------------------------------------------------------------- shared checks

  private checkCompany(raw: Record<string, unknown>, scope: OpsScope): void {
    const company = raw.company_id;
    if (company === undefined || company === null || company === '') return;
    if (String(company) !== scope.tenant) throw new OpError(`company_id ${JSON.stringify(company)} is not the company of this API login`);
  }

  /**
   * The workflow an op's `conv_id` (or `processID`) names, in the scope's tenant. Another tenant's
   * conv_id is answered exactly like an unknown one. `forCreate` also refuses archived workflows.
   */
  private async workflowOf(raw: Record<string, unknown>, scope: OpsScope, forCreate: boolean): Promise<Workflow> {
    const given = raw.conv_id ?? raw.processID;
    if (scope.only) {
      if (given !== undefined && given !== null && given !== '' && Number(given) !== scope.only.conv_id) {
        throw new OpError(`this URL starts process ${scope.only.conv_id} only`);
      }
      return scope.only;
    }
    if (given === undefined || given === null || given === '') throw new OpError('"conv_id" is required');
    const conv = typeof given === 'number' ? given : typeof given === 'string' && /^\d{1,15}$/.test(given.trim()) ? Number(given) : NaN;
    if (!Number.isSafeInteger(conv)) throw new OpError('"conv_id" must be a number');
    const notFound = new OpError(`process ${conv} not found`);
    let key = this.convIds.get(conv);
    let wf = key ? await this.d.engine.workflows.current(key.tenant, key.id) : null;
    // A conv_id can move to another workflow (identifiers brought by an operator): the remembered
    // workflow must still hold it, else the store says who does.
    if (!wf || wf.conv_id !== conv) {
      const found = await this.d.store.findWorkflowByConvId(conv);
      if (!found) {
        this.convIds.delete(conv);
        throw notFound;
      }
      key = { tenant: found.tenant, id: found.id };
      this.convIds.set(conv, key);
      wf = await this.d.engine.workflows.current(key.tenant, key.id);
    }
    if (!wf || wf.tenant !== scope.tenant || (forCreate && wf.archived)) throw notFound;
    return wf;
  }

  private failure(op: Op, e: unknown): OpAnswer {
    let description: string;
    if (e instanceof OpError) description = e.message;
    else if (e instanceof FlowgateError) {
      description = e.errors?.length ? `${e.message}: ${e.errors.map((p) => (p.path ? `${p.path} ${p.message}` : p.message)).join('; ')}` : e.message;
    } else {
      this.d.log.error({ err: e }, 'a Corezoid op failed');
      description = 'internal error; it has been logged';
    }
    const answer: OpAnswer = { id: op.id, proc: 'error', obj: typeof op.raw.obj === 'string' ? op.raw.obj : 'task', description };
    if (op.ref !== null) answer.ref = op.ref;
    if (!(e instanceof OpError) && !(e instanceof FlowgateError && e.status < 500)) SERVER_FAULTS.add(answer);
    return answer;
  }
}

/** An op's ref (the rule is core/ref.ts), refused in the Corezoid envelope's words. */
function refOf(value: unknown): string | null {
  const checked = readRef(value);
  if (checked.ok) return checked.ref;
  throw new OpError(checked.problem === 'type' ? '"ref" must be a string or a number' : `"ref" must be at most ${REF_MAX} characters`);
}

/** Sync answers carry `id` only when the op had one (the documented answers have none). */
function withId(op: Op, answer: OpAnswer): OpAnswer {
  return op.hasId ? { id: op.id, ...answer } : answer;
}

/** Final data without the key the Sync API itself added. */
function withoutCallbackUrl(data: JsonObject): JsonObject {
  if (!Object.hasOwn(data, '__callback_url')) return data;
  const { __callback_url: _ignored, ...rest } = data;
  return rest;
}

/** A Sync API op answer for a settled run (docs/spec.md §5.1, §8.9); null while the run has neither replied nor ended. */
export function syncAnswer(op: { hasId: boolean; id: Json }, run: Run): OpAnswer | null {
  const id: OpAnswer = op.hasId ? { id: op.id } : {};
  if (run.reply) {
    if (run.reply.status === 'error') {
      const info = run.reply.data;
      const text = typeof info === 'string' ? info : isObject(info) && typeof info.description === 'string' ? info.description : 'the process replied with an error';
      return { ...id, proc: 'error', description: text, data: { info } };
    }
    return { ...id, proc: 'ok', data: { info: run.reply.data } };
  }
  if (!isTerminal(run.status)) return null;
  if (run.status === 'succeeded') return { ...id, proc: 'ok', data: { info: withoutCallbackUrl(run.data) } };
  if (run.status === 'cancelled') return { ...id, proc: 'error', description: 'the task was cancelled' };
  return { ...id, proc: 'error', description: run.error?.message ?? 'the task failed' };
}
