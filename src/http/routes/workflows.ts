/** Workflow definitions (create, version, read, archive) and the native trigger endpoints. */
import { randomBytes } from 'node:crypto';
import { parseDocument, validateDefinition } from '../../core/definition.js';
import { FlowgateError, notFound, validationFailed, type FieldProblem } from '../../core/errors.js';
import { isTerminal } from '../../core/types.js';
import { UUID_RE, uuidv4 } from '../../core/ids.js';
import type { HeadCondition, WorkflowIdentifiers } from '../../store/types.js';
import { traceOf } from '../../core/trace.js';
import { workflowEtag } from '../../core/workflow-etag.js';
import { checkRef, Intake } from '../../triggers/intake.js';
import { checkResultUrl } from '../../triggers/result-url.js';
import { sendAccepted, sendRunAnswer } from '../answers.js';
import { decodeText, mediaType } from '../body.js';
import type { Ctx, RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { problemBody, sendJson } from '../problem.js';
import { clampedInt, cursorQuery, entityTags, header, jsonObjectBody, jsonObjectOf, paramsOf, rawBody } from '../request.js';
import { requireSignature } from '../verify.js';
import { activityView, shownSource, versionView, workflowView } from '../views.js';

const DAY_MS = 24 * 60 * 60 * 1000;

const DEFINITION_TYPES = new Set(['', 'application/json', 'application/yaml', 'text/yaml', 'application/x-yaml', 'text/x-yaml', 'text/plain']);

export const newHash = (): string => randomBytes(20).toString('hex');

/**
 * The conditions of a conditional PUT: `If-Match` (strong comparison, so a weak tag never matches;
 * `*`: the workflow exists) and `If-None-Match` (`*`: create only; tags: not while it is one of these).
 */
function headConditions(ctx: Ctx): HeadCondition[] {
  const out: HeadCondition[] = [];
  const match = entityTags(ctx, 'if-match');
  if (match === '*') out.push({ kind: 'present' });
  else if (match) out.push({ kind: 'one-of', etags: match.filter((t) => !t.weak).map((t) => t.tag) });
  const noneMatch = entityTags(ctx, 'if-none-match');
  if (noneMatch === '*') out.push({ kind: 'absent' });
  else if (noneMatch) out.push({ kind: 'none-of', etags: noneMatch.map((t) => t.tag) });
  return out;
}

export function workflowRoutes(d: RouteDeps): RouteDef[] {
  const put = async (ctx: Ctx): Promise<void> => {
    const id = ctx.params.id!;
    const media = mediaType(ctx.req);
    if (!DEFINITION_TYPES.has(media.type) && !media.type.endsWith('+json') && !media.type.endsWith('+yaml')) {
      throw new FlowgateError('unsupported_media_type', 'send the definition as application/json or application/yaml');
    }
    const source = decodeText(await rawBody(ctx), media.charset);
    const parsed = parseDocument(source, media.type);
    if (!parsed.ok) throw new FlowgateError('invalid_definition', 'the document could not be parsed', { errors: parsed.problems });
    const doc = parsed.doc;
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
      const obj = doc as Record<string, unknown>;
      if (obj.id === undefined) obj.id = id;
      else if (obj.id !== id) {
        throw new FlowgateError('invalid_definition', 'the definition id differs from the URL', { errors: [{ path: 'id', message: `must be ${JSON.stringify(id)} (the id in the URL)` }] });
      }
    }
    const checked = validateDefinition(doc, { supportedStepTypes: d.supportedStepTypes });
    if (!checked.ok) {
      throw new FlowgateError('invalid_definition', `the definition has ${checked.problems.length} problem(s)`, {
        errors: checked.problems, extra: { warnings: checked.warnings },
      });
    }
    const tenant = ctx.principal.tenant;
    await d.store.ensureTenant(tenant);
    const saved = await d.store.saveWorkflow(tenant, checked.definition, source, { hash: newHash(), guid: uuidv4() }, d.clock(), headConditions(ctx));
    if ('unmet' in saved) {
      throw new FlowgateError('precondition_failed', saved.etag === null
        ? `workflow ${id} does not exist (If-Match names a version of it)`
        : `workflow ${id} changed since that version was read: read it again (its ETag is now ${saved.etag})`,
      { headers: saved.etag === null ? {} : { ETag: saved.etag } });
    }
    d.engine.workflows.invalidate(tenant, id);
    sendJson(ctx.res, saved.created ? 201 : 200, workflowView(saved.workflow, ctx.base, { created: saved.created, warnings: checked.warnings }), {
      Location: `${ctx.base}/v1/workflows/${id}`, ETag: workflowEtag(saved.workflow),
    });
  };

  const list = async (ctx: Ctx): Promise<void> => {
    const tenant = ctx.principal.tenant;
    const [items, activity] = await Promise.all([d.store.listWorkflows(tenant), d.store.workflowActivity(tenant, d.clock() - DAY_MS)]);
    const byId = new Map(activity.map((a) => [a.workflow, a]));
    sendJson(ctx.res, 200, { items: items.map((wf) => workflowView(wf, ctx.base, activityView(byId.get(wf.id)))), next_cursor: null });
  };

  /** The stored versions of a workflow, newest first (the current one first on the first page). */
  const versions = async (ctx: Ctx): Promise<void> => {
    const raw = cursorQuery(ctx, /^[1-9]\d{0,14}$/);
    const before = raw === undefined ? undefined : Number(raw);
    const page = await d.store.listWorkflowVersions(ctx.principal.tenant, ctx.params.id!, { limit: clampedInt(ctx, 'limit', 50, 1, 1000), before });
    if (!page) throw notFound(`workflow ${ctx.params.id}`);
    // Versions only grow and the head is always the newest: the current one is the first of the first page.
    sendJson(ctx.res, 200, {
      items: page.versions.map((v, i) => versionView(ctx.params.id!, v, before === undefined && i === 0, ctx.base)),
      next_cursor: page.next_cursor === null ? null : String(page.next_cursor),
    });
  };

  const get = async (ctx: Ctx): Promise<void> => {
    const raw = ctx.query.get('version');
    let version: number | undefined;
    if (raw !== null) {
      version = Number(raw);
      if (!Number.isInteger(version) || version < 1) throw new FlowgateError('validation_failed', 'version must be a positive integer', { errors: [{ path: 'version', message: 'must be a positive integer' }] });
    }
    const wf = await d.store.getWorkflow(ctx.principal.tenant, ctx.params.id!, version);
    if (!wf) throw notFound(`workflow ${ctx.params.id}`);
    const etag = workflowEtag(wf);
    // If-None-Match compares weakly (RFC 9110 §13.1.2): the tag, W/ or not.
    const known = entityTags(ctx, 'if-none-match');
    if (known === '*' || known?.some((t) => t.tag === etag)) {
      ctx.res.writeHead(304, { ETag: etag, 'Cache-Control': 'no-cache' }).end();
      return;
    }
    sendJson(ctx.res, 200, workflowView(wf, ctx.base, { source: shownSource(wf) }), { ETag: etag, 'Cache-Control': 'no-cache' });
  };

  const archive = async (ctx: Ctx): Promise<void> => {
    if (!(await d.store.archiveWorkflow(ctx.principal.tenant, ctx.params.id!, d.clock()))) throw notFound(`workflow ${ctx.params.id}`);
    d.engine.workflows.invalidate(ctx.principal.tenant, ctx.params.id!);
    ctx.res.writeHead(204).end();
  };

  const rotateHash = async (ctx: Ctx): Promise<void> => {
    const tenant = ctx.principal.tenant;
    if (!(await d.store.setWorkflowHash(tenant, ctx.params.id!, newHash(), d.clock()))) throw notFound(`workflow ${ctx.params.id}`);
    d.engine.workflows.invalidate(tenant, ctx.params.id!);
    const wf = await d.store.getWorkflow(tenant, ctx.params.id!);
    sendJson(ctx.res, 200, workflowView(wf!, ctx.base), { ETag: workflowEtag(wf!) });
  };

  /**
   * The identifiers a client already uses (docs/compatibility.md "Moving over"): the Corezoid conv_id
   * and direct-URL hash and the CSI GUID. Each is unique across tenants: a clash is 409, naming the
   * holder only when it is in the caller's tenant.
   */
  const setIdentifiers = async (ctx: Ctx): Promise<void> => {
    const body = await jsonObjectBody(ctx);
    const problems: FieldProblem[] = [];
    const ids: WorkflowIdentifiers = {};
    for (const key of Object.keys(body)) {
      if (key !== 'conv_id' && key !== 'hash' && key !== 'guid') problems.push({ path: key, message: 'is not an identifier (conv_id, hash, guid)' });
    }
    const { conv_id: conv, hash, guid } = body;
    if (conv !== undefined) {
      if (typeof conv === 'number' && Number.isSafeInteger(conv) && conv > 0) ids.conv_id = conv;
      else problems.push({ path: 'conv_id', message: 'must be a positive integer' });
    }
    if (hash !== undefined) {
      if (typeof hash === 'string' && /^[0-9a-fA-F]{40}$/.test(hash)) ids.hash = hash.toLowerCase();
      else problems.push({ path: 'hash', message: 'must be 40 hexadecimal characters' });
    }
    if (guid !== undefined) {
      if (typeof guid === 'string' && UUID_RE.test(guid) && !/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(guid)) ids.guid = guid.toLowerCase();
      else problems.push({ path: 'guid', message: 'must be a GUID (8-4-4-4-12 hexadecimal digits, not all zero)' });
    }
    if (!problems.length && Object.keys(ids).length === 0) problems.push({ path: '', message: 'name at least one of conv_id, hash, guid' });
    if (problems.length) throw validationFailed(problems, 'Invalid identifiers');
    const tenant = ctx.principal.tenant;
    const result = await d.store.setWorkflowIdentifiers(tenant, ctx.params.id!, ids, d.clock());
    if (result.kind === 'not_found') throw notFound(`workflow ${ctx.params.id}`);
    if (result.kind === 'taken') {
      const mine = result.holder.tenant === tenant;
      throw new FlowgateError('conflict', mine
        ? `${result.field} ${String(ids[result.field])} is already used by workflow ${result.holder.id}`
        : `${result.field} ${String(ids[result.field])} is already used by another workflow`);
    }
    d.engine.workflows.invalidate(tenant, ctx.params.id!);
    sendJson(ctx.res, 200, workflowView(result.workflow, ctx.base), { ETag: workflowEtag(result.workflow) });
  };

  const trigger = async (ctx: Ctx): Promise<void> => {
    const wf = d.intake.cachedWorkflow(ctx.principal.tenant, ctx.params.id!) ?? await d.intake.workflow(ctx.principal.tenant, ctx.params.id!);
    const ref = checkRef(header(ctx, 'idempotency-key') ?? ctx.query.get('ref'), header(ctx, 'idempotency-key') !== undefined ? 'Idempotency-Key' : 'ref');
    const waitQuery = ctx.query.get('wait');
    const wait = Intake.waitSeconds(waitQuery, header(ctx, 'prefer'));
    const resultUrl = checkResultUrl(ctx.query.get('callback_url'));
    const bytes = await rawBody(ctx);
    // trigger.verify: the raw bytes are checked before anything is parsed or created.
    const signed = requireSignature(d, ctx, wf, bytes);
    if (signed) await signed;
    const params = paramsOf(ctx, bytes);
    const { run, created } = await d.intake.startNative(wf, params, { ref, resultUrl, trace: traceOf(ctx.req.headers) });
    if (wait === null) return sendAccepted(ctx, run, d.retryAfterSeconds);
    // RFC 7240: say that `Prefer: wait` was honoured, with the wait given (it may be capped).
    if (waitQuery === null) ctx.res.setHeader('Preference-Applied', `wait=${d.intake.cappedWait(wait)}`);
    const settled = run.reply !== null || isTerminal(run.status) ? run : await d.intake.wait(run, wait, created);
    sendRunAnswer(ctx, settled, d.retryAfterSeconds);
  };

  const batch = async (ctx: Ctx): Promise<void> => {
    const wf = await d.intake.workflow(ctx.principal.tenant, ctx.params.id!);
    const bytes = await rawBody(ctx);
    await requireSignature(d, ctx, wf, bytes);
    const body = jsonObjectOf(ctx, bytes);
    if (!Array.isArray(body.items)) {
      throw new FlowgateError('validation_failed', 'the body must be { "items": [ { "ref"?, "data" }, … ] }', { errors: [{ path: 'items', message: 'must be an array' }] });
    }
    const results = await d.intake.startBatch(wf, body.items as { ref?: unknown; data?: unknown }[], traceOf(ctx.req.headers));
    sendJson(ctx.res, 200, {
      items: results.map((r) => ('error' in r ? { ref: r.ref, error: problemBody(r.error) } : r)),
    });
  };

  return [
    { method: 'PUT', path: '/v1/workflows/:id', auth: 'admin', name: 'workflows.put', handler: put },
    { method: 'GET', path: '/v1/workflows', auth: 'read', name: 'workflows.list', handler: list },
    { method: 'GET', path: '/v1/workflows/:id', auth: 'read', name: 'workflows.get', handler: get },
    { method: 'GET', path: '/v1/workflows/:id/versions', auth: 'read', name: 'workflows.versions', handler: versions },
    { method: 'DELETE', path: '/v1/workflows/:id', auth: 'admin', name: 'workflows.archive', handler: archive },
    { method: 'POST', path: '/v1/workflows/:id/hash/rotate', auth: 'admin', name: 'workflows.rotate', handler: rotateHash },
    { method: 'PUT', path: '/v1/workflows/:id/identifiers', auth: 'admin', name: 'workflows.identifiers', handler: setIdentifiers },
    { method: 'POST', path: '/v1/workflows/:id/runs', auth: 'trigger', name: 'runs.trigger', handler: trigger, startsRuns: true },
    { method: 'POST', path: '/v1/workflows/:id/runs/batch', auth: 'trigger', name: 'runs.batch', handler: batch, startsRuns: true },
  ];
}
