/**
 * CSI iUpdate / iDMS webhooks (docs/spec.md §5.3, §8.15, §8.17): the GUID in the URL is the credential.
 *
 * - `POST /task/execute/{guid}`: fire-and-forget. Answers 200 as soon as the run is durably
 *   created; an error only when it could not be started (unknown GUID 404, bad params 422,
 *   malformed body 400).
 * - `POST /task/executepolling/{guid}`: the Asynchronous Request-Reply pattern. 202 with an absolute
 *   `Location: {base}/task/executepolling/{guid}/{runId}/status` and an integer `Retry-After`
 *   (the workflow's `trigger.retry_after`, default 5 s).
 * - `GET …/{runId}/status`: 202 with `{ status, percentComplete, … }` while the run is pending, 200
 *   with the final document once it has an answer (answerFor: replied or ended), the same on every
 *   later GET.
 *
 * Body: `{"QueryParameters": {…}}` gives the params (`null` or `""` values mean the default, as the
 * params rules say); an empty body (Content-Length: 0) is allowed; a JSON object without
 * `QueryParameters` is taken as the params themselves; a Content-Type that names no params format
 * (e.g. text/plain) is ignored. `trigger.public: false` turns all three off.
 */
import { traceOf } from '../../core/trace.js';
import { notFound, validationFailed } from '../../core/errors.js';
import { parseDuration } from '../../core/duration.js';
import { UUID_RE } from '../../core/ids.js';
import type { Json, JsonObject, Run, Workflow } from '../../core/types.js';
import { answerFor, runResult } from '../../triggers/answer.js';
import { checkRef } from '../../triggers/intake.js';
import { bodyFormat, parseMediaType, parseParamsBody } from '../body.js';
import type { Ctx, RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { sendJson } from '../problem.js';
import { header, rawBody } from '../request.js';
import { requireSignature } from '../verify.js';

/** Retry-After handed to CSI pollers when the workflow sets no `trigger.retry_after`. */
export const CSI_DEFAULT_RETRY_AFTER_SECONDS = 5;

/** Integer delta-seconds for a workflow's pollers: `trigger.retry_after` rounded up (at least 1), else 5. */
export function csiRetryAfter(wf: Workflow): number {
  const raw = wf.definition.trigger?.retry_after;
  if (raw === undefined) return CSI_DEFAULT_RETRY_AFTER_SECONDS;
  try {
    return Math.max(1, Math.ceil(parseDuration(raw) / 1000));
  } catch {
    return CSI_DEFAULT_RETRY_AFTER_SECONDS;
  }
}

// ---------------------------------------------------------------- documents

/** How a run's state reads in a CSI document. */
export function csiStatus(run: Run): string {
  const answer = answerFor(run);
  if (!answer.done) return run.status === 'queued' ? 'Queued' : 'In Progress';
  if (run.status === 'cancelled') return 'Cancelled';
  return csiSuccess(run) ? 'Completed' : 'Failed';
}

/** `success` of a finished job: the run succeeded (or replied ok and has not failed since). */
function csiSuccess(run: Run): boolean {
  if (run.status === 'failed' || run.status === 'cancelled') return false;
  if (run.reply) return run.reply.status === 'ok';
  return run.status === 'succeeded';
}

const count = (v: Json | undefined): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** recordsRead / recordsProcessed / recordsFailed from `data.stats` (docs/spec.md §8.17), 0 without stats. */
function records(run: Run): { recordsRead: number; recordsProcessed: number; recordsFailed: number } {
  const stats = run.data.stats;
  const s: JsonObject = stats && typeof stats === 'object' && !Array.isArray(stats) ? stats : {};
  return { recordsRead: count(s.total), recordsProcessed: count(s.succeeded), recordsFailed: count(s.failed) };
}

const percent = (run: Run): number => Math.max(0, Math.min(100, Math.floor(run.status === 'succeeded' ? 100 : run.progress)));

/** The status document: pending (202) or final (200). */
export function csiDocument(run: Run): { done: boolean; body: JsonObject } {
  const answer = answerFor(run);
  if (!answer.done) {
    return {
      done: false,
      body: {
        success: null, status: csiStatus(run), percentComplete: percent(run), ...records(run),
        message: run.status === 'queued' ? 'The job is queued.' : 'The job is in progress.',
        runId: run.id,
      },
    };
  }
  const success = csiSuccess(run);
  let message: string;
  if (run.status === 'cancelled') message = 'The job was cancelled.';
  else if (success) message = 'The job completed successfully.';
  else if (run.status === 'failed') message = run.error?.message ?? 'The job failed.';
  else message = 'The job replied with an error.';
  return {
    done: true,
    body: {
      success, status: csiStatus(run), percentComplete: 100, ...records(run), message, result: runResult(run), runId: run.id,
    },
  };
}

// ---------------------------------------------------------------- routes

/** The params of a CSI request body: `QueryParameters`, or the object itself; `{}` when empty. */
function queryParameters(ctx: Ctx, bytes: Buffer): Record<string, unknown> {
  if (bytes.length === 0 || /^\s*$/.test(bytes.toString('latin1'))) return {};
  // A Content-Type that names no params format (text/plain from a hand-configured HTTP action)
  // does not refuse the job: the body's own shape decides, as without a Content-Type.
  const contentType = header(ctx, 'content-type');
  const body = parseParamsBody(bytes, bodyFormat(parseMediaType(contentType).type) ? contentType : undefined);
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'queryparameters');
  if (key === undefined) return body;
  const qp = body[key];
  if (qp === null || qp === undefined || qp === '') return {};
  if (typeof qp !== 'object' || Array.isArray(qp)) {
    throw validationFailed([{ path: key, message: 'must be an object of parameter names to values' }], 'Invalid QueryParameters');
  }
  return qp as Record<string, unknown>;
}

export function csiRoutes(d: RouteDeps): RouteDef[] {
  /** The workflow behind a GUID; 404 when unknown, not public, or (for starting) archived. */
  const byGuid = async (guid: string | undefined, forStart: boolean): Promise<Workflow> => {
    const wf = guid && UUID_RE.test(guid) ? await d.store.findWorkflowByGuid(guid) : null;
    if (!wf || !wf.definition.trigger.public || (forStart && wf.archived)) throw notFound('task');
    if (!forStart) return wf;
    return d.intake.workflow(wf.tenant, wf.id); // the cached current version
  };

  const start = async (ctx: Ctx): Promise<{ wf: Workflow; run: Run }> => {
    const wf = await byGuid(ctx.params.guid, true);
    const key = header(ctx, 'idempotency-key');
    const ref = checkRef(key, 'Idempotency-Key');
    const bytes = await rawBody(ctx);
    // trigger.verify: the GUID alone is not enough when the workflow asks for a signature.
    await requireSignature(d, ctx, wf, bytes);
    const params = queryParameters(ctx, bytes);
    // The GUID is the credential: the workflow's own bucket, shared with its other surfaces.
    await d.rateLimiter.admit(undefined, [wf]);
    const { run } = await d.intake.startNative(wf, params, { ref, trace: traceOf(ctx.req.headers) });
    return { wf, run };
  };

  const statusUrl = (ctx: Ctx, wf: Workflow, run: Run): string => `${ctx.base}/task/executepolling/${wf.guid}/${run.id}/status`;

  const execute = async (ctx: Ctx): Promise<void> => {
    const { run } = await start(ctx);
    sendJson(ctx.res, 200, { success: true, status: csiStatus(run), message: 'The job was started.', runId: run.id });
  };

  const executePolling = async (ctx: Ctx): Promise<void> => {
    const { wf, run } = await start(ctx);
    sendJson(ctx.res, 202, csiDocument(run).body, { Location: statusUrl(ctx, wf, run), 'Retry-After': String(csiRetryAfter(wf)) });
  };

  const status = async (ctx: Ctx): Promise<void> => {
    const wf = await byGuid(ctx.params.guid, false);
    const id = ctx.params.runId ?? '';
    const run = UUID_RE.test(id) ? await d.store.getRun(wf.tenant, id) : null;
    if (!run || run.workflow !== wf.id) throw notFound('job');
    const doc = csiDocument(run);
    if (doc.done) return sendJson(ctx.res, 200, doc.body, { 'Cache-Control': 'no-store' });
    sendJson(ctx.res, 202, doc.body, {
      Location: statusUrl(ctx, wf, run), 'Retry-After': String(csiRetryAfter(wf)), 'Cache-Control': 'no-store',
    });
  };

  return [
    { method: 'POST', path: '/task/execute/:guid', auth: 'public', name: 'csi.execute', handler: execute },
    { method: 'POST', path: '/task/executepolling/:guid', auth: 'public', name: 'csi.executepolling', handler: executePolling },
    { method: 'GET', path: '/task/executepolling/:guid/:runId/status', auth: 'public', name: 'csi.status', handler: status },
  ];
}
