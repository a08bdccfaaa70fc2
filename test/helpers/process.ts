/**
 * The real Flowgate server as a child PROCESS for the crash tests: started with `flowgate serve` on
 * an ephemeral port over a given data dir, killed with SIGKILL, and restarted on the same data dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** The last 4000 characters the process wrote (stdout and stderr). */
  output: () => string;
}

export interface ServerProcessOptions {
  /** The admin token (FLOWGATE_ADMIN_TOKEN). */
  token: string;
  /** More environment on top of this process's own. */
  env?: Record<string, string>;
  /** --log-level; default warn. */
  logLevel?: string;
  /** Sees every chunk the process writes, on stdout and stderr. */
  onOutput?: (chunk: string) => void;
  /** Runs the compiled server (dist/, `npm run build`) with plain node instead of the sources through tsx. */
  compiled?: boolean;
}

const live = new Set<ChildProcess>();

/** Starts `flowgate serve` on `dataDir`; resolves once it says where it serves, rejects after 20 s or an early exit. */
export function startServerProcess(dataDir: string, opts: ServerProcessOptions): Promise<ServerProcess> {
  const entry = opts.compiled ? ['dist/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];
  const child = spawn(process.execPath, [...entry, 'serve', '--port', '0', '--data-dir', dataDir, '--no-examples', '--log-level', opts.logLevel ?? 'warn'], {
    cwd: ROOT, env: { ...process.env, FLOWGATE_ADMIN_TOKEN: opts.token, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let out = '';
  const output = (): string => out.slice(-4000);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within 20 s:\n${output()}`));
    }, 20_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      opts.onOutput?.(chunk.toString());
      const m = /Flowgate is serving on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], child, output });
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

/** Kills the process with SIGKILL and waits until it has exited (at once if it already has). */
export async function sigkill(p: ServerProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGKILL');
  await exited;
}

/** SIGKILLs every server process this test file started that is still running (for after hooks). */
export function killServerProcesses(): void {
  for (const c of live) c.kill('SIGKILL');
}

/**
 * One API call to a server process as the bearer of `token`: an object body goes as JSON, a string
 * body as YAML. Answers the status and the body (parsed when JSON).
 */
export async function callProcess(token: string, base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path, {
    method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': typeof body === 'string' ? 'application/yaml' : 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : text };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Probes every 50 ms until `probe` answers something other than undefined (a probe that throws, e.g.
 * a node being restarted, counts as not yet); fails the test with `what` after `ms`.
 */
export async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}
