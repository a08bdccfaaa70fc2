/**
 * The fuzzer's HTTP client: node:http with a hard deadline per exchange, so a request the server never
 * answers is a finding ("hang"), not a stuck fuzzer. Sends bytes as given (truncated bodies, odd content
 * types); an event stream is read up to its first event and then closed.
 */
import http from 'node:http';

export interface Outgoing {
  method: string;
  /** Path and query, already percent-encoded. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  ms: number;
}

export type Outcome = { ok: true; reply: Reply } | { ok: false; error: 'timeout' | 'network' | 'refused-by-client'; message: string; ms: number };

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** The first 4 MiB of an answer is kept (a run view with the largest data fits); the rest is read and dropped. */
const KEEP_BYTES = 4 * 1024 * 1024;

export function send(base: string, req: Outgoing, timeoutMs: number): Promise<Outcome> {
  const url = new URL(base);
  const started = performance.now();
  const ms = (): number => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (o: Outcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(o);
    };
    let r: http.ClientRequest;
    try {
      const headers: Record<string, string> = { ...req.headers };
      if (req.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['content-length'] = String(req.body.length);
      r = http.request({ host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent });
    } catch (e) {
      // Node refuses to put some bytes on the wire (a control character in a header, a space in the path).
      finish({ ok: false, error: 'refused-by-client', message: (e as Error).message, ms: 0 });
      return;
    }
    timer = setTimeout(() => {
      r.destroy(new Error('deadline'));
      finish({ ok: false, error: 'timeout', message: `no complete answer within ${timeoutMs} ms`, ms: ms() });
    }, timeoutMs);
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      const stream = /text\/event-stream/i.test(String(res.headers['content-type'] ?? ''));
      res.on('data', (c: Buffer) => {
        if (kept < KEEP_BYTES) {
          chunks.push(c);
          kept += c.length;
        }
        if (stream && Buffer.concat(chunks).includes('\n\n')) {
          // The stream answered its first event: that is its answer; it may legitimately go on for long.
          finish({ ok: true, reply: { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), ms: ms() } });
          res.destroy();
        }
      });
      res.on('end', () => finish({ ok: true, reply: { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), ms: ms() } }));
      res.on('error', (e) => finish({ ok: false, error: 'network', message: e.message, ms: ms() }));
    });
    r.on('error', (e) => finish({ ok: false, error: 'network', message: e.message, ms: ms() }));
    r.end(req.body);
  });
}

/** JSON of an answer, or undefined. */
export function jsonOf(reply: Reply): any {
  try {
    return JSON.parse(reply.text);
  } catch {
    return undefined;
  }
}

export function closeClient(): void {
  agent.destroy();
}
