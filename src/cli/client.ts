/**
 * The CLI's HTTP client for the native API (`/v1`, docs/spec.md §4). The CLI never opens the database:
 * every command is one or more requests through this client.
 *
 * - Base URL: `--url`, else `FLOWGATE_URL`, else http://127.0.0.1:8080.
 * - Token: `--token`, else `FLOWGATE_TOKEN`, else the admin token file `<data-dir>/admin-token`
 *   (`FLOWGATE_DATA_DIR`, default `./data`) when it exists.
 * - Tenant: `--tenant` is sent as the `Flowgate-Tenant` header.
 *
 * Failures become a {@link CliError}: problem+json answers keep their status, title, detail and
 * field problems; a server that cannot be reached exits with code 2, everything else with 1.
 */
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { resolve } from 'node:path';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** One line of a problem's `errors` (validation paths, or CSV rows). */
export interface ProblemLine {
  path: string;
  message: string;
}

/** `path: message`, or the message alone when the problem has no path. */
export const problemText = (e: ProblemLine): string => (e.path ? `${e.path}: ${e.message}` : e.message);

/** An error the CLI reports to the user; `exitCode` 1 = API or usage error, 2 = cannot connect. */
export class CliError extends Error {
  readonly exitCode: 1 | 2;
  readonly status?: number;
  readonly title?: string;
  readonly detail?: string;
  readonly type?: string;
  readonly errors: ProblemLine[];
  readonly hint?: string;
  /** The parsed answer body, when the error came from an HTTP answer. */
  readonly body?: unknown;

  constructor(
    message: string,
    opts: {
      exitCode?: 1 | 2; status?: number; title?: string; detail?: string; type?: string;
      errors?: ProblemLine[]; hint?: string; body?: unknown;
    } = {},
  ) {
    super(message);
    this.name = 'CliError';
    this.exitCode = opts.exitCode ?? 1;
    this.status = opts.status;
    this.title = opts.title;
    this.detail = opts.detail;
    this.type = opts.type;
    this.errors = opts.errors ?? [];
    this.hint = opts.hint;
    this.body = opts.body;
  }

  /** The full rendering: the message, one indented line per field problem, then the hint. */
  render(): string {
    const lines = [`error: ${this.message}`];
    for (const e of this.errors) lines.push(`  ${problemText(e)}`);
    if (this.hint) lines.push(`hint: ${this.hint}`);
    return lines.join('\n');
  }
}

export const usageError = (message: string, hint?: string): CliError => new CliError(message, { hint });

export interface GlobalOptions {
  url?: string;
  token?: string;
  tenant?: string;
  json?: boolean;
}

export type TokenSource = 'flag' | 'env' | 'file' | 'none';

export interface ClientConfig {
  /** Base URL without a trailing slash. */
  url: string;
  token?: string;
  tokenSource: TokenSource;
  /** Where the admin token file was looked for (named in the 401 hint). */
  tokenFile: string;
  tenant?: string;
  fetch?: typeof fetch;
}

/** Resolves URL, token and tenant from flags, then environment, then the admin token file. */
export function resolveConfig(
  opts: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): ClientConfig {
  const rawUrl = (opts.url ?? env.FLOWGATE_URL ?? '').trim() || DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(rawUrl);
  } catch {
    throw usageError(`invalid server URL "${rawUrl}"`, 'give a full URL such as http://127.0.0.1:8080');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw usageError(`invalid server URL "${rawUrl}": only http and https are supported`);
  }
  const url = `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
  const tokenFile = resolve(cwd, env.FLOWGATE_DATA_DIR || './data', 'admin-token');

  let token: string | undefined;
  let tokenSource: TokenSource = 'none';
  if (opts.token) {
    token = opts.token;
    tokenSource = 'flag';
  } else if (env.FLOWGATE_TOKEN) {
    token = env.FLOWGATE_TOKEN;
    tokenSource = 'env';
  } else {
    const fromFile = readTokenFile(tokenFile);
    if (fromFile) {
      token = fromFile;
      tokenSource = 'file';
    }
  }
  return { url, token: token?.trim(), tokenSource, tokenFile, tenant: opts.tenant || undefined };
}

function readTokenFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined; // absent or unreadable: the request goes without a token and a 401 explains
  }
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  /** A JSON body (serialised here, sent as application/json). */
  json?: unknown;
  /** A body sent as is, with `contentType`. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Leave out the Flowgate-Tenant header even when a tenant is configured. */
  noTenantHeader?: boolean;
  signal?: AbortSignal;
}

/** An HTTP answer with its body parsed (JSON when it looks like JSON, else text, null when empty). */
export interface ApiAnswer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** One Server-Sent Event. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT',
  'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT',
]);

export class FlowgateClient {
  readonly config: ClientConfig;
  private readonly fetchImpl: typeof fetch;

  constructor(config: ClientConfig) {
    this.config = config;
    this.fetchImpl = config.fetch ?? globalThis.fetch;
  }

  /** `url` + path + query, with undefined/null/empty query values left out. */
  urlFor(path: string, query?: Query): string {
    const u = new URL(this.config.url + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  /** Sends a request; throws only when the server cannot be reached. */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json;q=0.9, */*;q=0.1' };
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    if (this.config.tenant && !opts.noTenantHeader) headers['flowgate-tenant'] = this.config.tenant;
    let body: string | undefined;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    } else if (opts.text !== undefined) {
      body = opts.text;
      headers['content-type'] = opts.contentType ?? 'text/plain; charset=utf-8';
    }
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;
    try {
      return await this.fetchImpl(this.urlFor(path, opts.query), { method, headers, body, signal: opts.signal });
    } catch (err) {
      throw this.networkError(err);
    }
  }

  /** Sends a request and parses the answer; any status ≥ 400 becomes a CliError. */
  async call<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiAnswer<T>> {
    const answer = await this.exchange<T>(method, path, opts);
    if (answer.status >= 400) throw this.problemError(answer);
    return answer;
  }

  /** Sends a request and parses the answer whatever its status (the caller decides what fails). */
  async exchange<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiAnswer<T>> {
    const res = await this.send(method, path, opts);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw this.networkError(err);
    }
    return { status: res.status, headers: res.headers, body: parseBody(text, res.headers.get('content-type')) as T };
  }

  get<T = unknown>(path: string, query?: Query): Promise<T> {
    return this.call<T>('GET', path, { query }).then((a) => a.body);
  }

  /** Every item of a cursor-paged list (`{ items, next_cursor }`, docs/spec.md §8.5). */
  async listAll<T = unknown>(path: string, query: Query = {}): Promise<T[]> {
    const all: T[] = [];
    let cursor: string | null | undefined;
    do {
      const page = await this.get<unknown>(path, { ...query, cursor });
      const { items, next } = readPage<T>(page);
      all.push(...items);
      cursor = next;
    } while (cursor);
    return all;
  }

  /** Opens a Server-Sent Events stream and yields its events until the server closes it. */
  async *events(path: string, opts: { lastEventId?: string; signal?: AbortSignal } = {}): AsyncGenerator<SseEvent> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (opts.lastEventId) headers['last-event-id'] = opts.lastEventId;
    const res = await this.send('GET', path, { headers, signal: opts.signal });
    if (res.status >= 400 || !res.body) {
      const text = await res.text().catch(() => '');
      throw this.problemError({ status: res.status, headers: res.headers, body: parseBody(text, res.headers.get('content-type')) });
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        yield* parser.push(decoder.decode(chunk, { stream: true }));
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw this.networkError(err);
    }
    yield* parser.push(decoder.decode() + '\n\n');
  }

  /** Turns a failed answer into a CliError: problem+json fields, else the status and body text. */
  problemError(answer: ApiAnswer<unknown>): CliError {
    const { status, body } = answer;
    const p = isObject(body) ? body : {};
    const title = typeof p.title === 'string' ? p.title : statusText(status);
    let detail = typeof p.detail === 'string' ? p.detail : undefined;
    if (detail === undefined && typeof body === 'string' && body.trim()) detail = body.trim().slice(0, 500);
    const errors = problemLines(p.errors);
    const message = `${status} ${title}${detail && detail !== title ? `: ${detail}` : ''}`;
    return new CliError(message, {
      status, title, detail, errors, body,
      type: typeof p.type === 'string' ? p.type : undefined,
      hint: this.hintFor(status),
    });
  }

  private hintFor(status: number): string | undefined {
    if (status === 401) {
      if (this.config.tokenSource === 'none') {
        return `no token was given: pass --token or set FLOWGATE_TOKEN (the admin token is kept in ${this.config.tokenFile})`;
      }
      const from = { flag: '--token', env: 'FLOWGATE_TOKEN', file: this.config.tokenFile, none: '' }[this.config.tokenSource];
      return `the token from ${from} was refused: pass a valid one with --token or FLOWGATE_TOKEN`;
    }
    if (status === 403) return 'the token is valid but its role does not allow this (roles: read < trigger < admin)';
    return undefined;
  }

  private networkError(err: unknown): CliError {
    if (err instanceof CliError) return err;
    if (isObject(err) && err.name === 'AbortError') return new CliError('request aborted', { exitCode: 1 });
    const code = errorCode(err);
    const where = 'set the address with --url or FLOWGATE_URL';
    if (code === undefined || CONNECT_CODES.has(code)) {
      const reason = code ?? causeMessage(err);
      return new CliError(`cannot reach Flowgate at ${this.config.url}: is the server running?`, {
        exitCode: 2,
        detail: reason,
        hint: reason ? `${reason}; ${where}` : where,
      });
    }
    return new CliError(`connection to Flowgate at ${this.config.url} failed (${code})`, { exitCode: 2, detail: code });
  }
}

export function createClient(
  opts: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
  cwd?: string,
  fetchImpl?: typeof fetch,
): FlowgateClient {
  return new FlowgateClient({ ...resolveConfig(opts, env, cwd), fetch: fetchImpl });
}

/** Reads `{ items, next_cursor }`; a bare array is accepted as one complete page. */
export function readPage<T>(page: unknown): { items: T[]; next: string | null } {
  if (Array.isArray(page)) return { items: page as T[], next: null };
  if (isObject(page) && Array.isArray(page.items)) {
    return { items: page.items as T[], next: typeof page.next_cursor === 'string' && page.next_cursor ? page.next_cursor : null };
  }
  throw new CliError('unexpected answer from the server: expected a list with "items"', { body: page });
}

/** `errors` of a problem as display lines: `{ path, message }`, or CSV's `{ row, column?, message }`. */
export function problemLines(errors: unknown): ProblemLine[] {
  if (!Array.isArray(errors)) return [];
  return errors.map((e): ProblemLine => {
    if (typeof e === 'string') return { path: '', message: e };
    if (!isObject(e)) return { path: '', message: JSON.stringify(e) };
    const message = typeof e.message === 'string' ? e.message : JSON.stringify(e);
    if (typeof e.path === 'string') return { path: e.path, message };
    if (e.row !== undefined) return { path: `row ${e.row}${e.column !== undefined ? ` (${e.column})` : ''}`, message };
    return { path: '', message };
  });
}

function parseBody(text: string, contentType: string | null): unknown {
  if (text === '') return null;
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function errorCode(err: unknown): string | undefined {
  // fetch wraps socket errors: TypeError('fetch failed', { cause }), the cause possibly an AggregateError.
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length) {
    const e = queue.shift();
    if (!isObject(e) || seen.has(e)) continue;
    seen.add(e);
    if (typeof e.code === 'string') return e.code;
    queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...e.errors);
  }
  return undefined;
}

/** The innermost error message under fetch's generic "fetch failed" (e.g. "bad port"). */
function causeMessage(err: unknown): string | undefined {
  let e: unknown = err;
  let message: string | undefined;
  for (let depth = 0; isObject(e) && depth < 5; depth++) {
    if (typeof e.message === 'string' && e.message && e.message !== 'fetch failed') message = e.message;
    e = e.cause;
  }
  return message;
}

const statusText = (status: number): string => STATUS_CODES[status] ?? `HTTP ${status}`;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Incremental Server-Sent Events parser (WHATWG rules: data lines joined by \n, blank line dispatches). */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;

  *push(text: string): Generator<SseEvent> {
    this.buffer += text;
    let m: RegExpExecArray | null;
    const lineEnd = /\r\n|\r|\n/g;
    let start = 0;
    while ((m = lineEnd.exec(this.buffer)) !== null) {
      // A lone \r at the very end may be the first half of \r\n: wait for more input.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(start, m.index);
      start = m.index + m[0].length;
      const ev = this.line(line);
      if (ev) yield ev;
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return undefined;
      }
      const ev: SseEvent = { event: this.event || 'message', data: this.data.join('\n'), id: this.id };
      this.data = [];
      this.event = '';
      return ev;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    return undefined;
  }
}
