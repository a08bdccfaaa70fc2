/**
 * Following runs live over the fetch-based SSE reader (the session's Authorization is sent; no token
 * in a URL). A stream that ends or breaks is opened again with backoff (1 s doubling to 30 s); when
 * the route is absent (404/405) the caller is asked to read again every few seconds instead.
 */
import { useEffect, useRef } from 'react';
import { ApiError, apiUrl, jsonEvents, readEventStream } from '../../api/index.js';
import type { Run, StepRecord } from '../../api/index.js';

export const POLL_MS = 3000;
const MAX_BACKOFF_MS = 30_000;

interface FollowOptions {
  /** Called with each parsed event. */
  onEvent: (name: string, data: unknown) => void;
  /** Called when the stream (re)opens or a poll is due: read the current state again. */
  onRefresh: () => void;
  /** True when the stream ended because there is nothing more to follow (a run that finished). */
  isDone?: () => boolean;
  events: string[];
  /** Headers that name the caller instead of the session's (the launch view's key). */
  headers?: Record<string, string>;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

/** Keeps `path`'s event stream open while the component is mounted (and `enabled`). */
export function useFollow(path: string | null, opts: FollowOptions): void {
  const ref = useRef(opts);
  ref.current = opts;
  useEffect(() => {
    if (!path) return;
    const abort = new AbortController();
    const { signal } = abort;
    void (async () => {
      let backoff = 1000;
      let opened = false;
      while (!signal.aborted) {
        try {
          await readEventStream(path, {
            signal,
            headers: ref.current.headers,
            onOpen: () => { backoff = 1000; if (opened) ref.current.onRefresh(); opened = true; },
            onEvent: jsonEvents<unknown>(ref.current.events, (name, data) => ref.current.onEvent(name, data)),
          });
          if (signal.aborted || ref.current.isDone?.()) return;
        } catch (e) {
          if (signal.aborted) return;
          if (e instanceof ApiError && (e.status === 404 || e.status === 405)) {
            // No stream here: read again every few seconds for as long as it matters.
            while (!signal.aborted && !ref.current.isDone?.()) {
              await sleep(POLL_MS, signal);
              if (!signal.aborted) ref.current.onRefresh();
            }
            return;
          }
          // Refused: asking again would be refused again.
          if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return;
        }
        await sleep(backoff, signal);
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
        if (!signal.aborted) ref.current.onRefresh();
      }
    })();
    return () => abort.abort();
  }, [path]);
}

/** The tenant's run changes (GET /v1/runs/stream), narrowed by workflow and status as the list is. */
export function useRunChanges(filters: { workflow?: string; status?: string }, onRun: (run: Run) => void, onRefresh: () => void): void {
  useFollow(apiUrl('/v1/runs/stream', { workflow: filters.workflow, status: filters.status }), {
    events: ['run', 'resync'],
    onEvent: (name, data) => { if (name === 'run') onRun(data as Run); else onRefresh(); },
    onRefresh,
  });
}

/** One run's changes (GET /v1/runs/{id}/events) until it ends. */
export function useRunEvents(id: string | null, done: boolean, handlers: { onRun: (run: Run) => void; onStep: (step: StepRecord) => void; onRefresh: () => void }): void {
  const doneRef = useRef(done);
  doneRef.current = done;
  useFollow(id && !done ? `/v1/runs/${encodeURIComponent(id)}/events` : null, {
    events: ['run', 'step'],
    onEvent: (name, data) => { if (name === 'run') handlers.onRun(data as Run); else handlers.onStep(data as StepRecord); },
    onRefresh: handlers.onRefresh,
    isDone: () => doneRef.current,
  });
}

/** A step record put into a list of records (replacing the one with its seq), in execution order. */
export function upsertStep(list: StepRecord[] | undefined, step: StepRecord): StepRecord[] {
  const out = (list ?? []).filter((s) => s.seq !== step.seq);
  out.push(step);
  return out.sort((a, b) => a.seq - b.seq);
}
