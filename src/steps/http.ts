/**
 * The `http` step: one outgoing request per attempt, described by templates and performed through
 * the HttpPort. Every attempt of one step execution carries the same idempotency headers.
 */
import { createHash } from 'node:crypto';
import { parseDuration } from '../core/duration.js';
import type { Attempt, Json, JsonObject } from '../core/types.js';
import type { HttpResponse, Outcome, StepContext, StepKind } from './types.js';

const RECORDED_BODY_BYTES = 64 * 1024;
const DEFAULT_MAX_RESPONSE = 10 * 1024 * 1024;

export interface RetryPolicy {
  max_attempts?: number;
  backoff?: 'exponential' | 'fixed';
  initial?: string;
  max?: string;
  on?: (string | number)[];
}

/** A stable UUID-shaped key for one step execution of one run (same on every attempt and after restarts). */
export function stepExecutionKey(runId: string, seq: number): string {
  const h = createHash('sha256').update(`${runId}:${seq}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `expect` is one status or range, or a list of them (the definition allows both). */
function parseExpect(expect: unknown): [number, number][] {
  const list = expect === undefined || expect === null ? [] : Array.isArray(expect) ? expect : [expect];
  if (list.length === 0) return [[200, 299]];
  return list.map((e) => {
    if (typeof e === 'number') return [e, e];
    const [a, b] = String(e).split('-').map((x) => Number(x.trim()));
    return [a, Number.isFinite(b) ? b : a];
  });
}

function stringHeaders(v: Json): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, val] of Object.entries(v)) if (val !== null) out[k.toLowerCase()] = typeof val === 'string' ? val : JSON.stringify(val);
  }
  return out;
}

function encodeBody(body: Json, format: string | undefined, headers: Record<string, string>): string | undefined {
  if (body === null || body === undefined) return undefined;
  if (format === 'raw' || typeof body === 'string') {
    headers['content-type'] ??= 'text/plain; charset=utf-8';
    return typeof body === 'string' ? body : JSON.stringify(body);
  }
  if (format === 'form') {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(body as JsonObject)) params.append(k, typeof v === 'string' ? v : JSON.stringify(v));
    return params.toString();
  }
  headers['content-type'] ??= 'application/json';
  return JSON.stringify(body);
}

/** The response body as data: parsed JSON when it says so (or looks like it), else text. */
export function decodeBody(res: HttpResponse): Json {
  const text = res.body.toString('utf8');
  const ct = res.headers['content-type'] ?? '';
  if (/json/i.test(ct) || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text) as Json;
    } catch {
      return text;
    }
  }
  return text;
}

function retryClass(err: { status?: number; network?: boolean }): string[] {
  if (err.network) return ['network'];
  const s = err.status ?? 0;
  const classes = [String(s)];
  if (s >= 500) classes.push('5xx');
  if (s === 429) classes.push('429');
  return classes;
}

/** When the next attempt may start, or null when the policy says stop. */
export function nextAttemptAt(policy: RetryPolicy | undefined, attempt: number, failure: { status?: number; network?: boolean; retryAfterMs?: number }, now: number): number | null {
  const max = policy?.max_attempts ?? 1;
  if (!policy || attempt >= max) return null;
  const on = (policy.on ?? ['network', '5xx', '429']).map(String);
  if (!retryClass(failure).some((c) => on.includes(c))) return null;
  const initial = parseDuration(policy.initial ?? '1s');
  const cap = parseDuration(policy.max ?? '5m');
  const base = policy.backoff === 'fixed' ? initial : Math.min(cap, initial * 2 ** (attempt - 1));
  const jitter = Math.random() * base * 0.2; // jitter only adds
  return now + Math.max(base + jitter, failure.retryAfterMs ?? 0);
}

function retryAfterMs(headers: Record<string, string>, now: number): number | undefined {
  const v = headers['retry-after'];
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export const httpStep: StepKind = {
  type: 'http',
  async execute(ctx: StepContext): Promise<Outcome> {
    const def = ctx.step.def;
    const f = ctx.step.fields;
    const method = String(f.method ? await f.method.evaluate(ctx.scope) : 'GET').toUpperCase();
    const url = new URL(String(await f.url.evaluate(ctx.scope)));
    if (f.query) {
      const q = await f.query.evaluate(ctx.scope);
      if (q && typeof q === 'object' && !Array.isArray(q)) {
        for (const [k, v] of Object.entries(q)) if (v !== null) url.searchParams.append(k, typeof v === 'string' ? v : JSON.stringify(v));
      }
    }
    const headers = f.headers ? stringHeaders(await f.headers.evaluate(ctx.scope)) : {};
    const key = stepExecutionKey(ctx.run.id, ctx.seq);
    headers['x-http-task-guid'] ??= key;
    headers['idempotency-key'] ??= key;
    const body = f.body && method !== 'GET' && method !== 'HEAD' ? encodeBody(await f.body.evaluate(ctx.scope), def.format as string | undefined, headers) : undefined;
    const timeoutMs = parseDuration((def.timeout as string | undefined) ?? '30s');
    const request: JsonObject = { method, url: url.toString(), headers, ...(body !== undefined ? { body: body.slice(0, RECORDED_BODY_BYTES) } : {}) };

    const started = ctx.now();
    const attemptBase: Partial<Attempt> = { request };
    const policy = def.retry as RetryPolicy | undefined;
    let res: HttpResponse;
    try {
      res = await ctx.http.request({
        method, url: url.toString(), headers, body, timeoutMs,
        tlsVerify: def.tls_verify !== false,
        maxResponseBytes: (def.max_response_bytes as number | undefined) ?? DEFAULT_MAX_RESPONSE,
      });
    } catch (e) {
      const err = e as Error & { code?: string; retryable?: boolean };
      const error = { code: err.code ?? 'network', message: err.message };
      const attempt = { ...attemptBase, error: { class: error.code, message: error.message } };
      const at = err.retryable === false ? null : nextAttemptAt(policy, ctx.attempt, { network: true }, ctx.now());
      if (at !== null) return { kind: 'retry', at, input: request, attempt, error };
      return { kind: 'fail', error, input: request, attempt };
    }
    const duration = ctx.now() - started;
    const decoded = decodeBody(res);
    const recorded = res.body.length > RECORDED_BODY_BYTES ? res.body.subarray(0, RECORDED_BODY_BYTES).toString('utf8') : decoded;
    const response: JsonObject = { status: res.status, headers: res.headers, body: recorded, ...(res.truncated || res.body.length > RECORDED_BODY_BYTES ? { truncated: true } : {}) };
    const attempt: Partial<Attempt> = { ...attemptBase, response, duration_ms: duration };
    const ok = parseExpect(def.expect).some(([a, b]) => res.status >= a && res.status <= b);
    const output: JsonObject = { status: res.status, headers: res.headers, body: decoded };
    if (!ok) {
      const error = { code: 'http_status', message: `${method} ${url.origin}${url.pathname} answered ${res.status}` };
      const at = nextAttemptAt(policy, ctx.attempt, { status: res.status, retryAfterMs: retryAfterMs(res.headers, ctx.now()) }, ctx.now());
      if (at !== null) return { kind: 'retry', at, input: request, attempt: { ...attempt, error: { class: `status_${res.status}`, message: error.message } }, error };
      return { kind: 'fail', error, input: request, output, attempt: { ...attempt, error: { class: `status_${res.status}`, message: error.message } } };
    }
    // Spreads define own properties, so a `__proto__` key in an answer stays plain data.
    let data: JsonObject = { ...ctx.scope.data };
    if (typeof def.save_as === 'string') data = { ...data, [def.save_as]: output };
    if (def.merge === true && decoded && typeof decoded === 'object' && !Array.isArray(decoded)) data = { ...data, ...decoded };
    return { kind: 'continue', data, input: request, output, attempt };
  },
};
