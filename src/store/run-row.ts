/**
 * The run row and the step record row, defined once for every backend and for the store thread's
 * wire: which columns a run has, how each is encoded from a `Run` and decoded back, which ones a
 * transition writes, and the order a run's fields travel in. SQLite (sqlite/), PostgreSQL
 * (postgres/) and the thread wire (sqlite/wire.ts) all build their statements, parameter arrays and
 * packed values from these lists, so a field added to `Run` is added here and nowhere else (the
 * type checks below fail until it is). Each backend's schema test checks its table has exactly
 * these columns.
 *
 * JSON documents are stored as text written by the store itself; times are epoch milliseconds.
 */
import type { Json, JsonObject, Run, RunError, RunStatus, StepRecord, StepStatus } from '../core/types.js';

/** A column value as both drivers bind it. */
export type SqlValue = string | number | null;

const enc = (v: unknown): string => (v === undefined ? 'null' : JSON.stringify(v));
const encOrNull = (v: unknown): string | null => (v == null ? null : JSON.stringify(v));
const dec = <T>(s: string): T => JSON.parse(s) as T;
const decOrNull = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

// ------------------------------------------------------------------ runs

export interface RunRow {
  id: string;
  tenant: string;
  workflow: string;
  version: number;
  ref: string | null;
  /** Equals ref while this run holds it; NULL once a while-active ref was handed on. */
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
  /** The records the run was created with (JSON array, see `encodeFirstSteps`). */
  first_steps: string | null;
}

export type RunColumn = keyof RunRow;

/** What encoding a run needs besides the run: its input text (the caller has it to compare refs) and its first records. */
interface EncodeContext {
  /** null when the input is not written (a transition). */
  inputText: string | null;
  firstSteps: StepRecord[] | undefined;
}

interface ColumnSpec {
  name: RunColumn;
  /** Written by a transition (identity columns, the reply and the first records are not). */
  mutable: boolean;
  encode(run: Run, ctx: EncodeContext): SqlValue;
  /** Writes the column's part of the run (columns that belong to another one's field leave it out). */
  decode?(row: RunRow, run: Record<string, unknown>): void;
}

const plain = <K extends keyof Run & RunColumn>(name: K, mutable: boolean): ColumnSpec => ({
  name, mutable, encode: (run) => run[name] as SqlValue, decode: (row, run) => { run[name] = row[name]; },
});
const jsonOrNull = <K extends keyof Run & RunColumn>(name: K, mutable: boolean): ColumnSpec => ({
  name, mutable, encode: (run) => encOrNull(run[name]), decode: (row, run) => { run[name] = decOrNull(row[name] as string | null); },
});

/** Every runs column, in the order of `runInsertValues`. */
const RUN_SPECS: readonly ColumnSpec[] = [
  plain('id', false), plain('tenant', false), plain('workflow', false), plain('version', false), plain('ref', false),
  { name: 'ref_key', mutable: false, encode: (run) => run.ref },
  plain('status', true),
  { name: 'input', mutable: false, encode: (run, ctx) => ctx.inputText ?? enc(run.input), decode: (row, run) => { run.input = dec<JsonObject>(row.input); } },
  // A new run's data is often its input object: the input's text is reused then.
  {
    name: 'data', mutable: true, encode: (run, ctx) => (run.data === run.input && ctx.inputText !== null ? ctx.inputText : enc(run.data)),
    decode: (row, run) => { run.data = dec<JsonObject>(row.data); },
  },
  plain('progress', true), plain('step', true), plain('step_seq', true),
  jsonOrNull('reply', false), jsonOrNull('error', true), jsonOrNull('parking', true),
  plain('wake_at', true), plain('callback_token', false), plain('result_url', true),
  {
    name: 'parent_run_id', mutable: false, encode: (run) => run.parent?.run_id ?? null,
    decode: (row, run) => {
      run.parent = row.parent_run_id === null ? null : { run_id: row.parent_run_id, step: row.parent_step ?? '', seq: row.parent_seq ?? 0 };
    },
  },
  { name: 'parent_step', mutable: false, encode: (run) => run.parent?.step ?? null },
  { name: 'parent_seq', mutable: false, encode: (run) => run.parent?.seq ?? null },
  plain('attempt', true), plain('owner', true), plain('lease_until', true), plain('rev', true),
  plain('created_at', false), plain('started_at', true), plain('finished_at', true), plain('updated_at', true),
  // Absent from the run (not null) when there is none.
  {
    name: 'meta', mutable: false, encode: (run) => encOrNull(run.meta),
    decode: (row, run) => { if (row.meta !== null) run.meta = dec<JsonObject>(row.meta); },
  },
  {
    name: 'first_steps', mutable: false,
    encode: (_run, ctx) => (ctx.firstSteps && ctx.firstSteps.length > 0 ? encodeFirstSteps(ctx.firstSteps) : null),
  },
];

const RUN_DECODERS = RUN_SPECS.filter((s) => s.decode !== undefined);
const RUN_MUTABLE_SPECS = RUN_SPECS.filter((s) => s.mutable);

/** Every runs column, in the order of `runInsertValues`. */
export const RUN_COLUMNS: readonly RunColumn[] = RUN_SPECS.map((s) => s.name);

/**
 * The columns a transition writes, in the order of `runUpdateValues`. Identity (id, tenant,
 * workflow, version, ref, callback_token, parent, input, created_at, meta) never changes after
 * creation; `reply` is written separately (set-once).
 */
export const RUN_MUTABLE_COLUMNS: readonly RunColumn[] = RUN_MUTABLE_SPECS.map((s) => s.name);

/** The values of a new run's row (RUN_COLUMNS order). `inputText` is the encoded input. */
export function runInsertValues(run: Run, inputText: string, firstSteps?: StepRecord[]): SqlValue[] {
  const ctx = { inputText, firstSteps };
  return RUN_SPECS.map((s) => s.encode(run, ctx));
}

/** A new run's row as an object (column name → value), for backends that send rows as documents. */
export function runInsertRow(run: Run, inputText: string, firstSteps?: StepRecord[]): Record<RunColumn, SqlValue> {
  const ctx = { inputText, firstSteps };
  const row = {} as Record<RunColumn, SqlValue>;
  for (const s of RUN_SPECS) row[s.name] = s.encode(run, ctx);
  return row;
}

/** The values a transition writes (RUN_MUTABLE_COLUMNS order). */
export function runUpdateValues(run: Run): SqlValue[] {
  const ctx = { inputText: null, firstSteps: undefined };
  return RUN_MUTABLE_SPECS.map((s) => s.encode(run, ctx));
}

export function rowToRun(row: RunRow): Run {
  const run: Record<string, unknown> = {};
  for (const s of RUN_DECODERS) s.decode!(row, run);
  return run as unknown as Run;
}

export const encodeReply = (reply: NonNullable<Run['reply']>): string => JSON.stringify(reply);

/**
 * A run's fields in the order they travel between threads (sqlite/wire.ts). `meta`, the only
 * optional field, is last and stays absent when it was.
 */
export const RUN_FIELDS = [
  'id', 'tenant', 'workflow', 'version', 'ref', 'status', 'input', 'data', 'progress', 'step', 'step_seq',
  'reply', 'error', 'parking', 'wake_at', 'callback_token', 'result_url', 'parent', 'attempt', 'owner',
  'lease_until', 'rev', 'created_at', 'started_at', 'finished_at', 'updated_at', 'meta',
] as const satisfies readonly (keyof Run)[];

// A field added to Run but not to RUN_FIELDS fails the type check here.
type MissingRunField = Exclude<keyof Run, (typeof RUN_FIELDS)[number]>;
const everyRunFieldListed: [MissingRunField] extends [never] ? true : MissingRunField = true;
void everyRunFieldListed;

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

/** A step record's fields, in the order of its row, its compact first-step form and its wire form. */
export const STEP_FIELDS = [
  'run_id', 'seq', 'step_id', 'type', 'name', 'status', 'attempts', 'input', 'output', 'error', 'started_at', 'finished_at',
] as const satisfies readonly (keyof StepRecord & keyof StepRow)[];

type MissingStepField = Exclude<keyof StepRecord, (typeof STEP_FIELDS)[number]>;
const everyStepFieldListed: [MissingStepField] extends [never] ? true : MissingStepField = true;
void everyStepFieldListed;

/** Fields stored as JSON text; `error` may be null. */
const STEP_JSON = new Set<string>(['attempts', 'input', 'output']);

export const STEP_COLUMNS = STEP_FIELDS;

export function stepValues(s: StepRecord): SqlValue[] {
  return STEP_FIELDS.map((f) => (STEP_JSON.has(f) ? enc(s[f]) : f === 'error' ? encOrNull(s.error) : (s[f] as SqlValue)));
}

export function stepRow(s: StepRecord): Record<(typeof STEP_FIELDS)[number], SqlValue> {
  const values = stepValues(s);
  const row = {} as Record<(typeof STEP_FIELDS)[number], SqlValue>;
  STEP_FIELDS.forEach((f, i) => { row[f] = values[i]; });
  return row;
}

export function rowToStep(r: StepRow): StepRecord {
  const record: Record<string, unknown> = {};
  for (const f of STEP_FIELDS) {
    const v = r[f];
    record[f] = STEP_JSON.has(f) ? dec<Json>(v as string) : f === 'error' ? decOrNull<RunError>(v as string | null) : v;
  }
  return record as unknown as StepRecord;
}

/**
 * The records a run is created with, as the runs.first_steps JSON array. Each record is an array of
 * its values in STEP_FIELDS order without the run id (undefined stored as null): a third of the size
 * of the same records as objects, and this column is most of a new run's row. Rows written before
 * this format hold objects with those field names; both decode.
 */
const FIRST_STEP_FIELDS = STEP_FIELDS.slice(1);

export function encodeFirstSteps(steps: StepRecord[]): string {
  return JSON.stringify(steps.map((s) => FIRST_STEP_FIELDS.map((f) => s[f] ?? null)));
}

export function decodeFirstSteps(runId: string, text: string): StepRecord[] {
  return (JSON.parse(text) as (unknown[] | Omit<StepRecord, 'run_id'>)[]).map((r) => {
    if (!Array.isArray(r)) return { run_id: runId, ...r };
    const record: Record<string, unknown> = { run_id: runId };
    FIRST_STEP_FIELDS.forEach((field, i) => { record[field] = r[i]; });
    return record as unknown as StepRecord;
  });
}

/** A run's step records: its first records (runs.first_steps) overlaid by the written ones, which win for the same seq. */
export function mergeSteps(runId: string, firstSteps: string | null | undefined, written: StepRecord[]): StepRecord[] {
  if (firstSteps === undefined || firstSteps === null) return written;
  const bySeq = new Map<number, StepRecord>();
  for (const r of decodeFirstSteps(runId, firstSteps)) bySeq.set(r.seq, r);
  for (const r of written) bySeq.set(r.seq, r);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}
