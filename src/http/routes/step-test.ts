/**
 * `POST /v1/workflows/{id}/steps/{step}/test` (docs/spec.md §4, the "Test" button): runs one http step of the
 * workflow's current version on `{ data }` without a run. The request really goes out, through the
 * same SSRF guard, timeouts and body cap as a run's; the answer is the full exchange, secrets redacted.
 */
import { FlowgateError } from '../../core/errors.js';
import type { JsonObject } from '../../core/types.js';
import type { Ctx, RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { sendJson } from '../problem.js';
import { jsonObjectBody } from '../request.js';

export function stepTestRoutes(d: RouteDeps): RouteDef[] {
  const test = async (ctx: Ctx): Promise<void> => {
    const body = await jsonObjectBody(ctx);
    const data = body.data ?? {};
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new FlowgateError('validation_failed', 'data must be an object', { errors: [{ path: 'data', message: 'must be an object' }] });
    }
    const result = await d.engine.testStep(ctx.principal.tenant, ctx.params.id!, ctx.params.step!, data as JsonObject);
    sendJson(ctx.res, 200, result);
  };
  // Admin: a test sends a real request from the server, like saving a definition that does.
  return [{ method: 'POST', path: '/v1/workflows/:id/steps/:step/test', auth: 'admin', name: 'workflows.steps.test', handler: test }];
}
