/**
 * The Mambu Process Orchestrator / Corezoid surface (docs/spec.md §5.1, §8.7, §8.9):
 *
 * - signed ops API   `POST /api/{1|2}/json/{login}/{gmt_unixtime}/{signature}`
 * - Sync API         `POST /sync/api/{1|2}/json/{login}/{gmt_unixtime}/{signature}`
 * - direct URLs      `POST /api/{1|2}/{json|xml|nvp}/public/{conv_id}/{hash}`
 *
 * Every answer is a Corezoid envelope `{ request_proc, ops: [...] }`, never problem+json, with the
 * statuses of the MPO documentation's table: a bad signature, a stale time, a missing body or a wrong
 * direct-URL hash is 400 `callback_hash_error`; an unknown API login is 500 (the documented "incorrect
 * API login details"); a malformed envelope is 400. A processed envelope is 200 with
 * `request_proc: "ok"` only when every op is ok; otherwise `request_proc: "error"` with each op's own
 * `proc`, and HTTP 400 (500 when an op failed for a fault of the server). Nothing is created by a
 * refused request.
 */
import { traceOf } from '../../core/trace.js';
import { FlowgateError } from '../../core/errors.js';
import { safeEqual } from '../../core/ids.js';
import type { Json, Workflow } from '../../core/types.js';
import { bodyFormat, parseJsonBody, parseMediaType, parseParamsBody } from '../body.js';
import type { Ctx, Handler, RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { sendJson, sendText } from '../problem.js';
import { rawBody } from '../request.js';
import { requireSignature } from '../verify.js';
import { objectToXml } from '../xml.js';
import { CorezoidOps, envelopeOps, EnvelopeError, isEnvelope, opOutcome, syncTimeout, type OpAnswer } from './corezoid-ops.js';
import { checkSignedRequest, loginDirectory } from './corezoid-sign.js';

export interface CorezoidOptions {
  /** Allowed difference between the URL's time and the server's clock, in seconds (±). */
  timeWindowSeconds: number;
  /** Ops per request. */
  maxOps: number;
  /** Upper bound of a Sync API wait, in seconds. */
  syncMaxSeconds: number;
}

/** The Sync API's wait when the body names no `timeout` (seconds). */
export const SYNC_DEFAULT_SECONDS = 60;
const HASH_ERROR = 'callback_hash_error';
const API_VERSIONS = ['1', '2'] as const;
const DIRECT_FORMATS = ['json', 'xml', 'nvp'] as const;
type WireFormat = (typeof DIRECT_FORMATS)[number];

const MEDIA_OF: Record<WireFormat, string> = {
  json: 'application/json', xml: 'application/xml', nvp: 'application/x-www-form-urlencoded',
};

type Envelope = { request_proc: 'ok' | 'error'; ops: OpAnswer[] } | { ops: OpAnswer[]; request_proc: 'ok' | 'error' };

const refusal = (description: string, proc = 'error'): Envelope => ({ request_proc: 'error', ops: [{ proc, description }] });

/** The documented refusal of a bad signature, stale time, missing body or wrong hash; `details` says which. */
const hashRefusal = (details?: string): Envelope => ({
  request_proc: 'error', ops: [{ proc: HASH_ERROR, description: `Bad request. Reason: ${HASH_ERROR}`, ...(details ? { details } : {}) }],
});

/**
 * A processed envelope's status: 200 and `request_proc: "ok"` only when every op is ok (a Sync API op
 * that timed out after its task was created counts as ok: the task goes on); else `request_proc:
 * "error"`, HTTP 500 when an op failed for a server fault, 400 otherwise.
 */
function processed(answers: OpAnswer[]): { status: number; requestProc: 'ok' | 'error' } {
  const outcomes = answers.map(opOutcome);
  if (outcomes.every((o) => o === 'ok' || o === 'timeout')) return { status: 200, requestProc: 'ok' };
  return { status: outcomes.includes('fault') ? 500 : 400, requestProc: 'error' };
}

/** Writes an envelope: XML (root `<response>`) for the xml direct URL, JSON otherwise. */
function sendEnvelope(ctx: Ctx, format: WireFormat, status: number, body: Envelope, headers?: Record<string, string>): void {
  if (format === 'xml') return sendText(ctx.res, status, 'application/xml; charset=utf-8', objectToXml(body, 'response'), headers);
  sendJson(ctx.res, status, body, headers);
}

export function corezoidRoutes(d: RouteDeps, opts: CorezoidOptions): RouteDef[] {
  const ops = new CorezoidOps(d);
  const logins = loginDirectory(d.store, d.secretBox, d.log, d.engine.caches);

  /** Any failure below the handler becomes an envelope (413 stays 413, a server fault is a 500). */
  const guarded = (format: (ctx: Ctx) => WireFormat, handler: Handler): Handler => async (ctx) => {
    try {
      await handler(ctx);
    } catch (e) {
      if (e instanceof EnvelopeError) return sendEnvelope(ctx, format(ctx), 400, refusal(e.message));
      if (e instanceof FlowgateError) {
        const status = e.status === 422 || e.status === 404 || e.status === 415 ? 400 : e.status;
        return sendEnvelope(ctx, format(ctx), status, refusal(e.message), e.headers);
      }
      d.log.error({ err: e, path: ctx.req.url }, 'a Corezoid request failed');
      sendEnvelope(ctx, format(ctx), 500, refusal('internal error; it has been logged'));
    }
  };

  // ---------------------------------------------------------------- signed ops API and Sync API

  const signed = (sync: boolean): Handler => guarded(() => 'json', async (ctx) => {
    const body = await rawBody(ctx);
    const check = await checkSignedRequest(
      logins, { login: ctx.params.login!, time: ctx.params.time!, signature: ctx.params.signature! },
      body, d.clock(), opts.timeWindowSeconds,
    );
    if (!check.ok) {
      if (check.kind === 'login') {
        return sendEnvelope(ctx, 'json', 500, refusal(`${check.description}: an internal server error that may be caused by using the incorrect API login details`));
      }
      return sendEnvelope(ctx, 'json', 400, hashRefusal(check.description));
    }
    let parsed: unknown;
    try {
      parsed = parseJsonBody(body, parseMediaType(ctx.req.headers['content-type']).charset);
    } catch (e) {
      throw new EnvelopeError(e instanceof Error ? e.message : 'the body is not JSON');
    }
    const list = envelopeOps(parsed, opts.maxOps);
    const scope = { tenant: check.login.tenant, trace: traceOf(ctx.req.headers) };
    const targets = await ops.workflowsToStart(list, scope);
    // trigger.verify of every workflow the envelope creates tasks in: the raw body must carry its signature too.
    for (const wf of new Set(targets)) await requireSignature(d, ctx, wf, body);
    // The API login is the caller's key; every workflow the envelope creates tasks in draws a token.
    if (d.rateLimiter.enabled) await d.rateLimiter.admit(`login:${check.login.login}`, targets);
    if (!sync) {
      const result = await ops.run(list, scope);
      const { status, requestProc } = processed(result.answers);
      return sendEnvelope(ctx, 'json', status, { request_proc: requestProc, ops: result.answers });
    }
    const timeout = syncTimeout(parsed);
    const waitSeconds = Math.min(timeout ?? SYNC_DEFAULT_SECONDS, opts.syncMaxSeconds);
    const result = await ops.run(list, { ...scope, syncWaitMs: waitSeconds * 1000 });
    // docs/spec.md §5.1: a timeout the caller chose is a 200 with the op's error; the default one is a 504.
    if (result.timedOut && timeout === undefined) return sendEnvelope(ctx, 'json', 504, { request_proc: 'error', ops: result.answers });
    const { status, requestProc } = processed(result.answers);
    sendEnvelope(ctx, 'json', status, { ops: result.answers, request_proc: requestProc });
  });

  // ---------------------------------------------------------------- direct URLs

  /** The workflow a direct URL names, when its hash is right and it is public; else null. */
  const directWorkflow = async (convParam: string, hash: string): Promise<Workflow | null> => {
    if (!/^\d{1,15}$/.test(convParam) || !/^[0-9a-fA-F]{40}$/.test(hash)) return null;
    const found = await d.store.findWorkflowByConvId(Number(convParam));
    if (!found) return null;
    // The current version through the engine's cache (a rotated hash or an archive is seen at once on this node).
    const wf = await d.engine.workflows.current(found.tenant, found.id);
    if (!wf || wf.archived || !wf.definition.trigger.public) return null;
    return safeEqual(hash.toLowerCase(), wf.hash) ? wf : null;
  };

  const direct = (format: WireFormat): Handler => guarded(() => format, async (ctx) => {
    const wf = await directWorkflow(ctx.params.conv_id!, ctx.params.hash!);
    if (!wf) return sendEnvelope(ctx, format, 400, hashRefusal());
    const bytes = await rawBody(ctx);
    // trigger.verify: the hash alone is not enough when the workflow asks for a signature.
    await requireSignature(d, ctx, wf, bytes);
    const contentType = ctx.req.headers['content-type'];
    const declared = bodyFormat(parseMediaType(contentType).type);
    // The URL names the body's format unless the Content-Type names a known one.
    let body = parseParamsBody(bytes, declared ? contentType : MEDIA_OF[format]);
    if (format === 'nvp') {
      // Name-value pairs may also come in the query string; the body wins.
      const fromQuery: Record<string, unknown> = {};
      const signedInQuery = wf.definition.trigger.verify?.scheme === 'corezoid';
      for (const [k, v] of ctx.query) {
        if (k !== 'ref' && !(signedInQuery && (k === 'conv_time' || k === 'conv_signature'))) fromQuery[k] = v;
      }
      body = { ...fromQuery, ...body };
    }
    let list: unknown[];
    if (isEnvelope(body)) list = envelopeOps(body, opts.maxOps, format !== 'json');
    else {
      const ref = ctx.query.get('ref');
      list = [{ type: 'create', obj: 'task', conv_id: wf.conv_id, ...(ref ? { ref } : {}), data: body as Json }];
    }
    // The URL's hash is the credential: no key bucket, the workflow's own (shared with its other surfaces).
    const touchesWorkflow = list.some((op) => typeof op === 'object' && op !== null && (op as { type?: unknown }).type === 'create');
    if (touchesWorkflow) await d.rateLimiter.admit(undefined, [wf]);
    const result = await ops.run(list, { tenant: wf.tenant, only: wf, trace: traceOf(ctx.req.headers) });
    const { status, requestProc } = processed(result.answers);
    sendEnvelope(ctx, format, status, { request_proc: requestProc, ops: result.answers });
  });

  const routes: RouteDef[] = [];
  for (const v of API_VERSIONS) {
    routes.push(
      { method: 'POST', path: `/api/${v}/json/:login/:time/:signature`, auth: 'public', name: 'corezoid.ops', handler: signed(false) },
      { method: 'POST', path: `/sync/api/${v}/json/:login/:time/:signature`, auth: 'public', name: 'corezoid.sync', handler: signed(true) },
    );
    for (const f of DIRECT_FORMATS) {
      routes.push({ method: 'POST', path: `/api/${v}/${f}/public/:conv_id/:hash`, auth: 'public', name: 'corezoid.direct', handler: direct(f) });
    }
  }
  return routes;
}
