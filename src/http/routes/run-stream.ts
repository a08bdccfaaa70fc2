/**
 * `GET /v1/runs/stream[?workflow=&status=]`: the live changes of the caller's tenant's runs as
 * Server-Sent Events, for a runs list that stays current. Each committed creation or change of a run
 * is one `event: run` whose data is the run as `GET /v1/runs` lists it. The stream is subscribed once
 * its headers are sent: open it, then read `GET /v1/runs`, and nothing falls between the two.
 *
 * Filters: `workflow` (exact) and `status`: a change is sent when the run has that status after it,
 * or had it before it, so a filtered list can drop a run that leaves; a run the stream has not seen
 * yet that was created before the stream opened may have been listed, so its first change is sent
 * whatever its status (a client keeps the runs with the status it filters on).
 * A reader that falls behind gets only the newest state of each run (coalesced per run id) and is
 * dropped past FLOWGATE_SSE_MAX_BUFFER_BYTES; at most FLOWGATE_RUN_STREAMS_PER_TENANT streams per
 * tenant are open at once (429 past it). Streams end when the server shuts down.
 */
import { FlowgateError } from '../../core/errors.js';
import type { Run, RunStatus } from '../../core/types.js';
import { RunRevisions } from '../../engine/run-feed.js';
import type { Ctx, RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { openSse } from '../sse.js';
import { runView } from '../views.js';

const STATUSES = new Set<RunStatus>(['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled']);

export function runStreamRoutes(d: RouteDeps): RouteDef[] {
  /** Open streams per tenant (counted from the request's start, before anything is sent). */
  const open = new Map<string, number>();

  const stream = async (ctx: Ctx): Promise<void> => {
    const tenant = ctx.principal.tenant;
    const status = ctx.query.get('status') || undefined;
    if (status !== undefined && !STATUSES.has(status as RunStatus)) {
      throw new FlowgateError('validation_failed', 'unknown status', { errors: [{ path: 'status', message: `must be one of ${[...STATUSES].join(', ')}` }] });
    }
    const workflow = ctx.query.get('workflow') || undefined;
    const count = open.get(tenant) ?? 0;
    if (count >= d.runStreamsPerTenant) {
      throw new FlowgateError('rate_limited', `the tenant already has ${count} run streams open (at most ${d.runStreamsPerTenant}); close one first`, {
        headers: { 'Retry-After': '5' },
      });
    }
    open.set(tenant, count + 1);
    const openedAt = d.clock();
    const sse = openSse(ctx.req, ctx.res, d.sse);
    const shown = new RunRevisions();
    const off = d.engine.feed.follow(tenant, {
      run: (run: Run) => {
        if (workflow !== undefined && run.workflow !== workflow) return;
        const { newer, previous } = shown.showNewer(run);
        if (!newer) return;
        if (status !== undefined && run.status !== status && previous !== status && !(previous === undefined && run.created_at < openedAt)) return;
        sse.send('run', runView(run, ctx.base), run.id);
      },
      resync: () => sse.send('resync', { reason: 'changes may have been missed: read the list again' }),
    });
    sse.onClose(() => {
      off();
      const left = (open.get(tenant) ?? 1) - 1;
      if (left > 0) open.set(tenant, left);
      else open.delete(tenant);
    });
  };

  return [{ method: 'GET', path: '/v1/runs/stream', auth: 'read', name: 'runs.stream', handler: stream }];
}
