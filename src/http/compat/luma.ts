/**
 * Luma Automation gateway API (docs/spec.md §5.2, §8.18): trigger, workflow history, step history and
 * launch-in-context, answered in Luma's envelope
 * `{ status, statusCode, statusLine, errors, resultData, warnings, timestamp, reasonPhrase, metaInfo }`.
 *
 * Auth: `Authorization: Bearer <token>` or `itas-api-access-key: <token>` with a tenant key (role
 * `trigger` to trigger, `read` for history and launch URLs) or the admin token (tenant from
 * `Flowgate-Tenant`, else `default`). Another tenant's trigger ids answer 404. The launch URL's page
 * and the reads its key allows are launch-routes.ts's.
 *
 * Failures keep the envelope: `DataValidationError` (statusCode 1, HTTP 400) for anything wrong in
 * the request, with every problem in `errors`; other failures carry their HTTP status both as the
 * HTTP status and as `statusCode`, with `reasonPhrase` set (401 Unauthorized, 403 Forbidden, 404
 * NotFound, 409 Conflict, 413 PayloadTooLarge, 500 Failure).
 */
import { traceOf } from '../../core/trace.js';
import { STATUS_CODES } from 'node:http';
import { FlowgateError } from '../../core/errors.js';
import { UUID_RE } from '../../core/ids.js';
import { type Json, type JsonObject, type Role, type Run, type Workflow } from '../../core/types.js';
import { checkRef } from '../../triggers/intake.js';
import { issueKey, launchKeyOf, launchKeyRefused, requireRole, type Principal } from '../auth.js';
import type { ConsoleSite } from '../console.js';
import type { Ctx, Handler, RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { sendJson } from '../problem.js';
import { header, jsonObjectBody, jsonObjectOf, rawBody } from '../request.js';
import { requireSignature } from '../verify.js';
import { LaunchKeys } from './launch.js';
import { launchRoutes } from './launch-routes.js';
import { historyRecord, parseStepQuery, queryItems, stepDetail, stepItem } from './luma-history.js';

export interface LumaOptions {
  /** HMAC key of launch-in-context keys (launchSecret(masterKey)). */
  launchSecret: Buffer;
  /** Lifetime of a launch key in seconds (FLOWGATE_LAUNCH_TTL_SECONDS, default 900). */
  launchTtlSeconds: number;
  /** Who may frame the launch pages (FLOWGATE_LAUNCH_FRAME_ANCESTORS; null: anyone). */
  launchFrameAncestors?: string | null;
  /** The web console: the launch page is its run page, read-only. */
  console?: Pick<ConsoleSite, 'index'>;
}

export const LAUNCH_CONTEXT = 'WORKFLOW_EXECUTION_STATUS';

// ---------------------------------------------------------------- envelope

export interface LumaEnvelope {
  status: string;
  statusCode: number;
  statusLine: string;
  errors: string[] | null;
  resultData: Json;
  warnings: string[] | null;
  timestamp: number;
  reasonPhrase: string | null;
  metaInfo: Json;
}

export function envelope(status: string, statusCode: number, statusLine: string, resultData: Json, extra: Partial<LumaEnvelope> = {}): LumaEnvelope {
  return {
    status, statusCode, statusLine, errors: extra.errors ?? null, resultData, warnings: extra.warnings ?? null,
    timestamp: extra.timestamp ?? Date.now(), reasonPhrase: extra.reasonPhrase ?? null, metaInfo: extra.metaInfo ?? null,
  };
}

const success = (statusLine: string, resultData: Json, metaInfo: Json = null): LumaEnvelope =>
  envelope('Success', 0, statusLine, resultData, { metaInfo });

/** A refusal answered in the envelope: HTTP status, envelope and extra headers. */
class LumaFailure extends Error {
  constructor(readonly httpStatus: number, readonly body: LumaEnvelope, readonly headers: Record<string, string> = {}) {
    super(body.statusLine);
  }
}

const TRIGGER_INVALID = 'Failed to submit workflow trigger request due to validation errors.';

function dataValidation(statusLine: string, errors: string[], resultData: Json = null): LumaFailure {
  return new LumaFailure(400, envelope('DataValidationError', 1, statusLine, resultData, { errors }));
}

const STATUS_NAMES: Record<number, string> = {
  401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'Conflict', 413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType', 429: 'TooManyRequests', 503: 'ServiceUnavailable',
};

function failure(httpStatus: number, message: string, resultData: Json = null, headers: Record<string, string> = {}): LumaFailure {
  return new LumaFailure(httpStatus, envelope(STATUS_NAMES[httpStatus] ?? 'Failure', httpStatus, message, resultData, {
    errors: [message], reasonPhrase: STATUS_CODES[httpStatus] ?? null,
  }), headers);
}

const problemStrings = (e: FlowgateError): string[] =>
  e.errors?.length ? e.errors.map((p) => (p.path ? `${p.path} ${p.message}` : p.message)) : [e.message];

/** Any error of a Luma handler as the envelope (the server's problem+json is not Luma's format). */
function toFailure(e: unknown, statusLine = 'The request could not be processed.'): LumaFailure {
  if (e instanceof LumaFailure) return e;
  if (e instanceof FlowgateError) {
    if (e.code === 'validation_failed' || e.code === 'malformed_body' || e.code === 'too_deep' || e.code === 'bad_request') {
      return dataValidation(statusLine, problemStrings(e));
    }
    return failure(e.status, e.message, null, e.headers ?? {});
  }
  return failure(500, 'The server could not complete the request. It has been logged.');
}

// ---------------------------------------------------------------- routes

export function lumaRoutes(d: RouteDeps, opts: LumaOptions): RouteDef[] {
  const keys = new LaunchKeys(opts.launchSecret, opts.launchTtlSeconds, d.clock);

  /** Wraps a handler so every failure is answered in the envelope. */
  const enveloped = (handler: Handler, statusLine?: string): Handler => async (ctx) => {
    try {
      await handler(ctx);
    } catch (e) {
      const f = toFailure(e, statusLine);
      if (f.httpStatus >= 500) d.log.error({ err: e, path: ctx.req.url }, 'luma request failed');
      const headers: Record<string, string> = { ...f.headers };
      if (f.httpStatus === 401 && !Object.keys(headers).some((h) => h.toLowerCase() === 'www-authenticate')) headers['WWW-Authenticate'] = 'Bearer';
      sendJson(ctx.res, f.httpStatus, f.body, headers);
    }
  };

  /** The rate limits of a Luma call, as on the native API: the key's bucket, and the workflows it starts; the admin token is exempt. */
  const limit = async (p: Principal, workflows: readonly Workflow[] = []): Promise<void> => {
    if (p.kind !== 'admin') await d.rateLimiter.admit(p.key_id, workflows);
  };

  /** The caller: a Bearer token or an `itas-api-access-key` header, with at least `role`; `limited`: its rate is checked here. */
  const principal = async (ctx: Ctx, role: Role, limited = true): Promise<Principal> => {
    const authorization = header(ctx, 'authorization');
    const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
    const token = bearer ?? header(ctx, 'itas-api-access-key')?.trim();
    if (!token && launchKeyOf(authorization) !== null) throw failure(403, launchKeyRefused().message);
    if (!token) throw failure(401, 'An access token is required: send Authorization: Bearer <token> or itas-api-access-key: <token>.');
    const p = await d.auth.principalFor(token, header(ctx, 'flowgate-tenant'));
    requireRole(p, role);
    ctx.principal = p;
    if (limited) await limit(p);
    return p;
  };

  const runOf = async (tenant: string, id: string | undefined): Promise<Run> => {
    const run = id && UUID_RE.test(id) ? await d.store.getRun(tenant, id) : null;
    if (!run) throw failure(404, `No workflow execution with trigger id ${JSON.stringify(id ?? '')} was found.`);
    return run;
  };

  // -------- trigger

  const trigger = async (ctx: Ctx): Promise<void> => {
    const p = await principal(ctx, 'trigger', false);
    const bytes = await rawBody(ctx);
    const body = jsonObjectOf(ctx, bytes);
    const errors: string[] = [];
    const ident = typeof body.workflowIdentifier === 'string' ? body.workflowIdentifier.trim() : '';
    if (!ident) {
      throw dataValidation(TRIGGER_INVALID, ['workflowIdentifier is required'], { executionConfig: { identifier: null, name: null } });
    }
    const wf: Workflow | null = await d.engine.workflows.current(p.tenant, ident);
    if (!wf || wf.archived) throw failure(404, `No workflow with identifier ${JSON.stringify(ident)} was found.`, { executionConfig: { identifier: ident } });
    const config = { identifier: wf.id, name: wf.name };
    // trigger.verify: the raw bytes carry the workflow's signature (an admin credential needs none).
    await requireSignature(d, ctx, wf, bytes);

    let variables: Record<string, unknown> = {};
    if (body.variables !== undefined && body.variables !== null) {
      if (typeof body.variables !== 'object' || Array.isArray(body.variables)) errors.push('variables must be an object of parameter names to values');
      else variables = body.variables as Record<string, unknown>;
    }
    if (body.initiationInfo !== undefined && body.initiationInfo !== null && (typeof body.initiationInfo !== 'object' || Array.isArray(body.initiationInfo))) {
      errors.push('initiationInfo must be an object');
    }
    for (const k of ['initiatorContactId', 'initiatorApplicationId'] as const) {
      const v = body[k];
      if (v !== undefined && v !== null && typeof v !== 'number' && typeof v !== 'string') errors.push(`${k} must be a number or a string`);
    }
    try {
      d.intake.prepare(wf, variables);
    } catch (e) {
      if (e instanceof FlowgateError && (e.code === 'validation_failed' || e.code === 'too_deep')) errors.push(...problemStrings(e));
      else throw e;
    }
    if (errors.length) throw dataValidation(TRIGGER_INVALID, errors, { executionConfig: config });

    const meta: JsonObject = {};
    for (const k of ['initiatorContactId', 'initiatorApplicationId', 'initiationInfo'] as const) {
      if (body[k] !== undefined) meta[k] = body[k] as Json;
    }
    const ref = checkRef(header(ctx, 'idempotency-key'), 'Idempotency-Key');
    await limit(p, [wf]);
    const { run } = await d.intake.startNative(wf, variables, { ref, meta, trace: traceOf(ctx.req.headers) });
    sendJson(ctx.res, 200, success('Successfully submitted workflow trigger request.', {
      executionConfig: { triggerId: run.id, ...config },
      statusInfo: { status: 'SUBMITTED' },
    }));
  };

  // -------- history

  const paramsOf = async (run: Run): Promise<Workflow['definition']['params']> => {
    const loaded = await d.engine.workflows.version(run.tenant, run.workflow, run.version);
    return loaded?.compiled.workflow.definition.params ?? {};
  };

  const history = async (ctx: Ctx): Promise<void> => {
    const p = await principal(ctx, 'read');
    const run = await runOf(p.tenant, ctx.params.triggerId);
    sendJson(ctx.res, 200, success('Successfully retrieved workflow history record.', historyRecord(run, await paramsOf(run), d.clock(), ctx.base)));
  };

  const stepHistory = async (ctx: Ctx): Promise<void> => {
    const p = await principal(ctx, 'read');
    const run = await runOf(p.tenant, ctx.params.triggerId);
    const parsed = parseStepQuery(ctx.query);
    if (!parsed.ok) throw dataValidation('Failed to retrieve workflow step history records due to validation errors.', parsed.errors);
    const now = d.clock();
    const items = (await d.store.listSteps(run.id)).map((r) => stepItem(r, run, now));
    const page = queryItems(items, parsed.query);
    sendJson(ctx.res, 200, success('Successfully retrieved workflow step history records.', page.items, {
      totalCount: page.total, skip: parsed.query.skip, top: parsed.query.top,
    }));
  };

  const stepHistoryRecord = async (ctx: Ctx): Promise<void> => {
    const p = await principal(ctx, 'read');
    const run = await runOf(p.tenant, ctx.params.triggerId);
    const raw = ctx.params.stepHistoryId ?? '';
    const seq = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    const record = Number.isNaN(seq) ? undefined : (await d.store.listSteps(run.id)).find((r) => r.seq === seq);
    if (!record) throw failure(404, `No step history record ${JSON.stringify(raw)} was found for trigger id ${run.id}.`);
    sendJson(ctx.res, 200, success('Successfully retrieved workflow step history record.', stepDetail(record, run, d.clock())));
  };

  // -------- launch in context

  const generate = async (ctx: Ctx): Promise<void> => {
    const p = await principal(ctx, 'read');
    const body = await jsonObjectBody(ctx);
    const errors: string[] = [];
    if (body.launchContext !== LAUNCH_CONTEXT) errors.push(`launchContext must be ${JSON.stringify(LAUNCH_CONTEXT)}`);
    const info = body.contextInfo;
    const triggerId = info && typeof info === 'object' && !Array.isArray(info) ? (info as Record<string, unknown>).triggerId : undefined;
    if (typeof triggerId !== 'string' || triggerId.trim() === '') errors.push('contextInfo.triggerId is required');
    if (errors.length) throw dataValidation('Failed to generate launch-in-context URL due to validation errors.', errors);
    const run = await runOf(p.tenant, (triggerId as string).trim());
    const { key, expiresAt } = keys.issue(run.tenant, run.id);
    sendJson(ctx.res, 200, success('Successfully generated launch-in-context URL.', `${ctx.base}/launch/${key}`, { expiresAt }));
  };

  // -------- regenerate tenant access token

  /**
   * Luma's Regenerate Tenant Access Token: the caller's token (a tenant key of any role) is replaced
   * by a new key of the same tenant, name and role, returned once; the old token stops at once.
   */
  const regenerate = async (ctx: Ctx): Promise<void> => {
    const p = await principal(ctx, 'read');
    if (p.kind === 'admin' || !p.key_id) {
      throw failure(403, 'The admin token is not a tenant access token and cannot be regenerated here: set FLOWGATE_ADMIN_TOKEN, or create tenant keys with POST /v1/keys.');
    }
    const old = (await d.store.listKeys(p.tenant)).find((k) => k.id === p.key_id);
    if (!old) throw failure(401, 'The access token is no longer valid.');
    const { key, token } = issueKey(old.tenant, old.name, old.role, d.clock());
    await d.store.createKey(key);
    await d.store.deleteKey(old.tenant, old.id);
    d.auth.forget();
    sendJson(ctx.res, 200, success('Successfully regenerated tenant access token.', {
      tenantAccessToken: token, keyId: key.id, role: key.role, createdAt: new Date(key.created_at).toISOString(),
    }));
  };

  const G = '/gateway/api/v1';
  return [
    { method: 'POST', path: `${G}/workflow/trigger`, auth: 'public', name: 'luma.trigger', handler: enveloped(trigger, TRIGGER_INVALID) },
    { method: 'GET', path: `${G}/workflowhistory/:triggerId`, auth: 'public', name: 'luma.history', handler: enveloped(history) },
    { method: 'GET', path: `${G}/workflowhistory/:triggerId/stephistory`, auth: 'public', name: 'luma.stephistory', handler: enveloped(stepHistory) },
    { method: 'GET', path: `${G}/workflowhistory/:triggerId/stephistory/:stepHistoryId`, auth: 'public', name: 'luma.stephistory.record', handler: enveloped(stepHistoryRecord) },
    { method: 'POST', path: `${G}/launchincontexturl/generate`, auth: 'public', name: 'luma.launch', handler: enveloped(generate) },
    { method: 'POST', path: `${G}/tenantaccesstoken/regenerate`, auth: 'public', name: 'luma.token.regenerate', handler: enveloped(regenerate) },
    ...launchRoutes(d, { keys, frameAncestors: opts.launchFrameAncestors ?? null, console: opts.console }),
  ];
}
