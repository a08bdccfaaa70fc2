/**
 * `flowgate apply <file|dir>...`: PUT /v1/workflows/{id} for every workflow document. The id is read
 * from the document; the original text is sent unchanged, as YAML or JSON by file extension.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { CliError, isObject, problemLines, problemText, type ProblemLine } from '../client.js';
import { action, seg, type CliContext, type CliDeps, type Opts } from './context.js';

const WORKFLOW_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export interface ApplyResult {
  file: string;
  id?: string;
  outcome: 'created' | 'unchanged' | 'failed';
  version?: number;
  warnings?: ProblemLine[];
  error?: { message: string; status?: number; errors: ProblemLine[] };
}

export function registerApply(program: Command, deps: CliDeps): void {
  program
    .command('apply')
    .description('create or update workflows from YAML or JSON files (a directory: every .yaml, .yml and .json in it)')
    .argument('<paths...>', 'workflow files or directories')
    .action(action(deps, (ctx, _opts: Opts, args) => applyPaths(ctx, args[0] as string[])));
}

export async function applyPaths(ctx: CliContext, paths: string[]): Promise<number> {
  const files = await collectFiles(ctx.deps.cwd, paths);
  const results: ApplyResult[] = [];
  for (const file of files) {
    const result = file.error
      ? { file: file.display, outcome: 'failed' as const, error: { message: file.error, errors: [] } }
      : await applyFile(ctx, file.path, file.display);
    results.push(result);
    if (!ctx.json) printResult(ctx, result);
  }
  const failed = results.filter((r) => r.outcome === 'failed').length;
  if (ctx.json) ctx.printJson(results);
  else if (results.length > 1) {
    const created = results.filter((r) => r.outcome === 'created').length;
    ctx.err(`${results.length} files: ${created} created, ${results.length - created - failed} unchanged, ${failed} failed`);
  }
  return failed > 0 ? 1 : 0;
}

interface FileEntry {
  path: string;
  display: string;
  error?: string;
}

/** Explicit files are taken whatever their extension; directories give their workflow files, sorted. */
async function collectFiles(cwd: string, paths: string[]): Promise<FileEntry[]> {
  const entries: FileEntry[] = [];
  for (const given of paths) {
    const path = resolve(cwd, given);
    let isDir: boolean;
    try {
      isDir = (await stat(path)).isDirectory();
    } catch (err) {
      entries.push({ path, display: given, error: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
      continue;
    }
    if (!isDir) {
      entries.push({ path, display: given });
      continue;
    }
    const names = (await readdir(path, { withFileTypes: true }))
      .filter((d) => d.isFile() && WORKFLOW_EXTENSIONS.has(extname(d.name).toLowerCase()))
      .map((d) => d.name)
      .sort();
    if (names.length === 0) throw new CliError(`no .yaml, .yml or .json files in ${given}`);
    for (const name of names) {
      const file = join(path, name);
      entries.push({ path: file, display: relative(cwd, file) || file });
    }
  }
  return entries;
}

async function applyFile(ctx: CliContext, path: string, display: string): Promise<ApplyResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return failure(display, undefined, `cannot read: ${(err as Error).message}`);
  }
  const isJson = extname(path).toLowerCase() === '.json';
  let id: unknown;
  try {
    const doc: unknown = isJson ? JSON.parse(text) : parseYaml(text);
    id = isObject(doc) ? doc.id : undefined;
  } catch (err) {
    return failure(display, undefined, `cannot parse ${isJson ? 'JSON' : 'YAML'}: ${firstLine((err as Error).message)}`);
  }
  if (typeof id !== 'string' || id.trim() === '') {
    return failure(display, undefined, 'the document has no "id" (a string naming the workflow)');
  }

  const answer = await ctx.client.exchange('PUT', `/v1/workflows/${seg(id)}`, {
    text,
    contentType: isJson ? 'application/json' : 'application/yaml',
  });
  if (answer.status >= 400) {
    const problem = ctx.client.problemError(answer);
    return { file: display, id, outcome: 'failed', error: { message: problem.message, status: answer.status, errors: problem.errors } };
  }
  const body = isObject(answer.body) ? answer.body : {};
  const warnings = problemLines(body.warnings);
  return {
    file: display,
    id,
    outcome: answer.status === 201 ? 'created' : 'unchanged',
    version: typeof body.version === 'number' ? body.version : undefined,
    ...(warnings.length ? { warnings } : {}),
  };
}

function failure(file: string, id: string | undefined, message: string): ApplyResult {
  return { file, id, outcome: 'failed', error: { message, errors: [] } };
}

const firstLine = (s: string): string => s.split('\n')[0];

function printResult(ctx: CliContext, r: ApplyResult): void {
  const who = r.id ? `${r.file} (${r.id})` : r.file;
  if (r.outcome === 'failed') {
    ctx.out(`${who}: failed: ${r.error?.message ?? 'unknown error'}`);
    for (const e of r.error?.errors ?? []) ctx.out(`  ${problemText(e)}`);
    return;
  }
  ctx.out(`${who}: ${r.outcome}${r.version !== undefined ? ` v${r.version}` : ''}`);
  for (const w of r.warnings ?? []) ctx.out(`  warning: ${problemText(w)}`);
}
