/**
 * Checking what the server did with the load, through its public API only: wait until every run of
 * a workflow has finished, then page through `GET /v1/runs?workflow=…` and count them by status.
 */
import type { ServerHandle } from './servers.js';

const PAGE = 1000;
const ACTIVE = ['queued', 'running', 'waiting'] as const;

export interface RunCount {
  total: number;
  byStatus: Record<string, number>;
}

interface RunPage {
  items: { id: string; status: string }[];
  next_cursor: string | null;
}

async function page(server: ServerHandle, query: string): Promise<RunPage> {
  const answer = await server.api('GET', `/v1/runs?${query}`);
  if (answer.status !== 200) throw new Error(`GET /v1/runs?${query} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return answer.json() as RunPage;
}

/** Every run of the workflow, counted by status (cursor paging, newest first). */
export async function countRuns(server: ServerHandle, workflow: string): Promise<RunCount> {
  const count: RunCount = { total: 0, byStatus: {} };
  const seen = new Set<string>();
  let cursor: string | null = null;
  for (;;) {
    const q = new URLSearchParams({ workflow, limit: String(PAGE) });
    if (cursor) q.set('cursor', cursor);
    const p = await page(server, q.toString());
    for (const run of p.items) {
      if (seen.has(run.id)) throw new Error(`run ${run.id} listed twice while paging`);
      seen.add(run.id);
      count.total++;
      count.byStatus[run.status] = (count.byStatus[run.status] ?? 0) + 1;
    }
    if (!p.next_cursor || p.items.length < PAGE) return count;
    cursor = p.next_cursor;
  }
}

/** Polls until no run of the workflow is queued, running or waiting; returns the seconds it took. */
export async function waitUntilSettled(server: ServerHandle, workflow: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    let active = false;
    for (const status of ACTIVE) {
      const p = await page(server, new URLSearchParams({ workflow, status, limit: '1' }).toString());
      if (p.items.length > 0) {
        active = true;
        break;
      }
    }
    if (!active) return (Date.now() - started) / 1000;
    if (Date.now() - started > timeoutMs) throw new Error(`runs of ${workflow} still active after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
