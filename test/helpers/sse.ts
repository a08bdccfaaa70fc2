/** A Server-Sent Events reader for tests: opens a stream and yields its parsed events one by one. */

export interface Sse {
  event: string;
  data: any;
}

export interface SseStream {
  res: Response;
  /** The next event, or null at the end of the stream. */
  next: (timeoutMs?: number) => Promise<Sse | null>;
  close: () => void;
}

/** Opens a Server-Sent Events stream with the given headers. */
export async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal: ac.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const queue: Sse[] = [];
  let ended = false;
  const pull = async (): Promise<void> => {
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      return;
    }
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
    let idx: number;
    while ((idx = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, idx);
      buffer = buffer.slice(idx + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) queue.push({ event, data: JSON.parse(data.join('\n')) });
    }
  };
  const next = async (timeoutMs = 5000): Promise<Sse | null> => {
    const deadline = Date.now() + timeoutMs;
    while (queue.length === 0 && !ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no SSE event in time');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([pull(), new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('no SSE event in time')), left); })]);
      clearTimeout(timer);
    }
    return queue.shift() ?? null;
  };
  return { res, next, close: () => ac.abort() };
}

/** Reads SSE events until `pred` holds for one (returned) or the stream ends (null). */
export async function sseUntil(stream: SseStream, pred: (e: Sse) => boolean, timeoutMs = 10_000): Promise<{ hit: Sse | null; seen: Sse[] }> {
  const seen: Sse[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await stream.next(Math.max(1, deadline - Date.now()));
    if (e === null) return { hit: null, seen };
    seen.push(e);
    if (pred(e)) return { hit: e, seen };
  }
}
