/** The typed API calls the console makes. Pages import from here, never call fetch. */
import { api } from './client.js';
import { ApiError } from './problem.js';
import type { Session } from './session.js';
import type { Page, SavedWorkflow, Whoami, Workflow, WorkflowSummary, WorkflowVersion } from './types.js';

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
    const page: Page<WorkflowSummary> = await api<Page<WorkflowSummary>>('/v1/workflows', { query: { cursor }, signal });
    all.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}
export * from './runs.js';

const wfPath = (id: string): string => `/v1/workflows/${encodeURIComponent(id)}`;

/** A workflow (its current version, or version `version`), with its source text. */
export const getWorkflow = (id: string, version?: number, signal?: AbortSignal): Promise<Workflow> =>
  api<Workflow>(wfPath(id), { query: { version }, signal });

/** The media type of a definition's text: JSON when it is a JSON object, else YAML. */
export const definitionType = (source: string): string => (source.trimStart().startsWith('{') ? 'application/json' : 'application/yaml');

/** Saves a definition (new workflow or new version); a 422 carries every problem with its path. */
export const saveWorkflow = (id: string, source: string): Promise<SavedWorkflow> =>
  api<SavedWorkflow>(wfPath(id), { method: 'PUT', body: source, type: definitionType(source) });

export const archiveWorkflow = (id: string): Promise<void> => api<void>(wfPath(id), { method: 'DELETE' });

export const rotateHash = (id: string): Promise<Workflow> => api<Workflow>(`${wfPath(id)}/hash/rotate`, { method: 'POST' });

/**
 * The workflow's versions, newest first. Read from GET /v1/workflows/{id}/versions; a server
 * without that route (404 for a workflow that exists) gives 1..current, which ?version=N can read.
 */
export async function listVersions(id: string, current: number, signal?: AbortSignal): Promise<WorkflowVersion[]> {
  try {
    const all: WorkflowVersion[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<WorkflowVersion> = await api<Page<WorkflowVersion>>(`${wfPath(id)}/versions`, { query: { cursor, limit: 1000 }, signal });
      all.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return all;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404 || !/no route/.test(e.detail)) throw e;
    return Array.from({ length: current }, (_, i) => ({ version: current - i, current: i === 0 }));
  }
}
