/**
 * Starting and stopping the servers under measurement, each in its own process with its own fresh
 * temp data dir: Flowgate itself (`src/cli/main.ts serve`) and the plain node:http baseline.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeTempDir, OutputTail, removeTempDir, spawnTracked, stopChild } from './processes.js';

export const REPO_ROOT = new URL('..', import.meta.url).pathname;
const START_TIMEOUT_MS = 90_000;

export type ServerKind = 'flowgate' | 'baseline';

export interface ServerHandle {
  kind: ServerKind;
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  url: string;
  pid: number;
  /** Bearer token with admin rights (the baseline accepts anything). */
  token: string;
  /** Sends one request with the admin token; JSON bodies are encoded, JSON answers decoded. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer>;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its data dir. Returns the CPU profile path, if any. */
  stop(): Promise<{ exit: string; cpuProfile: string | null }>;
  /** Recent stderr/stdout lines, for error messages. */
  log(): string;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  json(): unknown;
}

export interface StartOptions {
  /** Write a V8 CPU profile (`node --cpu-prof`) into this directory when the server exits. */
  cpuProfileDir?: string;
  /** Extra environment (e.g. FLOWGATE_* limits). */
  env?: Record<string, string>;
  /** The admin token (nodes of one cluster share theirs); a fresh one when not given. */
  token?: string;
}

export const benchToken = (): string => `fga_bench_${randomBytes(16).toString('hex')}`;

export async function startServer(kind: ServerKind, opts: StartOptions = {}): Promise<ServerHandle> {
  const dataDir = makeTempDir(`flowgate-bench-${kind}-`);
  const token = opts.token ?? benchToken();
  const nodeFlags: string[] = [];
  if (opts.cpuProfileDir) {
    mkdirSync(opts.cpuProfileDir, { recursive: true });
    nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`);
  }
  const args = kind === 'flowgate'
    ? [...nodeFlags, '--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--data-dir', dataDir, '--no-examples', '--log-level', 'warn']
    : [...nodeFlags, '--import', 'tsx', 'bench/baseline.ts', '0'];
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, FLOWGATE_ADMIN_TOKEN: token };
  for (const name of ['FLOWGATE_PORT', 'FLOWGATE_HOST', 'FLOWGATE_DATA_DIR', 'FLOWGATE_PUBLIC_URL', 'FLOWGATE_EXAMPLES_DIR']) delete env[name];
  const before = opts.cpuProfileDir ? new Set(readdirSync(opts.cpuProfileDir)) : new Set<string>();

  const child = spawnTracked(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = new OutputTail();
  createInterface({ input: child.stderr! }).on('line', (line) => tail.push(line));
  let url: string;
  try {
    url = await waitForUrl(child, tail);
    await waitReady(url, kind);
  } catch (e) {
    await stopChild(child, 2000);
    removeTempDir(dataDir);
    throw new Error(`${kind} server did not start: ${(e as Error).message}\n${tail.text()}`);
  }

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> => {
    const h: Record<string, string> = { Authorization: `Bearer ${token}`, ...headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['Content-Type'] ??= 'application/json';
    }
    const res = await fetch(url + path, { method, headers: h, body: payload });
    const text = await res.text();
    return {
      status: res.status, headers: res.headers, text,
      json: () => JSON.parse(text) as unknown,
    };
  };

  return {
    kind, url, token, pid: child.pid!, api, log: () => tail.text(),
    async stop() {
      const exit = await stopChild(child);
      removeTempDir(dataDir);
      let cpuProfile: string | null = null;
      if (opts.cpuProfileDir) {
        const added = readdirSync(opts.cpuProfileDir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
        // Profiles are named CPU.<date>.<time>.<pid>.<thread>.<seq>: the main thread is thread 0.
        const main = added.find((f) => f.includes(`.${child.pid}.0.`)) ?? added[0];
        cpuProfile = main ? join(opts.cpuProfileDir, main) : null;
      }
      return { exit, cpuProfile };
    },
  };
}

/** Reads stdout and stderr until the server prints its URL (Flowgate says it on stderr, its log being stdout). */
function waitForUrl(child: ChildProcess, tail: OutputTail): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const onLine = (line: string): void => {
      tail.push(line);
      const m = /(?:serving on|listening on) (http:\/\/\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/+$/, ''));
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`the process exited (${child.exitCode ?? child.signalCode}) before printing its URL`));
    });
  });
}

/** Flowgate answers /readyz 200 once it takes work; the baseline is ready when it listens. */
async function waitReady(url: string, kind: ServerKind): Promise<void> {
  if (kind === 'baseline') return;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('/readyz did not answer 200');
    await new Promise((r) => setTimeout(r, 100));
  }
}
