/** How domain objects look on the wire: ISO times, links, no internal fields (leases, tokens). */
import { traceIdOf } from '../core/trace.js';
import { secretRefName } from '../core/definition.js';
import type { Definition, Run, StepRecord, Workflow } from '../core/types.js';
import type { WorkflowActivity, WorkflowVersionInfo } from '../store/types.js';

const iso = (t: number | null | undefined): string | null => (t === null || t === undefined ? null : new Date(t).toISOString());

export function triggersView(wf: Workflow, base: string): Record<string, unknown> {
  return {
    conv_id: wf.conv_id,
    hash: wf.hash,
    guid: wf.guid,
    public: wf.definition.trigger.public,
    /** Luma's `workflowIdentifier` for this workflow (docs/spec.md §5.2). */
    luma_workflow_identifier: wf.id,
    urls: {
      native: `${base}/v1/workflows/${wf.id}/runs`,
      batch: `${base}/v1/workflows/${wf.id}/runs/batch`,
      import: `${base}/v1/workflows/${wf.id}/runs/import`,
      // The Corezoid signed ops and Sync APIs (a client appends /{login}/{gmt_unixtime}/{signature}
      // and names this workflow by conv_id), and the Luma trigger: keyed by API login or tenant token.
      corezoid_api: `${base}/api/2/json`,
      corezoid_sync_api: `${base}/sync/api/2/json`,
      luma_trigger: `${base}/gateway/api/v1/workflow/trigger`,
      // Corezoid direct URLs (docs/spec.md §5.1): the hash is the credential, so only while the workflow is public.
      ...(wf.definition.trigger.public ? {
        direct_json: `${base}/api/1/json/public/${wf.conv_id}/${wf.hash}`,
        direct_xml: `${base}/api/1/xml/public/${wf.conv_id}/${wf.hash}`,
        direct_nvp: `${base}/api/1/nvp/public/${wf.conv_id}/${wf.hash}`,
        // CSI iUpdate/iDMS (docs/spec.md §5.3): the GUID is the credential.
        csi_execute: `${base}/task/execute/${wf.guid}`,
        csi_executepolling: `${base}/task/executepolling/${wf.guid}`,
      } : {}),
    },
  };
}

const REDACTED = '[redacted]';

/**
 * A `trigger.verify.secret` held in clear: definitions saved before the secret had to name a tenant
 * secret. Such a value is never shown (nor is it accepted in a new save).
 */
function clearVerifySecret(def: Definition): string | null {
  const secret = def.trigger.verify?.secret;
  return secret !== undefined && secretRefName(secret) === null ? secret : null;
}

function shownDefinition(def: Definition): Definition {
  if (clearVerifySecret(def) === null) return def;
  return { ...def, trigger: { ...def.trigger, verify: { ...def.trigger.verify!, secret: REDACTED } } };
}

/** The workflow's source text as shown: a secret held in clear is replaced. */
export function shownSource(wf: Workflow): string {
  const secret = clearVerifySecret(wf.definition);
  return secret === null ? wf.source : wf.source.split(secret).join(REDACTED);
}

export function workflowView(wf: Workflow, base: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: wf.id, name: wf.name, version: wf.version, archived: wf.archived,
    definition: shownDefinition(wf.definition), triggers: triggersView(wf, base),
    created_at: iso(wf.created_at), updated_at: iso(wf.updated_at), ...extra,
  };
}

/** What a workflow list item adds: its newest run and how many runs were created in the last 24 hours. */
export function activityView(a: WorkflowActivity | undefined): Record<string, unknown> {
  const last = a?.last_run ?? null;
  return {
    last_run: last === null ? null : { id: last.id, status: last.status, created_at: iso(last.created_at) },
    runs_24h: a?.runs_since ?? 0,
  };
}

export function versionView(wf: string, v: WorkflowVersionInfo, current: boolean, base: string): Record<string, unknown> {
  return {
    version: v.version, name: v.name, created_at: iso(v.created_at), current,
    links: { self: `${base}/v1/workflows/${wf}?version=${v.version}` },
  };
}

export function runLinks(run: Run, base: string): Record<string, string> {
  const self = `${base}/v1/runs/${run.id}`;
  return { self, result: `${self}/result`, steps: `${self}/steps`, events: `${self}/events` };
}

export function runView(run: Run, base: string): Record<string, unknown> {
  return {
    id: run.id, workflow: run.workflow, version: run.version, ref: run.ref, status: run.status,
    progress: run.status === 'succeeded' ? 100 : run.progress,
    step: run.step, input: run.input, data: run.data,
    reply: run.reply ? { ...run.reply, at: iso(run.reply.at) } : null,
    error: run.error, attempt: run.attempt,
    wake_at: iso(run.wake_at), parent_run_id: run.parent?.run_id ?? null, trace_id: traceIdOf(run) ?? null,
    callback_url: `${base}/v1/callbacks/${run.callback_token}`,
    /** Where the result is POSTed when the run ends (the trigger's `?callback_url=`), or null. */
    result_url: run.result_url,
    created_at: iso(run.created_at), started_at: iso(run.started_at), finished_at: iso(run.finished_at), updated_at: iso(run.updated_at),
    links: runLinks(run, base),
  };
}

/** The short answer of an accepted trigger (202 body). */
export function acceptedView(run: Run, base: string): Record<string, unknown> {
  return { id: run.id, status: run.status, ref: run.ref, links: runLinks(run, base) };
}

export function stepRecordView(r: StepRecord): Record<string, unknown> {
  return {
    seq: r.seq, step_id: r.step_id, type: r.type, name: r.name, status: r.status,
    attempts: r.attempts.map((a) => ({ ...a, started_at: iso(a.started_at), finished_at: iso(a.finished_at) })),
    input: r.input, output: r.output, error: r.error,
    started_at: iso(r.started_at), finished_at: iso(r.finished_at),
    duration_ms: r.finished_at === null ? null : r.finished_at - r.started_at,
  };
}
