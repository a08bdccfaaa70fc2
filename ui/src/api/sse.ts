/**
 * A Server-Sent Events reader over fetch: it sends the session's Authorization header, or the headers
 * it is given (EventSource cannot, and a token in the URL would reach logs). Used for GET /v1/runs/{id}/events and
 * GET /v1/runs/stream (`event: run` with the run summary JSON).
 */
import { ApiError, toProblem } from './problem.js';
import { authHeaders } from './session.js';

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Splits an event-stream text into events; returns the events and the unfinished rest. */
export function parseSse(buffer: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  const normalized = buffer.replace(/\r\n?/g, '\n');
  const blocks = normalized.split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (data.length) events.push({ event, data: data.join('\n'), id });
  }
  return { events, rest };
}

export interface StreamOptions {
  signal: AbortSignal;
  onEvent: (e: SseEvent) => void;
  /** Called once the stream answered 200 (the headers arrived). */
  onOpen?: () => void;
  /** Headers sent instead of the session's (the launch view sends its key as Authorization: Launch). */
  headers?: Record<string, string>;
}

/**
 * Reads the event stream at `path` until it ends or `signal` aborts. Resolves when the server
 * closes the stream; rejects with ApiError for a non-2xx answer. Reconnecting is the caller's
 * choice (a run's stream ends with the run).
 */
export async function readEventStream(path: string, opts: StreamOptions): Promise<void> {
  const res = await fetch(path, { headers: { Accept: 'text/event-stream', ...(opts.headers ?? authHeaders()) }, signal: opts.signal, cache: 'no-store' });
  if (!res.ok) {
    throw new ApiError(toProblem(res.status, res.statusText, await res.text(), res.headers.get('content-type') ?? ''));
  }
  opts.onOpen?.();
  if (!res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const { events, rest } = parseSse(buffer);
      buffer = rest;
      for (const e of events) opts.onEvent(e);
    }
  } catch (e) {
    if (opts.signal.aborted) return;
    throw e;
  } finally {
    reader.releaseLock();
  }
}

/** Parses each event's data as JSON for the given event names. */
export function jsonEvents<T>(names: string[], handle: (name: string, data: T) => void): (e: SseEvent) => void {
  return (e) => {
    if (!names.includes(e.event)) return;
    try {
      handle(e.event, JSON.parse(e.data) as T);
    } catch {
      // a malformed event is skipped, the stream goes on
    }
  };
}
