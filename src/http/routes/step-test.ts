/**
 * The "Test" button (docs/spec.md §4): one http step executed on `{ data }` without a run, either a saved
 * one (`POST /v1/workflows/{id}/steps/{step}/test`, the workflow's current version) or an unsaved
 * definition (`POST /v1/steps/test`, `{ step, data?, workflow? }`: the editor's step before it is
 * saved). The request really goes out, through the same SSRF guard, timeouts and body cap as a run's;
 * the answer is the full exchange, secrets redacted. Both answer the same way (src/engine/step-test.ts).
 */
import { FlowgateError, validationFailed, type FieldProblem } from '../../core/errors.js';
import type { JsonObject } from '../../core/types.js';
import type { Ctx, RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { sendJson } from '../problem.js';
import { jsonObjectBody } from '../request.js';

const UNSAVED_FIELDS = new Set(['step', 'data', 'workflow']);

function dataOf(body: Record<string, unknown>): JsonObject {
  const data = body.data ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new FlowgateError('validation_failed', 'data must be an object', { errors: [{ path: 'data', message: 'must be an object' }] });
  }
  return data as JsonObject;
}

export function stepTestRoutes(d: RouteDeps): RouteDef[] {
  const test = async (ctx: Ctx): Promise<void> => {
    const body = await jsonObjectBody(ctx);
    const result = await d.engine.testStep(ctx.principal.tenant, ctx.params.id!, ctx.params.step!, dataOf(body));
    sendJson(ctx.res, 200, result);
  };

  const testUnsaved = async (ctx: Ctx): Promise<void> => {
    const body = await jsonObjectBody(ctx);
    const problems: FieldProblem[] = [];
    for (const key of Object.keys(body)) if (!UNSAVED_FIELDS.has(key)) problems.push({ path: key, message: 'is not a field of a step test (step, data, workflow)' });
    if (body.step === undefined) problems.push({ path: 'step', message: 'is required: an http step as a workflow\'s steps hold it' });
    else if (typeof body.step !== 'object' || body.step === null || Array.isArray(body.step)) problems.push({ path: 'step', message: 'must be an object (a step definition)' });
    if (body.workflow !== undefined && (typeof body.workflow !== 'string' || body.workflow === '')) problems.push({ path: 'workflow', message: 'must be a workflow id' });
    if (problems.length) throw validationFailed(problems, 'Invalid step test');
    const data = dataOf(body);
    const result = await d.engine.testUnsavedStep(ctx.principal.tenant, body.step, (body.workflow as string | undefined) ?? null, data);
    sendJson(ctx.res, 200, result);
  };

  // Admin: a test sends a real request from the server, like saving a definition that does.
  return [
    { method: 'POST', path: '/v1/workflows/:id/steps/:step/test', auth: 'admin', name: 'workflows.steps.test', handler: test },
    { method: 'POST', path: '/v1/steps/test', auth: 'admin', name: 'steps.test', handler: testUnsaved },
  ];
}
