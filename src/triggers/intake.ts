/**
 * Turning a request of any surface into "start a run": find the workflow, apply its params, create
 * the run durably (idempotently by ref), and follow it for callers who wait.
 */
import { checkDepth } from '../core/depth.js';
import { FlowgateError, notFound, validationFailed, type FieldProblem } from '../core/errors.js';
import { compileParams } from '../core/params.js';
import type { JsonObject, Run, Workflow } from '../core/types.js';
import type { Engine } from '../engine/engine.js';
import type { CreateResult, RefPolicy } from '../store/types.js';
import { readRef, REF_MAX } from '../core/ref.js';
import type { TraceContext } from '../core/trace.js';

export interface IntakeLimits {
  maxDataBytes: number;
  /** Upper bound of any wait a caller asks for, in seconds. */
  maxWaitSeconds: number;
  maxBatchItems: number;
}

export interface StartOptions {
  ref?: string | null;
  refPolicy?: RefPolicy;
  resultUrl?: string | null;
  /** Data keys added after params are applied (e.g. `__callback_url` for sync callers). */
  extra?: JsonObject;
  /** A callback token made beforehand (Engine.newCallback), e.g. when `extra` carries its URL. */
  callbackToken?: string;
  /** Kept with the run as `meta` (see Run.meta). */
  meta?: JsonObject;
  /** The trigger's W3C trace context (core/trace.ts), kept in `meta.trace`. */
  trace?: TraceContext;
}

/** The run's meta: what the surface keeps, and the trace the trigger belongs to. */
function metaOf(opts: StartOptions): JsonObject | undefined {
  if (!opts.trace) return opts.meta;
  return { ...opts.meta, trace: { ...opts.trace } };
}

export type Started = { workflow: Workflow; result: CreateResult };

export type BatchItemResult =
  | { ref: string | null; run_id: string; status: 'created' | 'existing' }
  | { ref: string | null; error: FlowgateError };

/** A ref as the native API takes it (core/ref.ts), or a 422 naming `path`. */
export function checkRef(ref: unknown, path = 'ref'): string | null {
  const checked = readRef(ref);
  if (checked.ok) return checked.ref;
  const message = checked.problem === 'type' ? 'must be a string' : `must be at most ${REF_MAX} characters`;
  throw validationFailed([{ path, message }], 'Invalid ref');
}

export class Intake {
  constructor(private readonly engine: Engine, readonly limits: IntakeLimits) {}

  /** The current, non-archived version of a workflow, or 404. */
  async workflow(tenant: string, id: string): Promise<Workflow> {
    const wf = await this.engine.workflows.current(tenant, id);
    if (!wf || wf.archived) throw notFound(`workflow ${id}`);
    return wf;
  }

  /**
   * Applies the workflow's params to an input; throws 422 with every problem, `too_deep` (400) when
   * the input, or the data its params make (a JSON string coerced to an object), nests deeper than
   * the nesting limit, 413 past the data size limit.
   */
  prepare(wf: Workflow, input: Record<string, unknown>): JsonObject {
    // Every surface comes through here (bodies are also checked as they are parsed): nothing
    // deeper than the limit reaches the params, the size check's JSON.stringify or the store.
    checkDepth(input, 'the input');
    const checked = compileParams(wf.definition.params, wf.definition.undeclared).apply(input);
    if (!checked.ok) throw validationFailed(checked.errors);
    checkDepth(checked.data, 'the run data');
    const size = Buffer.byteLength(JSON.stringify(checked.data));
    if (size > this.limits.maxDataBytes) {
      throw new FlowgateError('payload_too_large', `run data would be ${size} bytes; the limit is ${this.limits.maxDataBytes}`);
    }
    return checked.data;
  }

  /** The current workflow when it is cached (no promise), else undefined: call `workflow`. */
  cachedWorkflow(tenant: string, id: string): Workflow | undefined {
    const wf = this.engine.workflows.currentCached(tenant, id);
    return wf && !wf.archived ? wf : undefined;
  }

  /** Rejects (never throws) with the params' 422 or the engine's error, like an async function. */
  start(wf: Workflow, input: Record<string, unknown>, opts: StartOptions = {}): Promise<CreateResult> {
    let data: JsonObject;
    try {
      data = opts.extra ? { ...this.prepare(wf, input), ...opts.extra } : this.prepare(wf, input);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.engine.startRun({
      workflow: wf, data, input: input as JsonObject, ref: opts.ref ?? null,
      refPolicy: opts.refPolicy ?? 'native', resultUrl: opts.resultUrl ?? null,
      ...(opts.callbackToken ? { callbackToken: opts.callbackToken } : {}),
      ...(opts.meta || opts.trace ? { meta: metaOf(opts) } : {}),
    });
  }

  /** Native rule: an existing run with the same ref and input is returned; another input is a 409. */
  async startNative(wf: Workflow, input: Record<string, unknown>, opts: StartOptions = {}): Promise<{ run: Run; created: boolean }> {
    const result = await this.start(wf, input, opts);
    if (result.kind === 'conflict') {
      throw new FlowgateError('conflict', `ref ${JSON.stringify(opts.ref)} is already used by run ${result.run.id} with another input`, {
        extra: { run_id: result.run.id },
      });
    }
    return { run: result.run, created: result.kind === 'created' };
  }

  /**
   * Many runs in one request: every item is validated, the valid ones are created together (one
   * group commit), and each item answers in request order.
   */
  async startBatch(wf: Workflow, items: { ref?: unknown; data?: unknown }[], trace?: TraceContext): Promise<BatchItemResult[]> {
    if (items.length > this.limits.maxBatchItems) {
      throw new FlowgateError('payload_too_large', `a batch holds at most ${this.limits.maxBatchItems} items; got ${items.length}`);
    }
    return Promise.all(items.map(async (item, i): Promise<BatchItemResult> => {
      let ref: string | null = null;
      try {
        ref = checkRef(item?.ref, `items[${i}].ref`);
        const data = item?.data ?? {};
        if (typeof data !== 'object' || data === null || Array.isArray(data)) {
          throw validationFailed([{ path: `items[${i}].data`, message: 'must be an object' }], 'Invalid item');
        }
        const { run, created } = await this.startNative(wf, data as Record<string, unknown>, { ref, trace });
        return { ref, run_id: run.id, status: created ? 'created' : 'existing' };
      } catch (e) {
        if (e instanceof FlowgateError) return { ref, error: e };
        throw e;
      }
    }));
  }

  /** Waits up to `seconds` (capped) for the run to reply or end; returns its state then. */
  wait(run: Run, seconds: number, justCreated: boolean): Promise<Run> {
    return this.engine.awaitSettled(run, this.cappedWait(seconds) * 1000, !justCreated);
  }

  /** The wait actually given to a caller who asked for `seconds` (FLOWGATE_MAX_WAIT_SECONDS caps it). */
  cappedWait(seconds: number): number {
    return Math.max(0, Math.min(seconds, this.limits.maxWaitSeconds));
  }

  /** Parses a wait request (`?wait=N` or `Prefer: wait=N`); null when none was asked. */
  static waitSeconds(query: string | null, prefer: string | undefined): number | null {
    let raw: string | null = query;
    if (raw === null && prefer) {
      const m = /(?:^|[,;\s])wait=(\d+(?:\.\d+)?)/i.exec(prefer);
      if (m) raw = m[1];
    }
    if (raw === null) return null;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) {
      throw validationFailed([{ path: 'wait', message: 'must be a non-negative number of seconds' } satisfies FieldProblem], 'Invalid wait');
    }
    return n;
  }
}
