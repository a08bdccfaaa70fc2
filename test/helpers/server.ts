/**
 * A real Flowgate server for integration tests: started in-process on an ephemeral port over a fresh
 * temporary data directory, with small helpers to speak HTTP to it as the admin or as any token.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/app/app.js';
import { loadConfig } from '../../src/app/config.js';
import assert from 'node:assert/strict';
import { createTestDatabase, testBackend } from './postgres.js';

import { ApiDocument } from './api-document.js';
export const ADMIN = 'test-admin';

export interface Answer<T = any> {
  status: number;
  headers: Headers;
  /** Parsed JSON when the answer is JSON (problem+json included), else the text. */
  body: T;
  text: string;
}

export interface CallOptions {
  /** A JS value sent as JSON, unless `raw` is given. */
  json?: unknown;
  /** A raw body sent as is, with `type` as its Content-Type. */
  raw?: string | Buffer;
  type?: string;
  /** Bearer token; `null` sends no Authorization. Default: the admin token. */
  token?: string | null;
  tenant?: string;
  headers?: Record<string, string>;
}

export interface TestServer {
  url: string;
  srv: RunningServer;
  call<T = any>(method: string, path: string, opts?: CallOptions): Promise<Answer<T>>;
  /** PUT a workflow (YAML text, or an object sent as JSON); asserts nothing. */
  putWorkflow(id: string, def: string | object, opts?: CallOptions): Promise<Answer>;
  /** PUT a new workflow (YAML text) and assert it was created (201). */
  createWorkflow(id: string, yaml: string): Promise<Answer>;
  /** POST params to a workflow's native trigger (`query` without the leading `?`). */
  trigger(id: string, data?: unknown, query?: string, opts?: CallOptions): Promise<Answer>;
  /** Polls GET /v1/runs/{id} until `until(run)` holds (default: a terminal status). */
  waitRun(id: string, until?: (run: any) => boolean, opts?: CallOptions & { timeoutMs?: number }): Promise<any>;
  /** The number of runs the tenant can see (follows every page). */
  runCount(opts?: CallOptions): Promise<number>;
  close(): Promise<void>;
}

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

let document: ApiDocument | undefined;
const apiDocument = (): ApiDocument => (document ??= new ApiDocument());

/** An answer that disagrees with the OpenAPI document fails the call (FLOWGATE_API_DRIFT_LOG=<file> lists them instead). */
function reportDrift(problems: string[]): void {
  const log = process.env.FLOWGATE_API_DRIFT_LOG;
  if (log) appendFileSync(log, `${problems.join('\n')}\n`);
  else throw new Error(`the answer disagrees with the OpenAPI document (src/http/openapi.ts):\n  ${problems.join('\n  ')}`);
}

/**
 * `env` overrides the environment; outgoing http steps may reach 127.0.0.1 (targets) unless
 * FLOWGATE_HTTP_ALLOW is given. With FLOWGATE_TEST_BACKEND=postgres in the test runner's
 * environment, each server gets a database of its own (test/helpers/postgres.ts), dropped at close.
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-http-'));
  const database = env.FLOWGATE_DATABASE_URL === undefined && testBackend() === 'postgres' ? await createTestDatabase() : null;
  const cfg = loadConfig({ port: 0, dataDir: dir, examples: false, logLevel: process.env.TEST_LOG_LEVEL ?? 'silent' }, {
    FLOWGATE_ADMIN_TOKEN: ADMIN, FLOWGATE_HTTP_ALLOW: '127.0.0.1', ...(database ? { FLOWGATE_DATABASE_URL: database.url, FLOWGATE_MASTER_KEY: 'test-master-key-for-the-postgres-backend' } : {}), ...env,
  });
  let srv: RunningServer;
  try {
    srv = await startServer(cfg);
  } catch (e) {
    await database?.drop();
    throw e;
  }

  const call = async <T = any>(method: string, path: string, opts: CallOptions = {}): Promise<Answer<T>> => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? ADMIN : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (opts.tenant) headers['flowgate-tenant'] = opts.tenant;
    let body: string | Uint8Array<ArrayBuffer> | undefined;
    if (opts.raw !== undefined) {
      body = typeof opts.raw === 'string' ? opts.raw : new Uint8Array(opts.raw);
      if (opts.type) headers['content-type'] = opts.type;
    } else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = opts.type ?? 'application/json';
    }
    const res = await fetch(srv.url + path, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    let parsed: unknown = text;
    if (/json/i.test(res.headers.get('content-type') ?? '') && text !== '') parsed = JSON.parse(text);
    // Every answer the integration suite gets must agree with the OpenAPI document (helpers/api-document.ts).
    const drift = apiDocument().check(method, path, res.status, res.headers.get('content-type'), text);
    if (drift.length) reportDrift(drift);
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  };

  const waitRun = async (id: string, until: (run: any) => boolean = (r) => TERMINAL.has(r.status), opts: CallOptions & { timeoutMs?: number } = {}): Promise<any> => {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    let last: any;
    for (;;) {
      const r = await call('GET', `/v1/runs/${id}`, opts);
      if (r.status !== 200) throw new Error(`GET /v1/runs/${id} answered ${r.status}: ${r.text}`);
      last = r.body;
      if (until(last)) return last;
      if (Date.now() > deadline) throw new Error(`run ${id} did not reach the expected state; last: ${JSON.stringify(last)}`);
      await sleep(20);
    }
  };

  const runCount = async (opts: CallOptions = {}): Promise<number> => {
    let n = 0;
    let cursor: string | null = null;
    do {
      const r: Answer = await call('GET', `/v1/runs?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, opts);
      if (r.status !== 200) throw new Error(`GET /v1/runs answered ${r.status}: ${r.text}`);
      n += r.body.items.length;
      cursor = r.body.next_cursor;
    } while (cursor);
    return n;
  };

  const putWorkflow: TestServer['putWorkflow'] = (id, def, opts = {}) => typeof def === 'string'
    ? call('PUT', `/v1/workflows/${id}`, { raw: def, type: 'application/yaml', ...opts })
    : call('PUT', `/v1/workflows/${id}`, { json: def, ...opts });

  return {
    url: srv.url,
    srv,
    call,
    putWorkflow,
    createWorkflow: async (id, yaml) => {
      const r = await putWorkflow(id, yaml);
      assert.equal(r.status, 201, r.text);
      return r;
    },
    trigger: (id, data = {}, query = '', opts = {}) => call('POST', `/v1/workflows/${id}/runs${query ? `?${query}` : ''}`, { json: data, ...opts }),
    waitRun,
    runCount,
    close: async () => {
      await srv.close();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 20 ms until it returns a truthy value or `timeoutMs` passes. */
export async function until<T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Target {
  url: string;
  requests: Received[];
  close(): Promise<void>;
}

/** A local HTTP server on 127.0.0.1 that records every request and answers with `handler`. */
export async function startTarget(handler: (req: Received, res: ServerResponse, n: number) => void): Promise<Target> {
  const requests: Received[] = [];
  const server = http.createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const got: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(got);
      handler(got, res, requests.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Sends a JSON answer from a target handler. */
export function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
