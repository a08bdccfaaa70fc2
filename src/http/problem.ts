/**
 * Writing answers: JSON bodies and RFC 9457 problem documents (`application/problem+json`).
 *
 * Every FlowgateError becomes `{ type, title, status, detail, instance?, errors?, ...extra }` with the
 * error's own headers (WWW-Authenticate, Retry-After, …). Any other error is a 500 `internal` problem
 * that reveals nothing of the error: the caller logs it.
 */
import type { ServerResponse, OutgoingHttpHeaders } from 'node:http';
import { ERRORS, FlowgateError, problemType, type FieldProblem } from '../core/errors.js';
import { setOwn } from '../core/path.js';
import { isConnectionClose } from './body.js';

export const JSON_TYPE = 'application/json; charset=utf-8';
export const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldProblem[];
  [extra: string]: unknown;
}

const RESERVED = new Set(['type', 'title', 'status', 'detail', 'instance', 'errors']);
const INTERNAL_DETAIL = 'The server could not complete the request. It has been logged.';

/** The problem document for any error; non-Flowgate errors yield a generic 500 with no details. */
export function problemBody(error: unknown, instance?: string): ProblemDocument {
  if (!(error instanceof FlowgateError)) {
    const internal = ERRORS.internal;
    const body: ProblemDocument = { type: problemType('internal'), title: internal.title, status: internal.status, detail: INTERNAL_DETAIL };
    if (instance !== undefined) body.instance = instance;
    return body;
  }
  const body: ProblemDocument = {
    type: problemType(error.code),
    title: ERRORS[error.code].title,
    status: error.status,
    detail: error.message,
  };
  if (instance !== undefined) body.instance = instance;
  if (error.errors && error.errors.length > 0) body.errors = error.errors;
  if (error.extra) {
    for (const [key, value] of Object.entries(error.extra)) {
      // Extension members never override the standard ones.
      if (!RESERVED.has(key) && value !== undefined) body[key] = value;
    }
  }
  return body;
}

/** Sends `body` as JSON with the given status. Safe to call on a response that has already started. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: OutgoingHttpHeaders): void {
  send(res, status, JSON_TYPE, JSON.stringify(body) ?? 'null', headers);
}

/**
 * Answers `error` as application/problem+json. A FlowgateError keeps its status and headers; anything
 * else is a 500 `internal` problem without its message or stack (log it before calling this).
 * When the response has already started, the connection is cut instead (a half-sent body must not
 * look complete).
 */
export function sendProblem(res: ServerResponse, error: unknown, instance?: string): void {
  const body = problemBody(error, instance);
  const headers: OutgoingHttpHeaders = {};
  if (error instanceof FlowgateError && error.headers) {
    for (const [name, value] of Object.entries(error.headers)) headers[name] = value;
  }
  if (body.status === 401 && !hasHeader(headers, 'www-authenticate')) {
    headers['WWW-Authenticate'] = 'Bearer';
  }
  send(res, body.status, PROBLEM_TYPE, JSON.stringify(body), headers);
}

/** Sends a text body (for example XML or CSV) with the given content type. */
export function sendText(res: ServerResponse, status: number, contentType: string, text: string | Buffer, headers?: OutgoingHttpHeaders): void {
  send(res, status, contentType, text, headers);
}

function hasHeader(headers: OutgoingHttpHeaders, lowerName: string): boolean {
  return Object.keys(headers).some((name) => name.toLowerCase() === lowerName);
}

function send(res: ServerResponse, status: number, contentType: string, payload: string | Buffer, headers?: OutgoingHttpHeaders): void {
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    // Too late to change the status: cut the connection so the client sees a broken answer.
    res.destroy();
    return;
  }
  // A string body goes out as is (Node writes it with the header in one piece); its length in bytes.
  const length = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
  const all: OutgoingHttpHeaders = {};
  if (headers) for (const name of Object.keys(headers)) setOwn(all, name, headers[name]);
  all['Content-Type'] = contentType;
  all['Content-Length'] = length;
  if (isConnectionClose(res)) all['Connection'] = 'close';
  try {
    res.writeHead(status, all);
    res.end(payload);
  } catch {
    // Invalid header values from a caller, or a socket that died between the checks above.
    if (!res.headersSent) {
      try {
        const fallback = Buffer.from(JSON.stringify(problemBody(undefined)), 'utf8');
        res.writeHead(500, { 'Content-Type': PROBLEM_TYPE, 'Content-Length': fallback.length });
        res.end(fallback);
        return;
      } catch {
        // fall through
      }
    }
    res.destroy();
  }
}
