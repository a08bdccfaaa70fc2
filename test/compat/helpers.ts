/** Small helpers shared by the compatibility and foreach tests: SSE reading and raw HTTP calls. */

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

/**
 * Sends a request written out as raw HTTP/1.1 text (as the seeds show them) over a socket and reads
 * one response (Content-Length framed). Lines may end in \n; they are sent as \r\n.
 */
export async function rawHttp(base: string, text: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { connect } = await import('node:net');
  const url = new URL(base);
  const wire = text.replace(/\r?\n/g, '\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(wire));
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(head[0].split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (buf.length - end - 4 < length) return;
      socket.destroy();
      resolve({ status, headers, body: buf.subarray(end + 4, end + 4 + length).toString('utf8') });
    });
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      reject(new Error('no complete response in 5 s'));
    }, 5000).unref();
  });
}
