/**
 * `GET /v1/cluster` (the admin token): the nodes serving from this store that were heard from
 * within NODE_ALIVE_MS, with their last heartbeat and what each holds (docs/api.md).
 */
import { FlowgateError } from '../../core/errors.js';
import { NODE_ALIVE_MS } from '../../engine/presence.js';
import type { NodeRecord } from '../../store/types.js';
import type { Ctx, RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { sendJson } from '../problem.js';

const iso = (t: number): string => new Date(t).toISOString();

const nodeView = (n: NodeRecord, self: string): Record<string, unknown> => ({
  id: n.id, self: n.id === self, started_at: iso(n.started_at), heartbeat_at: iso(n.heartbeat_at), runs_held: n.runs_held, info: n.info,
});

export function clusterRoutes(d: RouteDeps): RouteDef[] {
  const list = async (ctx: Ctx): Promise<void> => {
    if (ctx.principal.kind !== 'admin') throw new FlowgateError('forbidden', 'only the admin token lists the nodes of the cluster');
    const now = d.clock();
    const nodes = await d.store.listNodes(now - NODE_ALIVE_MS, now);
    sendJson(ctx.res, 200, {
      node: d.node.id, clustered: d.store.capabilities.concurrentClaimers, alive_within_ms: NODE_ALIVE_MS,
      items: nodes.map((n) => nodeView(n, d.node.id)),
    });
  };
  return [{ method: 'GET', path: '/v1/cluster', auth: 'admin', name: 'cluster', handler: list }];
}
