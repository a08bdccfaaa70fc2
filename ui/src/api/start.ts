/** Starting runs from the console: one run (plain or waiting for its reply), a CSV import with upload progress, an http step's test. */
import { apiFetch, api } from './client.js';
import { apiUpload, uploadError } from './upload.js';

export interface StartedRun {
  id: string;
  status: string;
  ref?: string | null;
  links?: Record<string, string>;
}

export type StartAnswer =
  /** 202: the run was created (and, waiting, had not settled in time). */
  | { kind: 'accepted'; run: StartedRun }
  /** Waiting: the run's result, as GET /v1/runs/{id}/result answers it (its reply, final data or problem). */
  | { kind: 'result'; runId: string; runStatus: string; status: number; contentType: string; body: unknown };

/**
 * POST /v1/workflows/{id}/runs with the input as a value or as JSON text (sent as typed, so an integer
 * beyond 2^53 keeps its digits); `wait` seconds makes it answer the run's result when it settles in time.
 */
export async function startRun(workflow: string, input: { json: unknown } | { text: string }, opts: { wait?: number; ref?: string } = {}): Promise<StartAnswer> {
  const res = await apiFetch(`/v1/workflows/${encodeURIComponent(workflow)}/runs`, {
    method: 'POST',
    ...('text' in input ? { body: input.text, type: 'application/json' } : { json: input.json }),
    query: { wait: opts.wait, ref: opts.ref },
    // The result of a run that failed or replied with an error status is still the run's answer, not a refusal.
    accept: (r) => r.headers.has('flowgate-run-id'),
  });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  const body = /json/i.test(contentType) && text !== '' ? JSON.parse(text) : text;
  const runId = res.headers.get('flowgate-run-id');
  if (res.status === 202 || !runId) return { kind: 'accepted', run: body as StartedRun };
  return { kind: 'result', runId, runStatus: res.headers.get('flowgate-run-status') ?? '', status: res.status, contentType, body };
}

export interface ImportOptions {
  delimiter?: '' | ',' | ';' | '|';
  encoding: 'utf-8' | 'windows-1251';
  header: boolean;
  refColumn?: string;
  partial: boolean;
}

const importQuery = (o: ImportOptions): Record<string, string | undefined> => ({
  delimiter: o.delimiter || undefined,
  encoding: o.encoding,
  header: String(o.header),
  ref_column: o.refColumn?.trim() || undefined,
  partial: String(o.partial),
});

export interface ImportCounts {
  total: number;
  created: number;
  duplicates: number;
  failed: number;
}

/** The server's check of a file without creating anything: counts, every problem, and the first rows as parsed (`preview`). */
export async function previewImport(workflow: string, file: Blob, o: ImportOptions, rows = 20, onProgress?: (sent: number, total: number) => void): Promise<unknown> {
  const a = await apiUpload(`/v1/workflows/${encodeURIComponent(workflow)}/runs/import`, {
    query: { ...importQuery(o), dry_run: 'true', preview: rows },
    body: file, type: 'text/csv', onProgress,
  });
  // A 422 refusal of a dry run is still the check's answer (its counts and errors): the preview shows it.
  if (a.status === 200 || (a.status === 422 && /json/i.test(a.contentType))) {
    const doc = JSON.parse(await a.text()) as Record<string, unknown>;
    if (a.status === 200 || typeof doc.total === 'number') return doc;
  }
  throw await uploadError(a);
}

export interface ImportResult extends ImportCounts {
  /** True when bad rows refused the whole file (all-or-nothing): nothing was created. */
  refused: boolean;
  /** The failed rows as the server wrote them (its CSV, in the file's delimiter and encoding), when any failed. */
  failedRows: Blob | null;
  filename: string;
}

/** Imports the file, answering with the failed rows as CSV (one upload: created rows and the bad ones' file). */
export async function importCsv(workflow: string, file: Blob, o: ImportOptions, onProgress?: (sent: number, total: number) => void): Promise<ImportResult> {
  const a = await apiUpload(`/v1/workflows/${encodeURIComponent(workflow)}/runs/import`, {
    query: { ...importQuery(o), format: 'csv' },
    body: file, type: 'text/csv', onProgress,
  });
  if ((a.status !== 200 && a.status !== 422) || !/text\/csv/i.test(a.contentType)) throw await uploadError(a);
  const n = (name: string): number => Number(a.header(`flowgate-import-${name}`) ?? 0);
  const failed = n('failed');
  const disposition = a.header('content-disposition') ?? '';
  const filename = /filename="?([^";]+)"?/i.exec(disposition)?.[1] ?? `${workflow}-failed-rows.csv`;
  return { total: n('total'), created: n('created'), duplicates: n('duplicates'), failed, refused: a.status === 422, failedRows: failed > 0 ? a.body : null, filename };
}

/** One http exchange of a step test, as the server answers it (secrets redacted). */
export interface StepTestResult {
  request: { method: string; url: string; headers?: Record<string, string>; body?: unknown } | null;
  response: { status: number; headers?: Record<string, string>; body?: unknown } | null;
  duration_ms: number | null;
  error?: { code: string; message: string } | null;
  /** What the step would do next: `continue` (with the data it would set), `fail`, `retry`, `follow`. */
  outcome: { kind: string; [field: string]: unknown };
  [field: string]: unknown;
}

/** Tests a step of the workflow's current version (saved). */
export const testSavedStep = (workflow: string, step: string, data: Record<string, unknown>): Promise<StepTestResult> =>
  api<StepTestResult>(`/v1/workflows/${encodeURIComponent(workflow)}/steps/${encodeURIComponent(step)}/test`, { method: 'POST', json: { data } });

/** Tests an http step that is not saved (the one being edited), optionally in the context of a workflow. */
export const testUnsavedStep = (step: Record<string, unknown>, data: Record<string, unknown>, workflow?: string): Promise<StepTestResult> =>
  api<StepTestResult>('/v1/steps/test', { method: 'POST', json: workflow ? { step, data, workflow } : { step, data } });
