/**
 * Result delivery (docs/spec.md §4 `?callback_url=`, §8.13): the tenant's Standard Webhooks secret that
 * signs deliveries (read and rotated by an admin), and each run's deliveries with every attempt.
 */
import { notFound } from '../../core/errors.js';
import type { DeliveryWithAttempts } from '../../store/types.js';
import type { WebhookSecretView } from '../../engine/webhook-secrets.js';
import type { Ctx, RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { sendJson } from '../problem.js';

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

const secretView = (s: WebhookSecretView): Record<string, unknown> => ({
  secret: s.secret, created_at: iso(s.created_at), rotated_at: iso(s.rotated_at), previous_valid_until: iso(s.previous_valid_until),
});

export function deliveryView(d: DeliveryWithAttempts): Record<string, unknown> {
  let body: unknown = d.body;
  try {
    body = JSON.parse(d.body);
  } catch {
    // stored as sent; shown as text
  }
  return {
    id: d.id, run_id: d.run_id, run_attempt: d.run_attempt, url: d.url, status: d.status,
    attempts: d.attempt_log.map((a) => ({ ...a, started_at: iso(a.started_at) })),
    next_attempt_at: d.status === 'pending' ? iso(d.next_at) : null,
    body, created_at: iso(d.created_at), finished_at: iso(d.finished_at),
  };
}

export function webhookSecretRoutes(d: RouteDeps): RouteDef[] {
  const getSecret = async (ctx: Ctx): Promise<void> => {
    sendJson(ctx.res, 200, secretView(await d.webhookSecrets.current(ctx.principal.tenant)));
  };

  const rotateSecret = async (ctx: Ctx): Promise<void> => {
    sendJson(ctx.res, 200, secretView(await d.webhookSecrets.rotate(ctx.principal.tenant)));
  };

  const deliveries = async (ctx: Ctx): Promise<void> => {
    const run = await d.store.getRun(ctx.principal.tenant, ctx.params.id!);
    if (!run) throw notFound(`run ${ctx.params.id}`);
    const items = await d.store.listDeliveries(ctx.principal.tenant, run.id);
    sendJson(ctx.res, 200, { items: items.map(deliveryView), next_cursor: null });
  };

  return [
    { method: 'GET', path: '/v1/webhook-secret', auth: 'admin', name: 'webhook_secret.get', handler: getSecret },
    { method: 'POST', path: '/v1/webhook-secret', auth: 'admin', name: 'webhook_secret.rotate', handler: rotateSecret },
    { method: 'GET', path: '/v1/runs/:id/deliveries', auth: 'read', name: 'runs.deliveries', handler: deliveries },
  ];
}
