/**
 * The shapes of runs and step records as the CLI reads them from the API (docs/spec.md §4, §8.5), and the
 * small renderings `runs show` and `runs watch` share.
 */

/** The fields of a run (GET /v1/runs/{id}) the CLI shows; the server may send more. */
export interface RunView {
  id: string;
  workflow?: string;
  version?: number;
  ref?: string | null;
  status?: string;
  progress?: number;
  attempt?: number;
  input?: unknown;
  data?: unknown;
  reply?: { status?: string; http_status?: number; data?: unknown } | null;
  error?: { step?: string; code?: string; message?: string } | null;
  created_at?: string | number;
  started_at?: string | number | null;
  finished_at?: string | number | null;
}

export interface AttemptView {
  n?: number;
  started_at?: string | number;
  finished_at?: string | number | null;
  duration_ms?: number | null;
  response?: unknown;
  error?: { class?: string; message?: string } | null;
}

/** A step record (GET /v1/runs/{id}/steps, docs/spec.md §8.5). */
export interface StepView {
  seq?: number;
  step_id: string;
  type?: string;
  name?: string | null;
  status?: string;
  attempts?: AttemptView[];
  error?: { code?: string; message?: string } | null;
  started_at?: string | number;
  finished_at?: string | number | null;
}

export function errorText(e: { step?: string; code?: string; message?: string }, withStep: boolean): string {
  const where = withStep && e.step ? `at step ${e.step}: ` : '';
  return `${where}${e.code ? `${e.code}: ` : ''}${e.message ?? ''}`.trim();
}

export const workflowLabel = (r: RunView): string =>
  `${r.workflow ?? '-'}${typeof r.version === 'number' ? ` v${r.version}` : ''}`;

export const isActive = (status: string | undefined): boolean =>
  status === 'queued' || status === 'running' || status === 'waiting';

export const isTerminal = (status: unknown): boolean =>
  status === 'succeeded' || status === 'failed' || status === 'cancelled';
