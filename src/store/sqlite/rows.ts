/**
 * Row <-> domain mapping for the SQLite store. Column lists live here beside the mapping so an
 * INSERT's placeholders and the parameter arrays built for it cannot drift apart.
 */
import type {
  ApiKey, Definition, Json, JsonObject, Run, RunError, RunStatus, StepRecord, StepStatus, Workflow,
} from '../../core/types.js';

/** A SQLite value as better-sqlite3 binds it. */
export type SqlValue = string | number | null;

// ------------------------------------------------------------------ JSON helpers

const enc = (v: unknown): string => (v === undefined ? 'null' : JSON.stringify(v));
const encOrNull = (v: unknown): string | null => (v == null ? null : JSON.stringify(v));
const dec = <T>(s: string): T => JSON.parse(s) as T;
const decOrNull = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

/** JSON with object keys sorted at every depth: equal text <=> structurally equal values. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const v = obj[key];
    if (v === undefined || typeof v === 'function') continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Structural equality of a stored JSON text and a value (fast path: identical serialization). */
export function sameJson(storedText: string, value: unknown, valueText?: string): boolean {
  if (valueText !== undefined && storedText === valueText) return true;
  return canonicalJson(JSON.parse(storedText)) === canonicalJson(value);
}

// ------------------------------------------------------------------ runs

export interface RunRow {
  id: string;
  tenant: string;
  workflow: string;
  version: number;
  ref: string | null;
  ref_key: string | null;
  status: RunStatus;
  input: string;
  data: string;
  progress: number;
  step: string | null;
  step_seq: number;
  reply: string | null;
  error: string | null;
  parking: string | null;
  wake_at: number | null;
  callback_token: string;
  result_url: string | null;
  parent_run_id: string | null;
  parent_step: string | null;
  parent_seq: number | null;
  attempt: number;
  owner: string | null;
  lease_until: number | null;
  rev: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
  meta: string | null;
  /** The records the run was created with (JSON array); see migration 5. */
  first_steps: string | null;
}

/** Every runs column, in the order of `runInsertParams`. */
export const RUN_COLUMNS = [
  'id', 'tenant', 'workflow', 'version', 'ref', 'ref_key', 'status', 'input', 'data', 'progress',
  'step', 'step_seq', 'reply', 'error', 'parking', 'wake_at', 'callback_token', 'result_url',
  'parent_run_id', 'parent_step', 'parent_seq', 'attempt', 'owner', 'lease_until', 'rev',
  'created_at', 'started_at', 'finished_at', 'updated_at', 'meta', 'first_steps',
] as const;

/**
 * Parameters of INSERT INTO runs (RUN_COLUMNS). `inputText` is the encoded input (the caller
 * needs it anyway to compare refs); `data` shares it when the run's data is the input object.
 */
export function runInsertParams(run: Run, inputText: string, firstSteps?: StepRecord[]): SqlValue[] {
  const p = run.parent;
  return [
    run.id, run.tenant, run.workflow, run.version, run.ref, run.ref, run.status, inputText,
    run.data === run.input ? inputText : enc(run.data), run.progress,
    run.step, run.step_seq, encOrNull(run.reply), encOrNull(run.error), encOrNull(run.parking),
    run.wake_at, run.callback_token, run.result_url,
    p ? p.run_id : null, p ? p.step : null, p ? p.seq : null,
    run.attempt, run.owner, run.lease_until, run.rev,
    run.created_at, run.started_at, run.finished_at, run.updated_at, encOrNull(run.meta),
    firstSteps && firstSteps.length > 0 ? encodeFirstSteps(firstSteps) : null,
  ];
}

/**
 * The columns a transition writes, in the order of `runUpdateParams`. Identity (id, tenant,
 * workflow, version, ref, callback_token, parent, input, created_at, meta) never changes after creation;
 * `reply` is written separately (set-once).
 */
export const RUN_MUTABLE_COLUMNS = [
  'status', 'data', 'progress', 'step', 'step_seq', 'error', 'parking', 'wake_at', 'result_url',
  'attempt', 'owner', 'lease_until', 'rev', 'started_at', 'finished_at', 'updated_at',
] as const;

export function runUpdateParams(run: Run): SqlValue[] {
  return [
    run.status, enc(run.data), run.progress, run.step, run.step_seq, encOrNull(run.error),
    encOrNull(run.parking), run.wake_at, run.result_url, run.attempt, run.owner, run.lease_until,
    run.rev, run.started_at, run.finished_at, run.updated_at,
  ];
}

export function rowToRun(r: RunRow): Run {
  return {
    id: r.id,
    tenant: r.tenant,
    workflow: r.workflow,
    version: r.version,
    ref: r.ref,
    status: r.status,
    input: dec<JsonObject>(r.input),
    data: dec<JsonObject>(r.data),
    progress: r.progress,
    step: r.step,
    step_seq: r.step_seq,
    reply: decOrNull<Run['reply']>(r.reply),
    error: decOrNull<RunError>(r.error),
    parking: decOrNull<Run['parking']>(r.parking),
    wake_at: r.wake_at,
    callback_token: r.callback_token,
    result_url: r.result_url,
    parent: r.parent_run_id === null
      ? null
      : { run_id: r.parent_run_id, step: r.parent_step ?? '', seq: r.parent_seq ?? 0 },
    attempt: r.attempt,
    owner: r.owner,
    lease_until: r.lease_until,
    rev: r.rev,
    created_at: r.created_at,
    started_at: r.started_at,
    finished_at: r.finished_at,
    updated_at: r.updated_at,
    ...(r.meta !== null ? { meta: dec<JsonObject>(r.meta) } : {}),
  };
}

export const encodeReply = (reply: NonNullable<Run['reply']>): string => JSON.stringify(reply);

// ------------------------------------------------------------------ step records

export interface StepRow {
  run_id: string;
  seq: number;
  step_id: string;
  type: string;
  name: string | null;
  status: StepStatus;
  attempts: string;
  input: string;
  output: string;
  error: string | null;
  started_at: number;
  finished_at: number | null;
}

export const STEP_COLUMNS = [
  'run_id', 'seq', 'step_id', 'type', 'name', 'status', 'attempts', 'input', 'output', 'error',
  'started_at', 'finished_at',
] as const;

export function stepParams(s: StepRecord): SqlValue[] {
  return [
    s.run_id, s.seq, s.step_id, s.type, s.name, s.status, enc(s.attempts), enc(s.input),
    enc(s.output), encOrNull(s.error), s.started_at, s.finished_at,
  ];
}

/**
 * The records a run is created with, as the runs.first_steps JSON array. Each record is an array of
 * its values in FIRST_STEP_FIELDS order (undefined stored as null), without the run id: a third of
 * the size of the same records as objects, and this column is most of a new run's row. Rows written
 * before this format hold objects with those field names; both decode.
 */
const FIRST_STEP_FIELDS = ['seq', 'step_id', 'type', 'name', 'status', 'attempts', 'input', 'output', 'error', 'started_at', 'finished_at'] as const;

export function encodeFirstSteps(steps: StepRecord[]): string {
  return JSON.stringify(steps.map((s) => [
    s.seq, s.step_id, s.type, s.name, s.status, s.attempts ?? null, s.input ?? null, s.output ?? null, s.error ?? null, s.started_at, s.finished_at,
  ]));
}

export function decodeFirstSteps(runId: string, text: string): StepRecord[] {
  return (JSON.parse(text) as (unknown[] | Omit<StepRecord, 'run_id'>)[]).map((r) => {
    if (!Array.isArray(r)) return { run_id: runId, ...r };
    const record: Record<string, unknown> = { run_id: runId };
    FIRST_STEP_FIELDS.forEach((field, i) => { record[field] = r[i]; });
    return record as unknown as StepRecord;
  });
}

export function rowToStep(r: StepRow): StepRecord {
  return {
    run_id: r.run_id,
    seq: r.seq,
    step_id: r.step_id,
    type: r.type,
    name: r.name,
    status: r.status,
    attempts: dec<StepRecord['attempts']>(r.attempts),
    input: dec<Json>(r.input),
    output: dec<Json>(r.output),
    error: decOrNull<RunError>(r.error),
    started_at: r.started_at,
    finished_at: r.finished_at,
  };
}

// ------------------------------------------------------------------ workflows, keys

/** A version row joined with its head (see WORKFLOW_SELECT in workflows.ts). */
export interface WorkflowRow {
  tenant: string;
  id: string;
  version: number;
  name: string;
  source: string;
  definition: string;
  conv_id: number;
  hash: string;
  guid: string;
  archived_at: number | null;
  created_at: number;
  updated_at: number;
}

export function rowToWorkflow(r: WorkflowRow): Workflow {
  return {
    tenant: r.tenant,
    id: r.id,
    name: r.name,
    version: r.version,
    definition: dec<Definition>(r.definition),
    source: r.source,
    conv_id: r.conv_id,
    hash: r.hash,
    guid: r.guid,
    archived: r.archived_at !== null,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

export type KeyRow = ApiKey;

export const rowToKey = (r: KeyRow): ApiKey => ({
  id: r.id, tenant: r.tenant, name: r.name, role: r.role, token_hash: r.token_hash, created_at: r.created_at,
});
