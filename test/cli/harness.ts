/**
 * Test harness for the CLI: a fake Flowgate API on 127.0.0.1 that records every request and
 * answers from a route table, and an in-process runner that captures output and the exit code.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { Command, CommanderError } from 'commander';
import { registerClientCommands } from '../../src/cli/commands.js';

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Route = (req: Recorded, res: ServerResponse) => void | Promise<void>;

export interface FakeApi {
  url: string;
  requests: Recorded[];
  routes: Map<string, Route>;
  /** Routes keyed `METHOD /path` (no query string). */
  on(key: string, route: Route): void;
  close(): Promise<void>;
}

export async function startFakeApi(routes: Record<string, Route> = {}): Promise<FakeApi> {
  const table = new Map(Object.entries(routes));
  const requests: Recorded[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', 'http://x');
    const rec: Recorded = {
      method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    requests.push(rec);
    const route = table.get(`${rec.method} ${rec.path}`);
    if (!route) return problem(res, 404, 'Not found', `no route ${rec.method} ${rec.path}`);
    try {
      await route(rec, res);
    } catch (err) {
      problem(res, 500, 'Fake server error', String(err));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    routes: table,
    on: (key, route) => void table.set(key, route),
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function problem(
  res: ServerResponse, status: number, title: string, detail: string,
  errors?: { path: string; message: string }[], headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
  res.end(JSON.stringify({ type: `https://flowgate.dev/problems/${title.toLowerCase().replace(/ /g, '-')}`, title, status, detail, ...(errors ? { errors } : {}) }));
}

export { closedPort } from '../helpers/net.js';

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'flowgate-cli-'));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the client commands in this process. `env` replaces the environment entirely (nothing of
 * the test process leaks in); `cwd` defaults to an empty temporary directory (no ./data/admin-token).
 */
export async function runCli(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  let code = 0;
  const stdin = new PassThrough();
  stdin.end(opts.stdin ?? '');
  const program = new Command('flowgate').exitOverride().configureOutput({
    writeOut: (s) => void (stdout += s),
    writeErr: (s) => void (stderr += s),
  });
  registerClientCommands(program, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin,
    env: opts.env ?? {},
    cwd: opts.cwd ?? tempDir(),
    setExitCode: (c) => void (code = c),
  });
  // exitOverride is inherited only by commands added after it: apply it to every subcommand.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: (s) => void (stdout += s), writeErr: (s) => void (stderr += s) });
    cmd.commands.forEach(override);
  };
  program.commands.forEach(override);
  try {
    await program.parseAsync(['node', 'flowgate', ...argv]);
  } catch (err) {
    if (err instanceof CommanderError) code = err.exitCode;
    else throw err;
  }
  return { code, stdout, stderr };
}
