/**
 * The world the fuzzer attacks: a real `flowgate serve` child process over a fresh data directory, a
 * local target server on 127.0.0.1 for its http steps, and fixtures in two tenants (API keys of every
 * role, a Corezoid API login, the same set of workflows under other ids, and a few tenant-A runs whose
 * data carries a marker that tenant B must never see).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { spawn } from 'node:child_process';
import { sigkill, type ServerProcess } from '../helpers/process.js';
import { startTarget, type Target } from '../helpers/server.js';
import { jsonOf, send, type Outcome } from './client.js';

export const ADMIN_TOKEN = 'fuzz-admin-token';
export const TENANTS = ['alpha', 'beta'] as const;
export type Tenant = (typeof TENANTS)[number];
export type Role = 'read' | 'trigger' | 'admin';
/** Tenant A's private marker: it is in tenant A's run data and workflow names, never in a request of tenant B. */
export const A_MARKER = 'alphaprivatemarker';

/** Server settings that keep every legitimate answer short, so any slow answer is the server's fault. */
export const SERVER_ENV: Record<string, string> = {
  FLOWGATE_HTTP_ALLOW: '127.0.0.1',
  FLOWGATE_MAX_WAIT_SECONDS: '2',
  FLOWGATE_COREZOID_SYNC_MAX_SECONDS: '2',
  FLOWGATE_CSV_MAX_BYTES: String(4 * 1024 * 1024),
  FLOWGATE_MAX_STEPS_PER_RUN: '400',
  FLOWGATE_DELIVERY_MAX_ATTEMPTS: '1',
  FLOWGATE_DELIVERY_TIMEOUT_MS: '1000',
  FLOWGATE_CODE_WORKERS: '1',
};

export interface WorkflowFixture {
  id: string;
  tenant: Tenant;
  /** The fixture's kind (params, regex, expr, foreach, child, wait, http, code, loop). */
  kind: string;
  convId: number;
  hash: string;
  guid: string;
  steps: string[];
}

export interface TenantFixture {
  keys: Record<Role, { id: string; token: string }>;
  login: { login: number; secret: string };
  workflows: WorkflowFixture[];
  /** Every run id known to belong to the tenant (fixtures and acknowledged triggers). */
  runs: string[];
  /** Callback tokens of the tenant's runs (from run views). */
  callbackTokens: string[];
  secretNames: string[];
}

export interface World {
  base: string;
  target: Target;
  proc: ServerProcess;
  dataDir: string;
  tenants: Record<Tenant, TenantFixture>;
  /** Ids and credentials of tenant A that tenant B's answers must never contain unless B's request named them (login numbers are left out: small numbers occur anywhere). */
  aIds(): string[];
  alive(): boolean;
  close(): Promise<void>;
}

/** Definitions of the fixture workflows (YAML). `p` prefixes ids; `target` is the local target's URL. */
export function fixtureDefinitions(p: string, target: string): Record<string, string> {
  const name = p === 'alpha' ? ` ${A_MARKER}` : '';
  return {
    params: `id: ${p}-params
name: params${name}
params:
  name: { type: string, pattern: "^[a-z]+$", maxLength: 64 }
  amount: { type: number, minimum: 0, maximum: 1000000 }
  count: { type: integer, default: 1, minimum: 0, maximum: 100 }
  flag: { type: boolean, default: false }
  email: { type: string, format: email }
  when: { type: string, format: date-time }
  tags: { type: array }
  meta: { type: object }
  currency: { type: string, default: EUR, enum: [EUR, USD, GBP] }
steps:
  - { id: compute, type: set, set: { total: "{{ $exists(amount) ? amount * count : 0 }}" } }
  - { id: answer, type: reply, data: { total: "{{ total }}", name: "{{ name }}" } }
`,
    regex: `id: ${p}-regex
name: regex${name}
params:
  word: { type: string, pattern: "^(a+)+$", maxLength: 200 }
  code: { type: string, pattern: "^([a-z0-9]+[-]?)*[a-z0-9]$" }
steps:
  - { id: answer, type: reply, data: { ok: true } }
`,
    expr: `id: ${p}-expr
name: expr${name}
params:
  text: { type: string, maxLength: 200 }
steps:
  - { id: test, type: set, set: { matched: "{{ $exists(text) ? $contains(text, /^(a+)+$/) : false }}" } }
  - { id: answer, type: reply, data: { matched: "{{ matched }}" } }
`,
    child: `id: ${p}-child
name: child${name}
steps:
  - { id: mark, type: set, set: { seen: true } }
`,
    foreach: `id: ${p}-foreach
name: foreach${name}
params:
  items: { type: array, default: [1, 2] }
steps:
  - { id: each, type: foreach, items: "items", workflow: ${p}-child, concurrency: 4 }
  - { id: answer, type: reply, data: { stats: "{{ stats }}" } }
`,
    wait: `id: ${p}-wait
name: wait${name}
params:
  note: { type: string, maxLength: 1000 }
steps:
  - { id: hold, type: wait, timeout: 1h, save_as: got }
  - { id: answer, type: reply, data: { got: "{{ got }}" } }
`,
    http: `id: ${p}-http
name: http${name}
params:
  mode: { type: string, default: ok, enum: [ok, deep, deeper, big, malformed, fail, slow] }
  payload: { type: object }
steps:
  - id: call
    type: http
    method: POST
    url: "${target}/t?mode={{ mode }}"
    body: { payload: "{{ payload }}" }
    timeout: 1s
    save_as: answer
    on_error: failed
  - { id: done, type: reply, data: { status: "{{ answer.status }}" }, next: end }
  - { id: failed, type: reply, status: error, data: { error: "{{ $error.code }}" } }
  - { id: end, type: end }
`,
    code: `id: ${p}-code
name: code${name}
params:
  payload: { type: object }
  n: { type: integer, default: 3, minimum: 0, maximum: 100000 }
steps:
  - id: run
    type: code
    code: |
      let s = 0;
      for (let i = 0; i < data.n; i++) s += i;
      return { sum: s, echo: data.payload === undefined ? null : data.payload };
    on_error: failed
  - { id: done, type: reply, data: { sum: "{{ sum }}" }, next: end }
  - { id: failed, type: reply, status: error, data: { error: "{{ $error.code }}" } }
  - { id: end, type: end }
`,
    loop: `id: ${p}-loop
name: loop${name}
params:
  n: { type: integer, default: 3, minimum: 0, maximum: 1000 }
steps:
  - { id: init, type: set, set: { i: 0 } }
  - { id: step, type: set, set: { i: "{{ i + 1 }}" } }
  - id: again
    type: condition
    cases: [{ when: "i < n", next: step }]
  - { id: answer, type: reply, data: { i: "{{ i }}" } }
`,
  };
}

/** What the local target answers an http step, by the `mode` in its query. Bounded in size and time. */
function answerTarget(url: string, res: ServerResponse): void {
  const mode = new URL(url, 'http://x').searchParams.get('mode') ?? 'ok';
  const json = (status: number, text: string): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (mode === 'deep') json(200, '['.repeat(3300) + ']'.repeat(3300));
  else if (mode === 'deeper') json(200, '{"a":'.repeat(12_000) + '1' + '}'.repeat(12_000));
  else if (mode === 'big') json(200, JSON.stringify({ s: 'x'.repeat(2 * 1024 * 1024) }));
  else if (mode === 'malformed') json(200, '{"a": [1, 2');
  else if (mode === 'fail') json(500, '{"error":"boom"}');
  else if (mode === 'slow') setTimeout(() => json(200, '{"late":true}'), 3000).unref();
  else json(200, '{"ok":true}');
}

const ROOT = new URL('../..', import.meta.url).pathname;

/** `flowgate serve` as a child process on an ephemeral port; a loaded machine may take long to start it, hence the deadline. */
function spawnServer(dataDir: string, logLevel: string, deadlineMs: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--data-dir', dataDir, '--no-examples', '--log-level', logLevel], {
    cwd: ROOT, env: { ...process.env, FLOWGATE_ADMIN_TOKEN: ADMIN_TOKEN, ...SERVER_ENV }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const output = (): string => out.slice(-4000);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within ${deadlineMs} ms:\n${output()}`));
    }, deadlineMs);
    const onData = (chunk: Buffer): void => {
      out = (out + chunk.toString()).slice(-8000);
      const m = /Flowgate is serving on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, child, output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before serving:\n${output()}`));
    });
  });
}

async function must(base: string, method: string, path: string, body: unknown, tenant?: string, type = 'application/json'): Promise<any> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` };
  if (tenant) headers['flowgate-tenant'] = tenant;
  let buf: Buffer | undefined;
  if (body !== undefined) {
    buf = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    headers['content-type'] = type;
  }
  const o: Outcome = await send(base, { method, path, headers, body: buf }, 15_000);
  if (!o.ok) throw new Error(`fixture ${method} ${path}: ${o.message}`);
  if (o.reply.status >= 300) throw new Error(`fixture ${method} ${path} answered ${o.reply.status}: ${o.reply.text.slice(0, 500)}`);
  return jsonOf(o.reply);
}

/** Starts a fresh server and target and creates the fixtures. */
export async function startWorld(opts: { logLevel?: string } = {}): Promise<World> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowgate-fuzz-'));
  const target = await startTarget((req, res) => answerTarget(req.url, res));
  let proc: ServerProcess;
  try {
    proc = await spawnServer(dataDir, opts.logLevel ?? 'fatal', 90_000);
  } catch (e) {
    await target.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const base = proc.url;
  const tenants = {} as Record<Tenant, TenantFixture>;
  for (const t of TENANTS) {
    const keys = {} as TenantFixture['keys'];
    for (const role of ['read', 'trigger', 'admin'] as Role[]) {
      const k = await must(base, 'POST', '/v1/keys', { name: `${t}-${role}`, role, tenant: t });
      keys[role] = { id: k.id, token: k.token };
    }
    const login = await must(base, 'POST', '/v1/api-logins', { name: `${t}-login` }, t);
    const workflows: WorkflowFixture[] = [];
    for (const [kind, yaml] of Object.entries(fixtureDefinitions(t, target.url))) {
      const id = `${t}-${kind}`;
      try {
        await must(base, 'PUT', `/v1/workflows/${id}`, yaml, t, 'application/yaml');
      } catch (e) {
        // A server that refuses a fixture (e.g. a pattern it will not run) is reported, and the fuzzer goes on without it.
        process.stderr.write(`fuzz: fixture ${id} refused: ${(e as Error).message.slice(0, 300)}\n`);
        continue;
      }
      const wf = await must(base, 'GET', `/v1/workflows/${id}`, undefined, t);
      workflows.push({
        id, tenant: t, kind, convId: wf.triggers.conv_id, hash: wf.triggers.hash, guid: wf.triggers.guid,
        steps: (wf.definition.steps as { id: string }[]).map((s) => s.id),
      });
    }
    const secretName = `${t}_secret`;
    await must(base, 'PUT', `/v1/secrets/${secretName}`, { value: `${t}-secret-value` }, t);
    tenants[t] = { keys, login: { login: login.login, secret: login.secret }, workflows, runs: [], callbackTokens: [], secretNames: [secretName] };
  }
  // Tenant A's private runs: the marker is in their data.
  for (const kind of ['params', 'wait']) {
    const wf = tenants.alpha.workflows.find((w) => w.kind === kind);
    if (!wf) continue;
    const body = kind === 'params' ? { name: A_MARKER, amount: 5, meta: { private: A_MARKER } } : { note: A_MARKER };
    const r = await must(base, 'POST', `/v1/workflows/${wf.id}/runs`, body, 'alpha');
    tenants.alpha.runs.push(r.id);
    const view = await must(base, 'GET', `/v1/runs/${r.id}`, undefined, 'alpha');
    tenants.alpha.callbackTokens.push(String(view.callback_url).split('/').pop()!);
  }
  for (const kind of ['params', 'wait']) {
    const wf = tenants.beta.workflows.find((w) => w.kind === kind);
    if (!wf) continue;
    const r = await must(base, 'POST', `/v1/workflows/${wf.id}/runs`, kind === 'params' ? { name: 'beta', amount: 1 } : { note: 'beta' }, 'beta');
    tenants.beta.runs.push(r.id);
    const view = await must(base, 'GET', `/v1/runs/${r.id}`, undefined, 'beta');
    tenants.beta.callbackTokens.push(String(view.callback_url).split('/').pop()!);
  }
  return {
    base, target, proc, dataDir, tenants,
    aIds: () => {
      const a = tenants.alpha;
      return [...a.runs, ...a.callbackTokens, ...a.workflows.flatMap((w) => [w.hash, w.guid]), ...Object.values(a.keys).flatMap((k) => [k.id, k.token]), a.login.secret, a.secretNames[0]!];
    },
    alive: () => proc.child.exitCode === null && proc.child.signalCode === null,
    close: async () => {
      await sigkill(proc);
      await target.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
