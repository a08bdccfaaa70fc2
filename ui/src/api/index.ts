/** The typed API calls the console makes. Pages import from here, never call fetch. */
import { api } from './client.js';
import type { Session } from './session.js';
import type { Page, Whoami, Workflow, WorkflowSummary } from './types.js';

export { api, apiFetch, apiUrl } from './client.js';
export { ApiError, describeError, type FieldProblem, type ProblemDocument } from './problem.js';
export { readEventStream, jsonEvents, type SseEvent } from './sse.js';
export * from './types.js';
export * from './admin.js';
export * from './start.js';
export { apiUpload, type UploadAnswer } from './upload.js';

/** Who a token is; with `session`, checks a token before it is kept. */
export const whoami = (session?: Session): Promise<Whoami> => api<Whoami>('/v1/whoami', { session });

/** Every workflow of the tenant (follows the pages). */
export async function listWorkflows(signal?: AbortSignal): Promise<WorkflowSummary[]> {
  const all: WorkflowSummary[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<WorkflowSummary> = await api<Page<WorkflowSummary>>('/v1/workflows', { query: { limit: 1000, cursor }, signal });
    all.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}
export * from './runs.js';

/** One workflow (its current version unless `version`), with its definition. */
export const getWorkflow = (id: string, signal?: AbortSignal): Promise<Workflow> =>
  api<Workflow>(`/v1/workflows/${encodeURIComponent(id)}`, { signal });
