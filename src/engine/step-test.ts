/**
 * The "Test" button (docs/spec.md §4 `POST /v1/workflows/{id}/steps/{step}/test`): one http step executed on
 * given data without a run. The request really goes out, through the same HttpPort (and so the same
 * SSRF guard, timeouts and body cap) as a run's; one attempt, no retries, follow_async not followed.
 * Nothing is stored. The exchange comes back with secret values redacted.
 */
import type { CompiledStep, CompiledWorkflow } from '../core/compiled.js';
import { compileWorkflow, validateDefinition } from '../core/definition.js';
import { FlowgateError, notFound } from '../core/errors.js';
import { uuidv7 } from '../core/ids.js';
import { isPlainObject } from '../core/path.js';
import type { Json, JsonObject, Run, Workflow } from '../core/types.js';
import { STEP_KINDS, SUPPORTED_STEP_TYPES } from '../steps/index.js';
import { StepError, type HttpPort, type Outcome, type StepContext } from '../steps/types.js';
import type { SecretsPort } from './executor.js';
import { buildScope, redact } from './scope.js';
import type { WorkflowCache } from './workflows.js';

export interface StepTestDeps {
  workflows: WorkflowCache;
  http: HttpPort;
  secrets: SecretsPort;
  clock: () => number;
  callbackUrl: (token: string) => string;
}

export interface StepTestResult {
  request: Json;
  response: Json;
  duration_ms: number | null;
  error?: { code: string; message: string };
  /** What a run would do next: `continue`, `fail`, `retry` (at), or `follow` (poll the Location). */
  outcome: JsonObject;
}

/** A step ready to test: the workflow (saved, or made for an unsaved step) and its compiled step. */
interface TestableStep {
  workflow: Workflow;
  compiled: CompiledWorkflow;
  step: CompiledStep;
  usesSecrets: boolean;
}

/** The saved-step test: step `stepId` of the workflow's current version. */
export async function testHttpStep(d: StepTestDeps, tenant: string, workflowId: string, stepId: string, data: JsonObject): Promise<StepTestResult> {
  const wf = await currentWorkflow(d, tenant, workflowId);
  const loaded = await d.workflows.version(tenant, wf.id, wf.version, wf);
  if (!loaded) throw notFound(`workflow ${workflowId}`);
  const step = loaded.compiled.steps.get(stepId);
  if (!step) throw notFound(`step ${stepId} of workflow ${workflowId}`);
  return executeTest(d, tenant, { workflow: wf, compiled: loaded.compiled, step, usesSecrets: loaded.usesSecrets }, data);
}

/**
 * The unsaved-step test (`POST /v1/steps/test`): a step definition as the workflow format has it,
 * checked as the definition validator checks a step (422 with each problem at its path under `step`),
 * then executed as the saved-step test executes one. With `workflowId` the step runs in that
 * workflow's context (its name, id and version in `$plan` and the run); without, in a workflow of
 * its own. References to other steps (`next`, `on_error`) are not checked: a test does not go on.
 */
export async function testUnsavedHttpStep(
  d: StepTestDeps, tenant: string, stepDef: unknown, workflowId: string | null, data: JsonObject,
): Promise<StepTestResult> {
  const wf = workflowId === null ? null : await currentWorkflow(d, tenant, workflowId);
  const def = isPlainObject(stepDef) ? withoutReferences(stepDef) : stepDef;
  const checked = validateDefinition({ id: wf?.id ?? UNSAVED_WORKFLOW_ID, name: wf?.name, steps: [def] }, { supportedStepTypes: SUPPORTED_STEP_TYPES });
  if (!checked.ok) {
    const problems = checked.problems.map((p) => ({ ...p, path: p.path.replace(/^steps\[0\]/, 'step') }));
    throw new FlowgateError('invalid_definition', `the step has ${problems.length} problem(s)`, { errors: problems });
  }
  const now = d.clock();
  const definition = { ...checked.definition, params: wf?.definition.params ?? {} };
  const workflow: Workflow = wf
    ? { ...wf, definition }
    : { tenant, id: UNSAVED_WORKFLOW_ID, name: UNSAVED_WORKFLOW_ID, version: 0, definition, source: '', conv_id: 0, hash: '', guid: '', archived: false, created_at: now, updated_at: now };
  const compiled = compileWorkflow(workflow);
  const step = compiled.steps.get(checked.definition.steps[0].id)!;
  return executeTest(d, tenant, { workflow, compiled, step, usesSecrets: JSON.stringify(checked.definition.steps[0]).includes('$secrets') }, data);
}

/** The workflow an unsaved step is tested in when none is named. */
const UNSAVED_WORKFLOW_ID = 'step-test';

async function currentWorkflow(d: StepTestDeps, tenant: string, workflowId: string): Promise<Workflow> {
  const wf = await d.workflows.current(tenant, workflowId);
  if (!wf || wf.archived) throw notFound(`workflow ${workflowId}`);
  return wf;
}

/** The step without the step ids it names (when they are ids at all: a field of the wrong type stays, to be reported). */
function withoutReferences(step: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...step };
  for (const f of ['next', 'on_error']) if (typeof copy[f] === 'string' && copy[f] !== '') delete copy[f];
  return copy;
}

async function executeTest(d: StepTestDeps, tenant: string, t: TestableStep, data: JsonObject): Promise<StepTestResult> {
  const { workflow: wf, step } = t;
  const stepId = step.def.id;
  if (step.def.type !== 'http') {
    throw new FlowgateError('validation_failed', `step ${stepId} is a ${step.def.type} step; only http steps can be tested`, {
      errors: [{ path: 'step', message: `is a ${step.def.type} step; only http steps can be tested` }],
    });
  }
  const secrets = t.usesSecrets ? await d.secrets.values(tenant) : {};
  const now = d.clock();
  const run: Run = {
    id: uuidv7(now), tenant, workflow: wf.id, version: wf.version, ref: null, status: 'running', input: data, data,
    progress: 0, step: stepId, step_seq: 1, reply: null, error: null, parking: null, wake_at: null,
    callback_token: 'step-test', result_url: null, parent: null, attempt: 1, owner: null, lease_until: null, rev: 1,
    created_at: now, started_at: now, finished_at: null, updated_at: now,
  };
  const ctx: StepContext = {
    run, workflow: t.compiled, step, seq: 1, attempt: 1, now: d.clock, http: d.http, record: null,
    children: { start: async () => { throw new StepError('not_in_test', 'a step test starts no child runs'); } },
    // A POST to $run.callback_url is answered here: a test has no run to resume or reply for.
    selfCallback: async () => ({ status: 202, body: { accepted: 'test', note: 'a step test delivers no callback' } }),
    scope: buildScope({
      run, workflowName: wf.name, callbackUrl: d.callbackUrl, steps: {}, secrets,
      stepCount: t.compiled.steps.size, now,
    }),
  };
  let outcome: Outcome;
  try {
    outcome = await STEP_KINDS.get('http')!.execute(ctx);
  } catch (e) {
    const err = e as Error & { code?: string };
    outcome = { kind: 'fail', error: { code: typeof err.code === 'string' ? err.code : 'step_error', message: err.message } };
  }
  const result = describe(outcome);
  return redact(result as unknown as JsonObject, Object.values(secrets)) as unknown as StepTestResult;
}

function describe(o: Outcome): StepTestResult {
  const attempt = 'attempt' in o ? o.attempt : undefined;
  const request = attempt?.request ?? ('input' in o ? o.input ?? null : null);
  // A retry outcome carries no output: its attempt's recorded response stands in.
  const output = ('output' in o ? o.output ?? null : null) ?? (attempt?.response as Json | undefined) ?? null;
  const response = output && typeof output === 'object' && !Array.isArray(output)
    ? { status: output.status ?? null, headers: output.headers ?? {}, body: output.body ?? null, ...(output.truncated ? { truncated: true } : {}) }
    : null;
  const out: StepTestResult = { request, response, duration_ms: attempt?.duration_ms ?? null, outcome: { kind: o.kind } };
  switch (o.kind) {
    case 'fail':
      out.error = { code: o.error.code, message: o.error.message };
      break;
    case 'retry':
      out.error = { code: o.error.code, message: o.error.message };
      out.outcome = { kind: 'retry', at: new Date(o.at).toISOString() };
      break;
    case 'sleep': {
      // follow_async: a 202 whose Location a run would poll.
      const follow = output && typeof output === 'object' && !Array.isArray(output) ? (output.follow as JsonObject | undefined) : undefined;
      out.outcome = { kind: 'follow', location: follow?.location ?? null, next_poll_at: new Date(o.until).toISOString() };
      break;
    }
    case 'continue':
      out.outcome = { kind: 'continue', data: o.data ?? null };
      break;
    default:
      break;
  }
  if (attempt?.error && !out.error) out.error = { code: attempt.error.class, message: attempt.error.message };
  return out;
}
