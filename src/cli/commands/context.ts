/**
 * What every client command gets: the API client built from the global options, the output
 * streams, and one error/exit-code policy (0 ok, 1 API or usage error, 2 cannot connect).
 */
import type { Command } from 'commander';
import { CliError, createClient, type FlowgateClient, type GlobalOptions } from '../client.js';

export interface Output {
  write(chunk: string): unknown;
}

/** The process around the CLI; tests replace it to capture output and exit codes. */
export interface CliDeps {
  stdout: Output;
  stderr: Output;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  env: NodeJS.ProcessEnv;
  cwd: string;
  setExitCode(code: number): void;
  fetch?: typeof fetch;
}

export function processDeps(): CliDeps {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
}

export interface CliContext {
  readonly client: FlowgateClient;
  /** `--json`: print the API's JSON instead of tables. */
  readonly json: boolean;
  readonly deps: CliDeps;
  /** Writes a line (or lines) to stdout. */
  out(text: string): void;
  /** Writes a line (or lines) to stderr. */
  err(text: string): void;
  /** Pretty JSON to stdout. */
  printJson(value: unknown): void;
}

export function makeContext(deps: CliDeps, opts: GlobalOptions): CliContext {
  const client = createClient(opts, deps.env, deps.cwd, deps.fetch);
  return {
    client,
    json: Boolean(opts.json),
    deps,
    out: (text) => void deps.stdout.write(`${text}\n`),
    err: (text) => void deps.stderr.write(`${text}\n`),
    printJson: (value) => void deps.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}

/** The command's own options merged over the global ones (`--url`, `--token`, `--tenant`, `--json`). */
export type Opts = GlobalOptions & Record<string, unknown>;

export type Handler = (ctx: CliContext, opts: Opts, args: unknown[]) => Promise<number | void>;

/**
 * Wraps a handler as a commander action: builds the context, runs the handler, prints a CliError
 * (or any other error) to stderr and sets the exit code. The handler returns its exit code (default 0).
 */
export function action(deps: CliDeps, handler: Handler): (...argv: unknown[]) => Promise<void> {
  return async (...argv: unknown[]) => {
    const cmd = argv[argv.length - 1] as Command;
    const args = argv.slice(0, -2);
    try {
      const opts = cmd.optsWithGlobals() as Opts;
      const ctx = makeContext(deps, opts);
      const code = await handler(ctx, opts, args);
      if (code) deps.setExitCode(code);
    } catch (err) {
      reportError(deps, err);
    }
  };
}

export function reportError(deps: CliDeps, err: unknown): void {
  if (err instanceof CliError) {
    deps.stderr.write(`${err.render()}\n`);
    deps.setExitCode(err.exitCode);
    return;
  }
  const message = err instanceof Error ? err.message : String(err);
  deps.stderr.write(`error: ${message}\n`);
  if (deps.env.FLOWGATE_DEBUG && err instanceof Error && err.stack) deps.stderr.write(`${err.stack}\n`);
  deps.setExitCode(1);
}

/** Reads all of stdin as UTF-8 text. */
export async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** A positive integer option, or a usage error naming the option. */
export function intOption(name: string, value: unknown, { min = 0 } = {}): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${name} must be an integer ≥ ${min}, got "${String(value)}"`);
  return n;
}

/** Path segment encoding for ids and names taken from the command line. */
export const seg = (s: unknown): string => encodeURIComponent(String(s));
