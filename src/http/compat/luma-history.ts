/**
 * Luma Automation history documents (docs/spec.md §5.2, §8.18): a run as a workflow history record, its
 * step records as step history items, and the `filter` / `orderBy` / `skip` / `top` rules of the
 * step history list. Pure functions of stored runs and step records.
 */
import type { Json, JsonObject, ParamSpec, Run, StepRecord } from '../../core/types.js';

export type LumaStatus = 'RUNNING' | 'SUSPENDED' | 'COMPLETED' | 'FAILED' | 'TERMINATED';
export const LUMA_STATUSES: readonly LumaStatus[] = ['RUNNING', 'SUSPENDED', 'COMPLETED', 'FAILED', 'TERMINATED'];

/**
 * Run status → Luma: queued and running are RUNNING; waiting is SUSPENDED when the run waits for
 * the outside world (a `wait` step's callback), RUNNING when it waits on its own work (timers,
 * retries, child runs); succeeded COMPLETED, failed FAILED, cancelled TERMINATED.
 */
export function lumaRunStatus(run: Run): LumaStatus {
  switch (run.status) {
    case 'queued':
    case 'running':
      return 'RUNNING';
    case 'waiting':
      return run.parking?.kind === 'callback' ? 'SUSPENDED' : 'RUNNING';
    case 'succeeded':
      return 'COMPLETED';
    case 'failed':
      return 'FAILED';
    case 'cancelled':
      return 'TERMINATED';
  }
}

/**
 * Step record status → Luma: running RUNNING; waiting SUSPENDED for a `wait` step, else RUNNING;
 * succeeded COMPLETED; failed FAILED (TERMINATED when the run was cancelled there); a record left
 * running or waiting in a run that has ended is TERMINATED; skipped TERMINATED.
 */
export function lumaStepStatus(record: StepRecord, run: Run): LumaStatus {
  const ended = run.status === 'succeeded' || run.status === 'failed' || run.status === 'cancelled';
  switch (record.status) {
    case 'running':
      return ended ? 'TERMINATED' : 'RUNNING';
    case 'waiting':
      if (ended) return 'TERMINATED';
      return record.type === 'wait' ? 'SUSPENDED' : 'RUNNING';
    case 'succeeded':
      return 'COMPLETED';
    case 'failed':
      return record.error?.code === 'cancelled' ? 'TERMINATED' : 'FAILED';
    case 'skipped':
      return 'TERMINATED';
  }
}

const DATA_TYPES: Record<string, string> = {
  string: 'TEXT', number: 'NUMBER', integer: 'NUMBER', boolean: 'BOOLEAN', object: 'JSON', array: 'JSON',
};

function dataTypeOf(spec: ParamSpec | undefined, value: Json): string {
  if (spec) return DATA_TYPES[spec.type] ?? 'TEXT';
  if (typeof value === 'number') return 'NUMBER';
  if (typeof value === 'boolean') return 'BOOLEAN';
  if (value !== null && typeof value === 'object') return 'JSON';
  return 'TEXT';
}

/**
 * `inputParameters`: a JSON string in Luma's own shape,
 * `{"inputParameters":[{"value","caption","dataType","parameter","description"}]}`, one entry per
 * variable the caller sent, in the order sent.
 */
export function inputParametersText(input: JsonObject, params: Record<string, ParamSpec>): string {
  const list = Object.entries(input).map(([name, value]) => {
    const spec = Object.hasOwn(params, name) ? params[name] : undefined;
    return { value, caption: null, dataType: dataTypeOf(spec, value), parameter: name, description: spec?.description ?? null };
  });
  return JSON.stringify({ inputParameters: list });
}

const metaValue = (run: Run, key: string): Json => (run.meta && Object.hasOwn(run.meta, key) ? run.meta[key] : null);

/** Child counts `{ total, succeeded, failed }`: a `foreach` record's output (kept current while it runs), or a run's `data.stats`. */
export function childCounts(value: Json | undefined): { total: number; succeeded: number; failed: number } | null {
  const o = value as { [k: string]: Json } | null | undefined;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return null;
  const { total, succeeded, failed } = o;
  return typeof total === 'number' && typeof succeeded === 'number' && typeof failed === 'number' ? { total, succeeded, failed } : null;
}

/** The workflow history record of a run (`resultData` of GET …/workflowhistory/{triggerId}). */
export function historyRecord(run: Run, params: Record<string, ParamSpec>, now: number, base: string): JsonObject {
  const start = run.started_at ?? run.created_at;
  const end = run.finished_at;
  return {
    id: run.id,
    status: lumaRunStatus(run),
    inputParameters: inputParametersText(run.input, params),
    startTime: start,
    endTime: end,
    timeSpent: Math.max(0, (end ?? now) - start),
    initiatorContactId: metaValue(run, 'initiatorContactId'),
    initiatorApplicationId: metaValue(run, 'initiatorApplicationId'),
    initiationInfo: metaValue(run, 'initiationInfo'),
    workflowIdentifier: run.workflow,
    percentComplete: run.status === 'succeeded' ? 100 : run.progress,
    // A foreach's counts, live while its children run (Flowgate's addition to the record).
    ...(childCounts(run.data.stats) ? { statistics: childCounts(run.data.stats) } : {}),
    href: `${base}/gateway/api/v1/workflowhistory/${run.id}`,
  };
}

/** A step history item (docs/spec.md §8.18); `id` is the record's position in execution order (from 1). */
export interface StepItem {
  id: number;
  activityName: string;
  activityId: string;
  activityType: string;
  status: LumaStatus;
  startTime: number;
  endTime: number | null;
  timeSpent: number;
  totalAttempts: number;
  [key: string]: Json;
}

export function stepItem(record: StepRecord, run: Run, now: number): StepItem {
  const counts = record.type === 'foreach' ? childCounts(record.output) : null;
  return {
    id: record.seq,
    activityName: record.name ?? record.step_id,
    activityId: record.step_id,
    activityType: record.type,
    status: lumaStepStatus(record, run),
    startTime: record.started_at,
    endTime: record.finished_at,
    timeSpent: Math.max(0, (record.finished_at ?? now) - record.started_at),
    totalAttempts: Math.max(1, record.attempts.length),
    ...(counts ? { statistics: counts } : {}),
  };
}

/** The detailed step history record: the item plus what happened inside the step. */
export function stepDetail(record: StepRecord, run: Run, now: number): JsonObject {
  return {
    ...stepItem(record, run, now),
    activityRuntimeAttributes: {
      input: record.input,
      output: record.output,
      error: record.error ? { code: record.error.code, message: record.error.message } : null,
      attempts: record.attempts.map((a) => ({
        attempt: a.n,
        startTime: a.started_at,
        endTime: a.finished_at,
        timeSpent: a.duration_ms,
        error: a.error ? a.error.message : null,
        ...(a.request !== undefined ? { request: a.request } : {}),
        ...(a.response !== undefined ? { response: a.response } : {}),
      })),
    },
  };
}

// ---------------------------------------------------------------- list queries

const ITEM_FIELDS = ['id', 'activityName', 'activityId', 'activityType', 'status', 'startTime', 'endTime', 'timeSpent', 'totalAttempts'] as const;
type ItemField = (typeof ITEM_FIELDS)[number];
const fieldOf = (name: string): ItemField | undefined => ITEM_FIELDS.find((f) => f.toLowerCase() === name.toLowerCase());

export interface StepQuery {
  filters: { field: ItemField; op: '==' | '!='; value: string }[];
  order: { field: ItemField; desc: boolean } | null;
  skip: number;
  top: number | null;
}

/** Parses `filter`, `orderBy`, `skip`, `top`; returns every problem found. */
export function parseStepQuery(q: URLSearchParams): { ok: true; query: StepQuery } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const filters: StepQuery['filters'] = [];
  const filter = q.get('filter');
  if (filter !== null && filter.trim() !== '') {
    // RSQL-style: `status==FAILED`, several joined by `;` (and).
    for (const part of filter.split(';')) {
      if (part.trim() === '') continue;
      const m = /^\s*([A-Za-z]+)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|(.*?))\s*$/.exec(part);
      if (!m) {
        errors.push(`filter: cannot read ${JSON.stringify(part.trim())} (expected <field>==<value>, e.g. status==FAILED)`);
        continue;
      }
      const field = fieldOf(m[1]);
      if (!field) {
        errors.push(`filter: unknown field ${JSON.stringify(m[1])} (one of ${ITEM_FIELDS.join(', ')})`);
        continue;
      }
      const value = m[3] ?? m[4] ?? m[5] ?? '';
      if (field === 'status' && !LUMA_STATUSES.includes(value.toUpperCase() as LumaStatus)) {
        errors.push(`filter: unknown status ${JSON.stringify(value)} (one of ${LUMA_STATUSES.join(', ')})`);
        continue;
      }
      filters.push({ field, op: m[2] as '==' | '!=', value });
    }
  }
  let order: StepQuery['order'] = null;
  const orderBy = q.get('orderBy') ?? q.get('orderby');
  if (orderBy !== null && orderBy.trim() !== '') {
    const m = /^\s*([A-Za-z]+)(?:[\s:,]+(asc|desc))?\s*$/i.exec(orderBy);
    const field = m ? fieldOf(m[1]) : undefined;
    if (!m || !field) errors.push(`orderBy: expected "<field> asc|desc" with a field among ${ITEM_FIELDS.join(', ')}`);
    else order = { field, desc: (m[2] ?? 'asc').toLowerCase() === 'desc' };
  }
  const int = (name: string): number | null => {
    const raw = q.get(name);
    if (raw === null || raw.trim() === '') return null;
    if (!/^\s*\d+\s*$/.test(raw)) {
      errors.push(`${name}: must be a non-negative integer`);
      return null;
    }
    return Number(raw);
  };
  const skip = int('skip') ?? 0;
  const top = int('top');
  if (errors.length) return { ok: false, errors };
  return { ok: true, query: { filters, order, skip, top } };
}

function matches(item: StepItem, f: StepQuery['filters'][number]): boolean {
  const v = item[f.field];
  const same = f.field === 'status' || f.field === 'activityType'
    ? String(v).toUpperCase() === f.value.toUpperCase()
    : String(v) === f.value;
  return f.op === '==' ? same : !same;
}

/** Compares two values of one field; null (an unfinished step's endTime) sorts after every value. */
function compare(a: Json, b: Json): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Filters, orders (ties in execution order) and pages the items; `total` counts the filtered items. */
export function queryItems(items: StepItem[], query: StepQuery): { total: number; items: StepItem[] } {
  let out = items.filter((it) => query.filters.every((f) => matches(it, f)));
  const order = query.order;
  if (order) {
    out = [...out].sort((a, b) => {
      const c = compare(a[order.field], b[order.field]);
      return (order.desc ? -c : c) || a.id - b.id;
    });
  }
  const total = out.length;
  const end = query.top === null ? undefined : query.skip + query.top;
  return { total, items: out.slice(query.skip, end) };
}
