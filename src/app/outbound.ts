/**
 * The outgoing HTTP client behind the `http` step (undici). Deadlines are enforced with an abort
 * signal over the whole exchange, and response bodies are capped while they stream.
 */
import { Agent, request } from 'undici';
import type { HttpPort, HttpRequest, HttpResponse } from '../steps/types.js';

export class OutboundError extends Error {
  constructor(readonly code: string, message: string, readonly retryable = true) {
    super(message);
    this.name = 'OutboundError';
  }
}

export class OutboundHttp implements HttpPort {
  private readonly verifying = new Agent({ connect: { timeout: 10_000 }, keepAliveTimeout: 10_000 });
  private readonly trusting = new Agent({ connect: { timeout: 10_000, rejectUnauthorized: false }, keepAliveTimeout: 10_000 });

  async request(r: HttpRequest): Promise<HttpResponse> {
    const signal = AbortSignal.timeout(r.timeoutMs);
    try {
      const res = await request(r.url, {
        method: r.method as 'GET', headers: r.headers, body: r.body, signal,
        dispatcher: r.tlsVerify ? this.verifying : this.trusting,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        if (size + buf.length > r.maxResponseBytes) {
          chunks.push(buf.subarray(0, r.maxResponseBytes - size));
          size = r.maxResponseBytes;
          truncated = true;
          res.body.destroy();
          break;
        }
        chunks.push(buf);
        size += buf.length;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      return { status: res.statusCode, headers, body: Buffer.concat(chunks, size), truncated };
    } catch (e) {
      throw classify(e, signal, r.timeoutMs);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.verifying.close(), this.trusting.close()]);
  }
}

function classify(e: unknown, signal: AbortSignal, timeoutMs: number): OutboundError {
  if (e instanceof OutboundError) return e;
  const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
  if (signal.aborted) return new OutboundError('timeout', `no complete answer within ${timeoutMs} ms`);
  const code = err.code ?? err.cause?.code ?? '';
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(code)) return new OutboundError('tls', `TLS verification failed: ${err.cause?.message ?? err.message}`, false);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new OutboundError('connect_timeout', 'the connection could not be made in time');
  return new OutboundError('network', `${code ? `${code}: ` : ''}${err.cause?.message ?? err.message}`);
}
