/**
 * `flowgate import <workflow> <file.csv>`: streams the file to POST /v1/workflows/{id}/runs/import
 * (docs/spec.md §5.4) with a progress bar of the bytes sent (on a terminal), then prints the summary
 * (total, created, duplicates, failed) and every bad row. `--failed-csv FILE` asks for the failed
 * rows as CSV (with an `error` column) and writes them to FILE. Exit code 0 when no row failed.
 */
import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { CliError, isObject, problemText, type ApiAnswer } from '../client.js';
import { keyValues } from '../format.js';
import { action, seg, type CliContext, type CliDeps, type Opts } from './context.js';

export function registerImport(program: Command, deps: CliDeps): void {
  program
    .command('import')
    .description('start one run per row of a CSV file')
    .argument('<workflow>', 'workflow id')
    .argument('<file>', 'the CSV file (first row: parameter names)')
    .option('--delimiter <char>', 'field delimiter: , ; | (detected from the first line when absent)')
    .option('--encoding <name>', 'utf-8 (default) or windows-1251')
    .option('--ref-column <name>', 'column whose value becomes each run\'s ref (duplicates are counted, not re-created)')
    .option('--partial', 'create the good rows even when some rows are bad (default: one bad row refuses the file)')
    .option('--no-header', 'the first row is data; columns are named key1, key2, …')
    .option('--dry-run', 'check every row, create nothing')
    .option('--failed-csv <file>', 'write the failed rows, with an error column, to this CSV file')
    .option('--no-progress', 'no progress bar')
    .action(action(deps, (ctx, opts, args) => importFile(ctx, String(args[0]), String(args[1]), opts)));
}

interface Summary {
  total?: number;
  created?: number;
  duplicates?: number;
  failed?: number;
  errors?: unknown;
}

async function importFile(ctx: CliContext, workflow: string, file: string, opts: Opts): Promise<number> {
  const path = resolve(ctx.deps.cwd, file);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const failedCsv = typeof opts.failedCsv === 'string' ? resolve(ctx.deps.cwd, opts.failedCsv) : undefined;
  const query = {
    delimiter: opts.delimiter as string | undefined, encoding: opts.encoding as string | undefined,
    ref_column: opts.refColumn as string | undefined, partial: opts.partial ? 'true' : undefined,
    header: opts.header === false ? 'false' : undefined, dry_run: opts.dryRun ? 'true' : undefined,
    format: failedCsv ? 'csv' : undefined,
  };

  const stderr = ctx.deps.stderr as { isTTY?: boolean };
  const bar = opts.progress !== false && stderr.isTTY
    ? new cliProgress.SingleBar({
      stream: ctx.deps.stderr as NodeJS.WritableStream,
      format: 'upload [{bar}] {percentage}% | {value}/{total} bytes',
      hideCursor: true, clearOnComplete: false,
    }, cliProgress.Presets.shades_classic)
    : null;
  bar?.start(size, 0);
  let sent = 0;
  const counted = Readable.from((async function* () {
    for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
      sent += chunk.length;
      bar?.update(sent);
      yield chunk;
    }
  })());

  const client = ctx.client;
  const headers: Record<string, string> = {
    'content-type': 'text/csv', 'content-length': String(size), accept: 'application/json, application/problem+json, text/csv',
  };
  if (client.config.token) headers.authorization = `Bearer ${client.config.token}`;
  if (client.config.tenant) headers['flowgate-tenant'] = client.config.tenant;
  let res: Response;
  try {
    res = await (client.config.fetch ?? globalThis.fetch)(client.urlFor(`/v1/workflows/${seg(workflow)}/runs/import`, query), {
      method: 'POST', headers, body: Readable.toWeb(counted) as unknown as BodyInit, duplex: 'half',
    } as RequestInit);
  } catch (err) {
    bar?.stop();
    throw new CliError(`cannot reach Flowgate at ${client.config.url}: ${(err as Error).message}`, { exitCode: 2, hint: 'set the address with --url or FLOWGATE_URL' });
  }
  bar?.update(size);
  bar?.stop();
  if (bar) ctx.err('checking and creating the runs…');
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  const type = res.headers.get('content-type') ?? '';

  if (failedCsv && type.startsWith('text/csv')) {
    // The failed rows come back in the file's own encoding: written byte for byte.
    await writeFile(failedCsv, bytes);
    const summary: Summary = {
      total: Number(res.headers.get('flowgate-import-total')), created: Number(res.headers.get('flowgate-import-created')),
      duplicates: Number(res.headers.get('flowgate-import-duplicates')), failed: Number(res.headers.get('flowgate-import-failed')),
    };
    return report(ctx, summary, res.status === 422, [], failedCsv, Boolean(opts.dryRun));
  }
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: reported as text below
  }
  const answer: ApiAnswer = { status: res.status, headers: res.headers, body };
  if (res.status === 422 && isObject(body) && Array.isArray(body.errors)) {
    if (ctx.json) ctx.printJson(body);
    else ctx.err(`refused: ${String(body.detail ?? 'some rows are invalid')}`);
    return report(ctx, body as Summary, true, client.problemError(answer).errors.map(problemText), undefined, Boolean(opts.dryRun));
  }
  if (res.status >= 400) throw client.problemError(answer);
  if (ctx.json) {
    ctx.printJson(body);
    return isObject(body) && Number(body.failed) > 0 ? 1 : 0;
  }
  const summary = isObject(body) ? (body as Summary) : {};
  const lines = Array.isArray(summary.errors) ? client.problemError({ status: 422, headers: res.headers, body: { errors: summary.errors } }).errors.map(problemText) : [];
  return report(ctx, summary, false, lines, undefined, Boolean(opts.dryRun));
}

function report(ctx: CliContext, s: Summary, refused: boolean, errors: string[], failedCsv?: string, dryRun = false): number {
  if (!ctx.json) {
    if (dryRun) ctx.out('dry run: every row was checked, nothing was created');
    ctx.out(keyValues([
      ['total', s.total], [dryRun ? 'would create' : 'created', refused ? 0 : s.created], ['duplicates', s.duplicates], ['failed', s.failed],
    ]));
    if (refused) ctx.out(dryRun ? 'the file would be refused: fix the rows below, or pass --partial to create the good ones' : 'nothing was created: fix the rows below, or pass --partial to create the good ones');
    for (const e of errors) ctx.out(`  ${e}`);
    if (failedCsv) ctx.out(`failed rows written to ${failedCsv}`);
  }
  return refused || Number(s.failed) > 0 ? 1 : 0;
}
