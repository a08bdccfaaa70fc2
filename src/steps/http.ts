/**
 * The `http` step (docs/spec.md §6): one outgoing request per attempt, described by templates and performed
 * through the HttpPort. Every attempt of one step execution carries the same idempotency headers
 * (`Idempotency-Key`, `X-Http-Task-Guid`, `webhook-id`: the execution key of run id and record seq).
 *
 * - A failure under the `retry` policy becomes a `retry` outcome: the engine parks the run on a
 *   durable timer and executes the step again with attempt + 1 under the same record.
 * - `follow_async`: a 202 with a Location parks the run (a `sleep` outcome whose state is the
 *   record's output) and `resume` polls the Location until a non-202 answer or the deadline.
 * - A POST to the run's own callback URL goes to the engine (`ctx.selfCallback`), not the network.
 */
import { childSpan, traceHeaders, traceOfRun } from '../core/trace.js';
import { exceedsDepth, tooDeepMessage } from '../core/depth.js';
import { parseDuration } from '../core/duration.js';
import type { Attempt, Json, JsonObject } from '../core/types.js';
import { sign } from './http-sign.js';
import {
  decodeBody, parseExpect, prepareRequest, recordRequest, recordResponse, retryAfterMs, type PreparedRequest,
} from './http-request.js';
import { HttpFailure, type HttpResponse, type Outcome, type Resumption, type StepContext, type StepKind } from './types.js';

export { decodeBody, stepExecutionKey } from './http-request.js';

const DEFAULT_MAX_RESPONSE = 10 * 1024 * 1024;
const DEFAULT_TIMEOUT = '30s';
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_FOLLOW_TIMEOUT = '1h';
/** Poll interval of follow_async when the 202 names no Retry-After: 1 s, doubling, at most 30 s. */
const FIRST_POLL_MS = 1000;
const MAX_POLL_MS = 30_000;
/** Failed polls in a row (network errors, 5xx, 429) tolerated before follow_async gives up. */
const DEFAULT_POLL_FAILURES = 3;
const REDIRECT_STATUSES = [301, 302, 303, 307, 308];

export interface RetryPolicy {
  max_attempts?: number;
  backoff?: 'exponential' | 'fixed';
  initial?: string;
  max?: string;
  on?: (string | number)[];
}

/** Failure classes a retry policy's `on` list may name for a failure. */
function retryClass(err: { status?: number; network?: boolean }): string[] {
  if (err.network) return ['network'];
  const s = err.status ?? 0;
  const classes = [String(s)];
  if (s >= 500) classes.push('5xx');
  if (s === 429) classes.push('429');
  return classes;
}

/** When the next attempt may start, or null when the policy says stop. Jitter only adds; never before Retry-After. */
export function nextAttemptAt(policy: RetryPolicy | undefined, attempt: number, failure: { status?: number; network?: boolean; retryAfterMs?: number }, now: number): number | null {
  const max = policy?.max_attempts ?? 1;
  if (!policy || attempt >= max) return null;
  const on = (policy.on ?? ['network', '5xx', '429']).map(String);
  if (!retryClass(failure).some((c) => on.includes(c))) return null;
  const initial = parseDuration(policy.initial ?? '1s');
  const cap = parseDuration(policy.max ?? '5m');
  const base = policy.backoff === 'fixed' ? Math.min(cap, initial) : Math.min(cap, initial * 2 ** (attempt - 1));
  const jitter = Math.random() * base * 0.2;
  return Math.ceil(now + Math.max(base + jitter, failure.retryAfterMs ?? 0));
}

/** Error classes of HttpPort failures that count as `network` for `retry.on` (the rest never retry). */
const NETWORK_CLASSES = new Set(['network', 'timeout', 'connect_timeout']);

interface Failure {
  code: string;
  message: string;
  retryable: boolean;
}

function asFailure(e: unknown): Failure {
  const err = e as Error & { code?: unknown; retryable?: unknown };
  const code = typeof err?.code === 'string' && err.code !== '' ? err.code : 'network';
  const retryable = e instanceof HttpFailure ? e.retryable : err?.retryable !== false;
  return { code, message: err?.message ?? String(e), retryable: retryable && NETWORK_CLASSES.has(code) };
}

/** The step's settings that do not depend on data. */
function settings(ctx: StepContext) {
  const def = ctx.step.def;
  const timeoutMs = parseDuration((def.timeout as string | undefined) ?? DEFAULT_TIMEOUT);
  const connectTimeoutMs = Math.min(timeoutMs, def.connect_timeout ? parseDuration(def.connect_timeout as string) : DEFAULT_CONNECT_TIMEOUT_MS);
  const expect = parseExpect(def.expect);
  // A step that expects a redirect status gets it instead of its target.
  const followRedirects = !REDIRECT_STATUSES.some((s) => expect.some(([a, b]) => s >= a && s <= b));
  const fa = def.follow_async;
  const follow = fa === true || (fa !== null && typeof fa === 'object')
    ? { timeoutMs: parseDuration(((fa as { timeout?: string }).timeout) ?? DEFAULT_FOLLOW_TIMEOUT) }
    : null;
  return {
    timeoutMs, connectTimeoutMs, expect, followRedirects, follow,
    tlsVerify: def.tls_verify !== false,
    maxResponseBytes: (def.max_response_bytes as number | undefined) ?? DEFAULT_MAX_RESPONSE,
    policy: def.retry as RetryPolicy | undefined,
  };
}
type Settings = ReturnType<typeof settings>;

/** The result of one exchange, with its attempt record. */
type Exchange =
  | { ok: true; res: HttpResponse; decoded: Json; attempt: Partial<Attempt>; request: JsonObject }
  | { ok: false; failure: Failure; attempt: Partial<Attempt>; request: JsonObject };

/** Signs (per attempt: a fresh timestamp) and sends one request through the HttpPort. */
async function send(ctx: StepContext, s: Settings, prep: PreparedRequest, target: { method: string; url: URL; body: string | undefined; headers: Record<string, string> }): Promise<Exchange> {
  const headers = { ...target.headers };
  // The run's trace goes on, as a new span per attempt, unless the step sends its own traceparent.
  const trace = traceOfRun(ctx.run);
  if (trace && !Object.keys(headers).some((k) => k.toLowerCase() === 'traceparent')) Object.assign(headers, traceHeaders(childSpan(trace)));
  const url = new URL(target.url);
  if (prep.secret !== null) {
    const signed = sign(prep.scheme, prep.secret, headers['webhook-id'] ?? prep.key, ctx.now(), target.body);
    Object.assign(headers, signed.headers);
    for (const [k, v] of Object.entries(signed.query)) url.searchParams.set(k, v);
  }
  const request = recordRequest(target.method, url.toString(), headers, target.body);
  const started = ctx.now();
  try {
    const res = await ctx.http.request({
      method: target.method, url: url.toString(), headers, body: target.body,
      timeoutMs: s.timeoutMs, connectTimeoutMs: s.connectTimeoutMs, tlsVerify: s.tlsVerify,
      maxResponseBytes: s.maxResponseBytes, followRedirects: s.followRedirects,
    });
    const decoded = decodeBody(res);
    if (exceedsDepth(decoded)) {
      // Held to the nesting limit like any value that enters a run; recorded as text, never retried.
      const message = tooDeepMessage(`the answer of ${target.method} ${url.origin}${url.pathname}`);
      const failure: Failure = { code: 'too_deep', message, retryable: false };
      const response = recordResponse(res, res.body.toString('utf8'));
      return { ok: false, failure, request, attempt: { request, response, duration_ms: ctx.now() - started, error: { class: 'too_deep', message } } };
    }
    return { ok: true, res, decoded, request, attempt: { request, response: recordResponse(res, decoded), duration_ms: ctx.now() - started } };
  } catch (e) {
    const failure = asFailure(e);
    return { ok: false, failure, request, attempt: { request, duration_ms: ctx.now() - started, error: { class: failure.code, message: failure.message } } };
  }
}

/** A POST to this run's own callback URL: handled by the engine, recorded like an exchange. */
async function sendToSelf(ctx: StepContext, prep: PreparedRequest): Promise<Exchange> {
  const request = recordRequest(prep.method, prep.url.toString(), prep.headers, prep.body, { internal: true });
  const v = prep.bodyValue;
  let body: JsonObject;
  if (v && typeof v === 'object' && !Array.isArray(v)) body = v;
  else if (typeof v === 'string' && /^\s*\{/.test(v)) {
    try {
      body = JSON.parse(v) as JsonObject;
    } catch {
      body = { body: v };
    }
  } else body = v === undefined || v === null ? {} : { body: v };
  const started = ctx.now();
  const answer = await ctx.selfCallback!(body);
  const text = JSON.stringify(answer.body);
  const res: HttpResponse = { status: answer.status, headers: { 'content-type': 'application/json' }, body: Buffer.from(text), truncated: false };
  return { ok: true, res, decoded: answer.body, request, attempt: { request, response: recordResponse(res, answer.body), duration_ms: ctx.now() - started } };
}

function isSelfCallback(ctx: StepContext, prep: PreparedRequest): boolean {
  if (!ctx.selfCallback || prep.method !== 'POST') return false;
  const own = (ctx.scope.vars.run as { callback_url?: unknown } | undefined)?.callback_url;
  if (typeof own !== 'string' || own === '') return false;
  try {
    const base = new URL(own).toString();
    const url = prep.url.toString();
    return url === base || url.startsWith(`${base}?`) || url.startsWith(`${base}/`);
  } catch {
    return false;
  }
}

const outputOf = (res: HttpResponse, decoded: Json): JsonObject => ({
  status: res.status, headers: res.headers, body: decoded, ...(res.truncated ? { truncated: true } : {}),
});

/** What follow_async keeps on the record (as its output) between polls. */
interface FollowState {
  location: string;
  deadline: number;
  polls: number;
  failures: number;
  /** The interval used for the last poll without Retry-After (grows). */
  interval: number;
}

function readFollow(ctx: StepContext): FollowState | null {
  const out = ctx.record?.output;
  if (!out || typeof out !== 'object' || Array.isArray(out)) return null;
  const f = (out as JsonObject).follow;
  if (!f || typeof f !== 'object' || Array.isArray(f) || typeof f.location !== 'string') return null;
  return f as unknown as FollowState;
}

/** Parks until the next poll of `state.location`. */
function parkFollow(ctx: StepContext, state: FollowState, ex: Exchange & { ok: true } | null, attempt: Partial<Attempt>, waitMs: number, input: Json): Outcome {
  const until = Math.min(ctx.now() + waitMs, state.deadline);
  const last: JsonObject = ex ? outputOf(ex.res, ex.decoded) : (ctx.record?.output as JsonObject | null) ?? {};
  return {
    kind: 'sleep', until, input, attempt,
    output: { ...last, follow: { ...state } as unknown as Json, next_poll_at: new Date(until).toISOString() },
  };
}

/** The 202's own wait before the next poll: Retry-After when given, else a growing interval. */
function pollWait(res: HttpResponse, now: number, state: FollowState): { wait: number; interval: number } {
  const ra = retryAfterMs(res.headers, now);
  if (ra !== undefined) return { wait: ra, interval: state.interval };
  const interval = state.polls === 0 ? FIRST_POLL_MS : Math.min(MAX_POLL_MS, state.interval * 2);
  return { wait: interval, interval };
}

/** A 202 with a Location under follow_async: the Location to poll (absolute), else null. */
function asyncLocation(s: Settings, ex: Exchange): string | null {
  if (!s.follow || !ex.ok || ex.res.status !== 202) return null;
  const loc = ex.res.headers.location;
  if (!loc) return null;
  try {
    return new URL(loc, ex.res.url ?? String((ex.request as { url?: string }).url)).toString();
  } catch {
    return null;
  }
}

/** The final answer (or failure) of the step execution: expect, retry policy, save_as and merge. */
function settle(ctx: StepContext, s: Settings, ex: Exchange, input: Json, mayRetry: boolean): Outcome {
  const now = ctx.now();
  if (!ex.ok) {
    const { failure } = ex;
    const error = { code: failure.code, message: failure.message };
    const at = mayRetry && failure.retryable ? nextAttemptAt(s.policy, ctx.attempt, { network: true }, now) : null;
    if (at !== null) return { kind: 'retry', at, input, attempt: ex.attempt, error };
    return { kind: 'fail', error, input, attempt: ex.attempt };
  }
  const { res, decoded } = ex;
  const output = outputOf(res, decoded);
  const ok = s.expect.some(([a, b]) => res.status >= a && res.status <= b);
  if (!ok) {
    const where = (() => {
      try {
        const u = new URL(String((ex.request as { url?: string }).url));
        return `${u.origin}${u.pathname}`;
      } catch {
        return 'the target';
      }
    })();
    const error = { code: 'http_status', message: `${String((ex.request as { method?: string }).method)} ${where} answered ${res.status}` };
    const attempt = { ...ex.attempt, error: { class: `status_${res.status}`, message: error.message } };
    const at = mayRetry ? nextAttemptAt(s.policy, ctx.attempt, { status: res.status, retryAfterMs: retryAfterMs(res.headers, now) }, now) : null;
    if (at !== null) return { kind: 'retry', at, input, attempt, error };
    return { kind: 'fail', error, input, output, attempt };
  }
  const def = ctx.step.def;
  // Spreads define own properties, so a `__proto__` key in an answer stays plain data.
  let data: JsonObject = { ...ctx.scope.data };
  if (typeof def.save_as === 'string') data = { ...data, [def.save_as]: output };
  if (def.merge === true && decoded && typeof decoded === 'object' && !Array.isArray(decoded)) data = { ...data, ...decoded };
  return { kind: 'continue', data, input, output, attempt: ex.attempt };
}

/** Headers of a poll: the step's headers without body headers; credentials only to the same origin. */
function pollHeaders(prep: PreparedRequest, location: URL): Record<string, string> {
  const out: Record<string, string> = {};
  const sameOrigin = location.origin === prep.url.origin;
  for (const [k, v] of Object.entries(prep.headers)) {
    if (k === 'content-type' || k === 'content-length') continue;
    if (!sameOrigin && (k === 'authorization' || k === 'cookie' || k === 'proxy-authorization')) continue;
    out[k] = v;
  }
  return out;
}

export const httpStep: StepKind = {
  type: 'http',
  async execute(ctx: StepContext): Promise<Outcome> {
    const s = settings(ctx);
    const prep = await prepareRequest(ctx);
    const ex = isSelfCallback(ctx, prep)
      ? await sendToSelf(ctx, prep)
      : await send(ctx, s, prep, { method: prep.method, url: prep.url, body: prep.body, headers: prep.headers });
    const input = ex.request;
    const location = asyncLocation(s, ex);
    if (location && ex.ok) {
      const state: FollowState = { location, deadline: ctx.now() + s.follow!.timeoutMs, polls: 0, failures: 0, interval: 0 };
      const { wait, interval } = pollWait(ex.res, ctx.now(), state);
      return parkFollow(ctx, { ...state, interval }, ex, ex.attempt, wait, input);
    }
    return settle(ctx, s, ex, input, true);
  },

  /** follow_async: the timer of the next poll fired. */
  async resume(ctx: StepContext, why: Resumption): Promise<Outcome> {
    const state = readFollow(ctx);
    const input = ctx.record?.input ?? null;
    if (why.kind !== 'timer' || !state) {
      return { kind: 'fail', error: { code: 'follow_state_lost', message: 'the http step was resumed without its follow_async state' }, input };
    }
    const s = settings(ctx);
    const prep = await prepareRequest(ctx);
    const location = new URL(state.location);
    const ex = await send(ctx, s, prep, { method: 'GET', url: location, body: undefined, headers: pollHeaders(prep, location) });
    const now = ctx.now();
    const polls = state.polls + 1;
    const next = asyncLocation(s, ex);
    if (next && ex.ok) {
      if (now >= state.deadline) {
        const message = `follow_async: ${state.location} still answered 202 after ${Math.round((s.follow!.timeoutMs) / 1000)} s`;
        return { kind: 'fail', error: { code: 'async_timeout', message }, input, output: outputOf(ex.res, ex.decoded), attempt: { ...ex.attempt, error: { class: 'timeout', message } } };
      }
      const { wait, interval } = pollWait(ex.res, now, { ...state, polls });
      return parkFollow(ctx, { ...state, location: next, polls, failures: 0, interval }, ex, ex.attempt, wait, input);
    }
    // A transient poll failure (network, 5xx, 429) is tried again at the next interval, within limits.
    const transient = ex.ok ? ex.res.status >= 500 || ex.res.status === 429 : ex.failure.retryable;
    const limit = Math.max(DEFAULT_POLL_FAILURES, s.policy?.max_attempts ?? 0);
    if (transient && state.failures + 1 < limit && now < state.deadline) {
      const attempt = ex.ok ? { ...ex.attempt, error: { class: `status_${ex.res.status}`, message: `poll answered ${ex.res.status}` } } : ex.attempt;
      const wait = ex.ok ? Math.max(retryAfterMs(ex.res.headers, now) ?? 0, FIRST_POLL_MS) : FIRST_POLL_MS * 2 ** state.failures;
      return parkFollow(ctx, { ...state, polls, failures: state.failures + 1 }, null, attempt, wait, input);
    }
    return settle(ctx, s, ex, input, false);
  },
};
