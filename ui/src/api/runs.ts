/**
 * The runs calls of the console: the cursor-paged list, one run with its step records and
 * deliveries, the actions (cancel, retry, resume through the run's callback URL), and the launch
 * document a launch-in-context key reads (GET /launch/api/run).
 */
import { api } from './client.js';
import type { Page, RunSummary, Workflow } from './types.js';

export interface RunError {
  step?: string;
  code?: string;
  message: string;
  [field: string]: unknown;
}

export interface Run extends RunSummary {
  progress: number;
  step?: string | null;
  input?: unknown;
  data?: Record<string, unknown> | null;
  reply?: { status?: string; http_status?: number; data?: unknown; at?: string | null; [f: string]: unknown } | null;
  error?: RunError | null;
  attempt?: number;
  wake_at?: string | null;
  parent_run_id?: string | null;
  /** The run's own callback URL (resumes a `wait` step); absent in the launch view. */
  callback_url?: string;
  result_url?: string | null;
  started_at?: string | null;
  updated_at?: string | null;
}

export interface Attempt {
  n: number;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  request?: unknown;
  response?: unknown;
  error?: { class: string; message: string } | null;
}

export type StepStatus = 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped';

export interface StepRecord {
  seq: number;
  step_id: string;
  type: string;
  name: string | null;
  status: StepStatus;
  attempts: Attempt[];
  input: unknown;
  output: unknown;
  error: RunError | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
}

export interface DeliveryAttempt {
  n: number;
  started_at: string | null;
  duration_ms: number | null;
  request?: unknown;
  status?: number | null;
  response?: unknown;
  error?: string | null;
}

export interface Delivery {
  id: string;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: DeliveryAttempt[];
  next_attempt_at: string | null;
  created_at: string | null;
  finished_at: string | null;
}

export interface RunFilters {
  workflow?: string;
  status?: string;
  ref?: string;
  parent?: string;
  since?: string;
  until?: string;
}

export const listRuns = (filters: RunFilters & { cursor?: string | null; limit?: number }, signal?: AbortSignal): Promise<Page<Run>> =>
  api<Page<Run>>('/v1/runs', { query: { ...filters }, signal });

export const getRun = (id: string, signal?: AbortSignal): Promise<Run> => api<Run>(`/v1/runs/${encodeURIComponent(id)}`, { signal });

export const runSteps = (id: string, signal?: AbortSignal): Promise<StepRecord[]> =>
  api<{ items: StepRecord[] }>(`/v1/runs/${encodeURIComponent(id)}/steps`, { signal }).then((r) => r.items);

export const runDeliveries = (id: string, signal?: AbortSignal): Promise<Delivery[]> =>
  api<{ items: Delivery[] }>(`/v1/runs/${encodeURIComponent(id)}/deliveries`, { signal }).then((r) => r.items);

export const getWorkflowVersion = (id: string, version: number | undefined, signal?: AbortSignal): Promise<Workflow> =>
  api<Workflow>(`/v1/workflows/${encodeURIComponent(id)}`, { query: { version }, signal });

export const cancelRun = (id: string): Promise<Run> => api<Run>(`/v1/runs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });

export const retryRun = (id: string, fromStart: boolean): Promise<Run> =>
  api<Run>(`/v1/runs/${encodeURIComponent(id)}/retry`, { method: 'POST', query: { from: fromStart ? 'start' : undefined } });

/** Resumes a waiting run (POST /v1/callbacks/{token}: the token in its callback URL is the credential). */
export function resumeRun(callbackUrl: string, body: unknown): Promise<{ run_id: string; accepted: string }> {
  const path = new URL(callbackUrl, location.origin).pathname;
  return api(path, { method: 'POST', json: body });
}

/** What a launch-in-context key may read: its one run, the run's step records and workflow version. */
export interface LaunchView {
  run: Run;
  steps: StepRecord[];
  workflow: { id: string; name?: string | null; version: number; definition: Record<string, unknown> } | null;
  expires_at: string;
}

/**
 * The headers that carry a launch-in-context key: `Authorization: Launch <key>`, and nothing of a
 * signed-in session (the key is not one, and the session is not the launch view's).
 */
export const launchHeaders = (key: string): Record<string, string> => ({ Authorization: `Launch ${key}` });

/** The launch document of a launch-in-context key (GET /launch/api/run). */
export const getLaunchView = (key: string, signal?: AbortSignal): Promise<LaunchView> =>
  api<LaunchView>('/launch/api/run', { caller: launchHeaders(key), signal });

/** The launch view's changes (GET /launch/api/run/events: `run`, `step`, and `expired` when the key ends). */
export const LAUNCH_EVENTS_PATH = '/launch/api/run/events';

/** A run that will not change any more (succeeded, failed, cancelled). */
export const isTerminalStatus = (status: string): boolean => status === 'succeeded' || status === 'failed' || status === 'cancelled';
