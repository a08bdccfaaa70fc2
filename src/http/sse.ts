/**
 * Server-Sent Events answers (`GET /v1/runs/{id}/events`, `GET /v1/runs/stream`): the headers, a
 * `retry:` hint, heartbeat comments, an end on shutdown or when the client goes, and bounded
 * buffering for a slow reader.
 *
 * A frame is written at once while the connection takes it. Once the socket's buffer is full
 * (`write` returns false) frames wait in memory until it drains; frames sent with a `key` coalesce
 * there, so only the newest frame of each key waits (a run's newest state replaces the one before
 * it). A reader still so far behind that more than `maxBufferBytes` wait is dropped: the connection
 * is closed and the client reconnects (and re-reads what it shows).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SseSettings {
  /** A `: ping` comment every this many ms keeps proxies from timing the stream out. */
  heartbeatMs: number;
  /** Bytes of frames that may wait for a slow reader before it is dropped. */
  maxBufferBytes: number;
  /** Aborted when the server shuts down: every stream ends. */
  shutdown: AbortSignal;
}

/** What clients wait before reconnecting (the `retry:` field), ms. */
export const SSE_RETRY_MS = 3000;

export interface SseStream {
  /** Sends one event; frames of one `key` coalesce while the reader is behind. */
  send(event: string, data: unknown, key?: string): void;
  /** Ends the stream (idempotent). */
  close(): void;
  readonly closed: boolean;
  /** Called once when the stream ends, whoever ends it. */
  onClose(fn: () => void): void;
  /** Bytes waiting for the reader (tests and metrics). */
  readonly buffered: number;
}

/** The part of a ServerResponse an SseStream writes to (a fake in unit tests). */
export interface SseSink {
  write(chunk: string): boolean;
  end(): void;
  destroy(): void;
  once(event: 'drain', fn: () => void): unknown;
}

/** Sends the event-stream headers and opens the stream on the response. */
export function openSse(req: IncomingMessage, res: ServerResponse, settings: SseSettings): SseStream {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  const stream = sseStream(res, settings);
  // HEAD: the headers say what a GET would stream; the answer ends there.
  if (req.method === 'HEAD') stream.close();
  req.on('close', () => stream.close());
  res.on('close', () => stream.close());
  return stream;
}

export function sseStream(sink: SseSink, settings: SseSettings): SseStream {
  const waiting = new Map<string, string>();
  let buffered = 0;
  let blocked = false;
  let closed = false;
  let seq = 0;
  const closers: Array<() => void> = [];

  const finish = (how: 'end' | 'destroy'): void => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    settings.shutdown.removeEventListener('abort', onShutdown);
    waiting.clear();
    buffered = 0;
    if (how === 'end') sink.end();
    else sink.destroy();
    for (const fn of closers.splice(0)) fn();
  };
  const onShutdown = (): void => finish('end');

  const put = (frame: string): void => {
    if (!sink.write(frame)) {
      blocked = true;
      sink.once('drain', drain);
    }
  };
  const drain = (): void => {
    blocked = false;
    for (const [key, frame] of waiting) {
      waiting.delete(key);
      buffered -= frame.length;
      put(frame);
      if (blocked || closed) return;
    }
  };

  const heartbeat = setInterval(() => {
    if (!blocked) put(': ping\n\n');
  }, settings.heartbeatMs);
  heartbeat.unref();
  if (settings.shutdown.aborted) queueMicrotask(onShutdown);
  else settings.shutdown.addEventListener('abort', onShutdown, { once: true });
  put(`retry: ${SSE_RETRY_MS}\n\n`);

  return {
    send(event, data, key) {
      if (closed) return;
      const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
      if (!blocked) return put(frame);
      const k = key ?? `\u0000${++seq}`;
      const before = waiting.get(k);
      if (before !== undefined) {
        waiting.delete(k);
        buffered -= before.length;
      }
      waiting.set(k, frame);
      buffered += frame.length;
      // Too far behind: drop the reader rather than hold ever more for it.
      if (buffered > settings.maxBufferBytes) finish('destroy');
    },
    close: () => finish('end'),
    get closed() {
      return closed;
    },
    onClose(fn) {
      if (closed) fn();
      else closers.push(fn);
    },
    get buffered() {
      return buffered;
    },
  };
}
