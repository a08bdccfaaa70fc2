/**
 * The one way the console speaks to the server: `/v1/...` with the session's Authorization, JSON
 * in and out, problem+json answers thrown as ApiError. Pages call the typed functions of
 * ui/src/api/, never fetch.
 */
import { ApiError, toProblem } from './problem.js';
import { authHeaders, clearSession, readSession, type Session } from './session.js';

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** A value sent as JSON. */
  json?: unknown;
  /** A raw body with its content type (YAML definitions, CSV files). */
  body?: BodyInit;
  type?: string;
  query?: Record<string, string | number | undefined | null>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Use this session instead of the stored one (signing in checks a token before keeping it). */
  session?: Session;
  /** Headers that name the caller instead of any session (a launch-in-context key); a 401 then leaves the session alone. */
  caller?: Record<string, string>;
  /** A non-2xx answer this returns true for is handed back instead of thrown (e.g. a run's own error reply). */
  accept?: (res: Response) => boolean;
}

/** A 401 on a stored session means the token stopped working: forget it (the shell shows sign-in). */
let onUnauthorized: (() => void) | null = () => clearSession();
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

export function apiUrl(path: string, query?: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** The raw answer of an API request; non-2xx answers throw ApiError. */
export async function apiFetch(path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...(opts.caller ?? authHeaders(opts.session ?? readSession())), ...opts.headers };
  let body = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['Content-Type'] = 'application/json';
  } else if (opts.type) headers['Content-Type'] = opts.type;
  const res = await fetch(apiUrl(path, opts.query), { method: opts.method ?? 'GET', headers, body, signal: opts.signal });
  if (!res.ok && !opts.accept?.(res)) {
    const text = await res.text();
    const problem = toProblem(res.status, res.statusText, text, res.headers.get('content-type') ?? '');
    if (res.status === 401 && !opts.session && !opts.caller) onUnauthorized?.();
    throw new ApiError(problem);
  }
  return res;
}

/** An API request whose answer is JSON (undefined for 204). */
export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await apiFetch(path, opts);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}
