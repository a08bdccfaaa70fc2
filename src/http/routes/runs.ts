/** Runs: list, read, result (202-and-poll), step records, live events, cancel, retry, callbacks. */
import { FlowgateError, notFound } from '../../core/errors.js';
import type { JsonObject, Run, RunStatus } from '../../core/types.js';
import { sendAccepted, sendRunAnswer } from '../answers.js';
import type { Ctx, RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { sendJson } from '../problem.js';
import { followRun } from '../run-events.js';
import { openSse } from '../sse.js';
import { clampedInt, cursorQuery, paramsBody, timeQuery } from '../request.js';
import { runView, stepRecordView } from '../views.js';

/** A run id (a lowercase UUIDv7): the runs list's `next_cursor`. */
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const STATUSES = new Set<RunStatus>(['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled']);

export function runRoutes(d: RouteDeps): RouteDef[] {
  const load = async (ctx: Ctx): Promise<Run> => {
    const run = await d.store.getRun(ctx.principal.tenant, ctx.params.id!);
    if (!run) throw notFound(`run ${ctx.params.id}`);
    return run;
  };

  const list = async (ctx: Ctx): Promise<void> => {
    const status = ctx.query.get('status');
    if (status !== null && status !== '' && !STATUSES.has(status as RunStatus)) {
      throw new FlowgateError('validation_failed', 'unknown status', { errors: [{ path: 'status', message: `must be one of ${[...STATUSES].join(', ')}` }] });
    }
    const page = await d.store.listRuns(ctx.principal.tenant, {
      workflow: ctx.query.get('workflow') || undefined,
      status: (status || undefined) as RunStatus | undefined,
      ref: ctx.query.get('ref') || undefined,
      parent: ctx.query.get('parent') || undefined,
      since: timeQuery(ctx, 'since'),
      until: timeQuery(ctx, 'until'),
      cursor: cursorQuery(ctx, RUN_ID),
      limit: clampedInt(ctx, 'limit', 50, 1, 1000),
    });
    sendJson(ctx.res, 200, { items: page.runs.map((r) => runView(r, ctx.base)), next_cursor: page.next_cursor });
  };

  const get = async (ctx: Ctx): Promise<void> => sendJson(ctx.res, 200, runView(await load(ctx), ctx.base));

  const result = async (ctx: Ctx): Promise<void> => sendRunAnswer(ctx, await load(ctx), d.retryAfterSeconds);

  const steps = async (ctx: Ctx): Promise<void> => {
    const run = await load(ctx);
    const records = await d.store.listSteps(run.id);
    sendJson(ctx.res, 200, { items: records.map(stepRecordView) });
  };

  const events = async (ctx: Ctx): Promise<void> => {
    const run = await load(ctx);
    const follow = followRun(d.engine.bus, run.id);
    const stream = openSse(ctx.req, ctx.res, d.sse);
    stream.onClose(() => follow.stop());
    await follow.stream(stream, () => d.store.getRun(ctx.principal.tenant, run.id), run, (r) => runView(r, ctx.base));
  };

  const cancel = async (ctx: Ctx): Promise<void> => {
    const run = await d.engine.cancel(ctx.principal.tenant, ctx.params.id!);
    sendJson(ctx.res, 200, runView(run, ctx.base));
  };

  const retry = async (ctx: Ctx): Promise<void> => {
    const run = await d.engine.retry(ctx.principal.tenant, ctx.params.id!, ctx.query.get('from') === 'start');
    sendAccepted(ctx, run, d.retryAfterSeconds, {}, runView(run, ctx.base));
  };

  const callback = async (ctx: Ctx): Promise<void> => {
    const token = ctx.params.token!;
    if (token.length < 16 || token.length > 128) throw notFound('callback');
    const body = (await paramsBody(ctx)) as JsonObject;
    const outcome = await d.engine.callback(token, body);
    sendJson(ctx.res, 202, { run_id: outcome.run.id, accepted: outcome.kind });
  };

  return [
    { method: 'GET', path: '/v1/runs', auth: 'read', name: 'runs.list', handler: list },
    { method: 'GET', path: '/v1/runs/:id', auth: 'read', name: 'runs.get', handler: get },
    { method: 'GET', path: '/v1/runs/:id/result', auth: 'read', name: 'runs.result', handler: result },
    { method: 'GET', path: '/v1/runs/:id/steps', auth: 'read', name: 'runs.steps', handler: steps },
    { method: 'GET', path: '/v1/runs/:id/events', auth: 'read', name: 'runs.events', handler: events },
    { method: 'POST', path: '/v1/runs/:id/cancel', auth: 'trigger', name: 'runs.cancel', handler: cancel },
    { method: 'POST', path: '/v1/runs/:id/retry', auth: 'trigger', name: 'runs.retry', handler: retry },
    { method: 'POST', path: '/v1/callbacks/:token', auth: 'public', name: 'callbacks', handler: callback },
  ];
}
