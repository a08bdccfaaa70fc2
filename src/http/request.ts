/** Reading what a request carries: bodies under the size limit, query values, the caller's tenant. */
import { FlowgateError, validationFailed } from '../core/errors.js';
import { mediaType, parseJsonBody, parseParamsBody, readBody } from './body.js';
import type { Ctx } from './context.js';

let maxBodyBytes = 1024 * 1024;
export const setMaxBodyBytes = (n: number): void => {
  maxBodyBytes = n;
};

export const rawBody = (ctx: Ctx): Promise<Buffer> => readBody(ctx.req, ctx.res, maxBodyBytes);

/** A JSON object body (400 when it is not one). */
export async function jsonObjectBody(ctx: Ctx): Promise<Record<string, unknown>> {
  return jsonObjectOf(ctx, await rawBody(ctx));
}

/** The JSON object in body bytes already read (e.g. checked against a signature first). */
export function jsonObjectOf(ctx: Ctx, bytes: Buffer): Record<string, unknown> {
  if (bytes.length === 0) return {};
  const value = parseJsonBody(bytes, mediaType(ctx.req).charset);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FlowgateError('malformed_body', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** A trigger's params: JSON object, form or XML body. */
export async function paramsBody(ctx: Ctx): Promise<Record<string, unknown>> {
  return paramsOf(ctx, await rawBody(ctx));
}

/** A trigger's params from body bytes already read. */
export function paramsOf(ctx: Ctx, bytes: Buffer): Record<string, unknown> {
  return parseParamsBody(bytes, ctx.req.headers['content-type']);
}

/** An integer query parameter clamped to [min, max]; a missing or unparsable one gives `fallback`. */
export function clampedInt(ctx: Ctx, name: string, fallback: number, min: number, max: number): number {
  const raw = ctx.query.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Math.trunc(Number(raw));
  if (!Number.isFinite(n)) return fallback;
  return Math.min(max, Math.max(min, n));
}

/** A timestamp query parameter (ISO 8601 or epoch ms); 422 when unparsable. */
export function timeQuery(ctx: Ctx, name: string): number | undefined {
  const raw = ctx.query.get(name);
  if (raw === null || raw === '') return undefined;
  const t = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (Number.isNaN(t)) throw validationFailed([{ path: name, message: 'must be an ISO 8601 timestamp or epoch milliseconds' }], 'Invalid query');
  return t;
}

/**
 * The `cursor` of a paged list, checked against the shape of the `next_cursor` that list hands out:
 * anything else is a 400 (a cursor is never guessed at, and never silently means the first page).
 */
export function cursorQuery(ctx: Ctx, shape: RegExp): string | undefined {
  const raw = ctx.query.get('cursor');
  if (raw === null || raw === '') return undefined;
  if (!shape.test(raw)) {
    throw new FlowgateError('bad_request', 'the cursor is not one this list handed out', {
      errors: [{ path: 'cursor', message: 'must be the next_cursor of a previous page' }],
    });
  }
  return raw;
}

/** One entity tag of an `If-Match` / `If-None-Match` list. */
export interface EntityTag {
  /** The tag with its quotes, as `ETag` sends it. */
  tag: string;
  weak: boolean;
}

const ENTITY_TAG = /^(W\/)?("[\x21\x23-\x7e\x80-\xff]*")$/;

/**
 * An `If-Match` / `If-None-Match` header (RFC 9110 §13.1): `*`, or a list of entity tags; undefined
 * when absent. A value that is neither is a 400 (it cannot be evaluated, and guessing would let a
 * write through that its sender meant to be conditional).
 */
export function entityTags(ctx: Ctx, name: 'if-match' | 'if-none-match'): '*' | EntityTag[] | undefined {
  const raw = ctx.req.headers[name];
  if (raw === undefined) return undefined;
  const value = (Array.isArray(raw) ? raw.join(',') : raw).trim();
  if (value === '*') return '*';
  const tags: EntityTag[] = [];
  for (const part of value.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const m = ENTITY_TAG.exec(item);
    if (!m) throw new FlowgateError('bad_request', `the ${name === 'if-match' ? 'If-Match' : 'If-None-Match'} header is not * or a list of entity tags`);
    tags.push({ tag: m[2], weak: m[1] !== undefined });
  }
  if (tags.length === 0) throw new FlowgateError('bad_request', `the ${name === 'if-match' ? 'If-Match' : 'If-None-Match'} header is empty`);
  return tags;
}

export function header(ctx: Ctx, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
