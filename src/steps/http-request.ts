/**
 * The pieces of the `http` step that turn templates into a request and an exchange into records:
 * evaluation of method, url, query, headers and body; body encodings (JSON, form, XML, raw);
 * the redacted request and response of the attempt log; decoding answers; status ranges; Retry-After.
 */
import { createHash } from 'node:crypto';
import type { Json, JsonObject } from '../core/types.js';
import { USER_AGENT } from '../core/version.js';
import { objectToXml } from '../core/xml-write.js';
import type { SignatureScheme } from './http-sign.js';
import { StepError, type HttpResponse, type StepContext } from './types.js';

/** How much of a request or response body the attempt log keeps. */
export const RECORDED_BODY_BYTES = 64 * 1024;

/** Header values never written to the attempt log, whatever they hold. */
const SENSITIVE_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-auth-token']);

/** A stable UUID-shaped key for one step execution of one run (same on every attempt and after restarts). */
export function stepExecutionKey(runId: string, seq: number): string {
  const h = createHash('sha256').update(`${runId}:${seq}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A request as the step's templates describe it, before signing (signing is per attempt). */
export interface PreparedRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** The encoded body (what is sent and signed), or undefined. */
  body: string | undefined;
  /** The body as data, before encoding (what a self-callback receives). */
  bodyValue: Json | undefined;
  /** The execution key: Idempotency-Key, X-Http-Task-Guid and webhook-id. */
  key: string;
  secret: string | null;
  scheme: SignatureScheme;
}

function stringHeaders(v: Json): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, val] of Object.entries(v)) if (val !== null) out[k.toLowerCase()] = typeof val === 'string' ? val : JSON.stringify(val);
  }
  return out;
}

const textOf = (v: Json): string => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * The XML document of a `format: xml` body: a string is sent as written; an object with exactly one
 * key holding an object uses that key as the root element (`{ task: { a: 1 } }` → `<task><a>1</a></task>`,
 * the inverse of the reading rule of docs/spec.md §4); any other value goes under a `<root>` element.
 */
export function xmlBody(body: Json): string {
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const keys = Object.keys(body);
    const only = keys.length === 1 ? body[keys[0]] : undefined;
    if (only && typeof only === 'object' && !Array.isArray(only) && !keys[0].startsWith('@') && keys[0] !== '#text') {
      return objectToXml(only, keys[0]);
    }
  }
  return objectToXml(body, 'root');
}

/**
 * Encodes a body and sets its Content-Type unless the step gave one. Without `format`, an object or
 * array is JSON and a string is sent as written (text/plain); `format: json` sends a string as
 * written too (it is taken to be JSON text) but labels it application/json.
 */
export function encodeBody(body: Json, format: string | undefined, headers: Record<string, string>): string | undefined {
  if (body === null || body === undefined) return undefined;
  switch (format) {
    case 'raw':
      headers['content-type'] ??= 'text/plain; charset=utf-8';
      return textOf(body);
    case 'form': {
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
      if (typeof body === 'string') return body;
      const params = new URLSearchParams();
      if (body && typeof body === 'object' && !Array.isArray(body)) {
        for (const [k, v] of Object.entries(body)) {
          if (v === null) continue;
          if (Array.isArray(v)) for (const x of v) params.append(k, textOf(x));
          else params.append(k, textOf(v));
        }
      }
      return params.toString();
    }
    case 'xml':
      headers['content-type'] ??= 'application/xml; charset=utf-8';
      try {
        return xmlBody(body);
      } catch (e) {
        throw new StepError('bad_body', `the body cannot be written as XML: ${(e as Error).message}`);
      }
    case 'json':
      headers['content-type'] ??= 'application/json';
      return typeof body === 'string' ? body : JSON.stringify(body);
    default:
      if (typeof body === 'string') {
        headers['content-type'] ??= 'text/plain; charset=utf-8';
        return body;
      }
      headers['content-type'] ??= 'application/json';
      return JSON.stringify(body);
  }
}

/** Evaluates the step's templates into a request. Throws StepError for a bad URL or a missing secret. */
export async function prepareRequest(ctx: StepContext): Promise<PreparedRequest> {
  const def = ctx.step.def;
  const f = ctx.step.fields;
  const method = String(f.method ? await f.method.evaluate(ctx.scope) : 'GET').toUpperCase();
  const rawUrl = await f.url.evaluate(ctx.scope);
  let url: URL;
  try {
    url = new URL(String(rawUrl));
  } catch {
    throw new StepError('bad_url', `url is not an absolute URL: ${JSON.stringify(String(rawUrl).slice(0, 200))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new StepError('bad_url', `url must be http or https, not ${url.protocol}`);
  if (f.query) {
    const q = await f.query.evaluate(ctx.scope);
    if (q && typeof q === 'object' && !Array.isArray(q)) {
      for (const [k, v] of Object.entries(q)) if (v !== null) url.searchParams.append(k, textOf(v));
    }
  }
  const headers = f.headers ? stringHeaders(await f.headers.evaluate(ctx.scope)) : {};
  // Credentials in the URL become Basic authorization; the URL (and the attempt log) never carries them.
  if (url.username || url.password) {
    headers.authorization ??= `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  const key = stepExecutionKey(ctx.run.id, ctx.seq);
  headers['x-http-task-guid'] ??= key;
  headers['idempotency-key'] ??= key;
  headers['webhook-id'] ??= key;
  headers['user-agent'] ??= USER_AGENT;
  let bodyValue: Json | undefined;
  let body: string | undefined;
  if (f.body && method !== 'GET' && method !== 'HEAD') {
    bodyValue = await f.body.evaluate(ctx.scope);
    body = encodeBody(bodyValue, def.format as string | undefined, headers);
  }
  let secret: string | null = null;
  if (f.secret) {
    const v = await f.secret.evaluate(ctx.scope);
    if (v === null || v === undefined || v === '' || (typeof v === 'object')) {
      throw new StepError('missing_secret', 'secret evaluated to nothing (is the secret set? PUT /v1/secrets/{name})');
    }
    secret = String(v);
  }
  return { method, url, headers, body, bodyValue, key, secret, scheme: (def.signature as SignatureScheme | undefined) ?? 'standard-webhooks' };
}

/** Header values as the attempt log keeps them: sensitive ones redacted (an Authorization keeps its scheme). */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (!SENSITIVE_HEADERS.has(k.toLowerCase())) out[k] = v;
    else if (/^(authorization|proxy-authorization)$/i.test(k) && /^\S+\s/.test(v)) out[k] = `${v.split(/\s/)[0]} [redacted]`;
    else out[k] = '[redacted]';
  }
  return out;
}

/** The URL as the attempt log keeps it (credentials never appear; prepareRequest moved them). */
function recordedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.toString();
  } catch {
    return url;
  }
}

/** The request of one attempt as recorded: method, url, headers (redacted), body excerpt. */
export function recordRequest(method: string, url: string, headers: Record<string, string>, body: string | undefined, extra: JsonObject = {}): JsonObject {
  const rec: JsonObject = { method, url: recordedUrl(url), headers: redactHeaders(headers) };
  if (body !== undefined) {
    const bytes = Buffer.byteLength(body);
    rec.body = bytes > RECORDED_BODY_BYTES ? Buffer.from(body).subarray(0, RECORDED_BODY_BYTES).toString('utf8') : body;
    if (bytes > RECORDED_BODY_BYTES) rec.body_truncated = true;
  }
  return { ...rec, ...extra };
}

/** The response of one attempt as recorded: status, headers, the first 64 KiB of body, `truncated`. */
export function recordResponse(res: HttpResponse, decoded: Json): JsonObject {
  const cut = res.body.length > RECORDED_BODY_BYTES;
  const rec: JsonObject = {
    status: res.status,
    headers: redactHeaders(res.headers),
    body: cut ? res.body.subarray(0, RECORDED_BODY_BYTES).toString('utf8') : decoded,
  };
  if (cut || res.truncated) rec.truncated = true;
  if (res.truncated) rec.body_bytes_kept = res.body.length;
  if (res.redirects?.length) {
    rec.redirects = res.redirects.map((r) => ({ status: r.status, location: recordedUrl(r.location) }));
    if (res.url) rec.url = recordedUrl(res.url);
  }
  return rec;
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

/** `expect` is one status or range, or a list of them (the definition allows both). */
export function parseExpect(expect: unknown): [number, number][] {
  const list = expect === undefined || expect === null ? [] : Array.isArray(expect) ? expect : [expect];
  if (list.length === 0) return [[200, 299]];
  return list.map((e) => {
    if (typeof e === 'number') return [e, e];
    const [a, b] = String(e).split('-').map((x) => Number(x.trim()));
    return [a, Number.isFinite(b) ? b : a];
  });
}

/** Milliseconds from `now` that a Retry-After header asks for (delta-seconds or an HTTP date). */
export function retryAfterMs(headers: Record<string, string>, now: number): number | undefined {
  const v = headers['retry-after'];
  if (!v) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
