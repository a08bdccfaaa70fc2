/**
 * `POST /v1/workflows/{id}/runs/import` (docs/spec.md §5.4, §8.16): a CSV file, one run per row.
 *
 * Query: `delimiter` (`,` `;` `|`, detected from the first line when absent), `encoding` (`utf-8`
 * default, `windows-1251`; else the Content-Type charset), `header` (default true), `ref_column`,
 * `partial` (default false), `dry_run` (check only), `format` (`json` default; `csv` answers the failed
 * rows as CSV with an `error` column, the counts in `Flowgate-Import-*` headers), `preview=N` (a dry run
 * whose answer adds the first N data rows as parsed, with the delimiter and encoding used).
 *
 * Answers: 200 `{ total, created, duplicates, failed, errors }`; 422 problem+json with
 * `errors: [{ row, column?, message }]` when bad rows refuse the file (nothing is created); 413 past
 * FLOWGATE_CSV_MAX_BYTES or FLOWGATE_CSV_MAX_ROWS (nothing is created).
 */
import { traceOf } from '../../core/trace.js';
import { FlowgateError, validationFailed, type FieldProblem } from '../../core/errors.js';
import { CsvImport, type ImportOutcome } from '../../triggers/csv-import.js';
import { parseMediaType } from '../body.js';
import type { Ctx, RouteDef } from '../context.js';
import { CSV_DELIMITERS, csvEncoding, csvLine, encodeCsv, readCsv, type CsvDelimiter, type CsvEncoding } from '../csv.js';
import type { RouteDeps } from '../deps.js';
import { sendJson, sendText } from '../problem.js';
import { refuseUnsignedStream } from '../verify.js';

export interface CsvLimits {
  maxRows: number;
  maxBytes: number;
}

const CSV_TYPES = new Set(['', 'text/csv', 'application/csv', 'text/plain', 'application/octet-stream', 'application/vnd.ms-excel', 'text/comma-separated-values']);
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

interface ImportQuery {
  delimiter?: CsvDelimiter;
  encoding: CsvEncoding;
  header: boolean;
  refColumn: string | null;
  partial: boolean;
  dryRun: boolean;
  format: 'json' | 'csv';
  /** Describe the first this many data rows (1..100; implies dryRun); 0: none. */
  preview: number;
}

const MAX_PREVIEW = 100;

function readQuery(ctx: Ctx): ImportQuery {
  const problems: FieldProblem[] = [];
  const flag = (name: string, fallback: boolean): boolean => {
    const raw = ctx.query.get(name);
    if (raw === null || raw === '') return fallback;
    const v = raw.toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    problems.push({ path: name, message: 'must be true or false' });
    return fallback;
  };
  let delimiter: CsvDelimiter | undefined;
  const d = ctx.query.get('delimiter');
  if (d !== null && d !== '') {
    const named = d === 'comma' ? ',' : d === 'semicolon' ? ';' : d === 'pipe' ? '|' : d;
    if ((CSV_DELIMITERS as readonly string[]).includes(named)) delimiter = named as CsvDelimiter;
    else problems.push({ path: 'delimiter', message: 'must be one of , ; | (or comma, semicolon, pipe)' });
  }
  const rawEncoding = ctx.query.get('encoding') || parseMediaType(ctx.req.headers['content-type']).charset || 'utf-8';
  const encoding = csvEncoding(rawEncoding);
  if (!encoding) problems.push({ path: 'encoding', message: 'must be utf-8 or windows-1251' });
  const refColumn = ctx.query.get('ref_column') || null;
  const format = (ctx.query.get('format') || 'json').toLowerCase();
  if (format !== 'json' && format !== 'csv') problems.push({ path: 'format', message: 'must be json or csv' });
  let preview = 0;
  const p = ctx.query.get('preview');
  if (p !== null && p !== '') {
    preview = /^\d+$/.test(p) ? Number(p) : NaN;
    if (!(preview >= 1 && preview <= MAX_PREVIEW)) problems.push({ path: 'preview', message: `must be a number of rows from 1 to ${MAX_PREVIEW}` });
    else if (format === 'csv') problems.push({ path: 'preview', message: 'is answered as JSON: leave out format=csv' });
  }
  const query: ImportQuery = {
    delimiter, encoding: encoding ?? 'utf-8', header: flag('header', true), refColumn,
    partial: flag('partial', false), dryRun: flag('dry_run', false) || preview > 0, format: format as 'json' | 'csv', preview,
  };
  if (problems.length) throw validationFailed(problems, 'Invalid import parameters');
  return query;
}

/** The CSV of failed rows: `row`, the file's columns, `error`; in the file's encoding and delimiter. */
function failedRowsCsv(outcome: ImportOutcome, delimiter: CsvDelimiter, encoding: CsvEncoding): Buffer {
  const width = Math.max(outcome.columns.length, ...outcome.failedRows.map((r) => r.fields.length));
  const columns = Array.from({ length: width }, (_, i) => outcome.columns[i] || `key${i + 1}`);
  const lines = [csvLine(['row', ...columns, 'error'], delimiter)];
  for (const r of outcome.failedRows) {
    const fields = Array.from({ length: width }, (_, i) => r.fields[i] ?? '');
    lines.push(csvLine([String(r.row), ...fields, r.message], delimiter));
  }
  // Header problems (a refused file with no bad data row) still explain themselves.
  for (const e of outcome.result.errors) {
    if (!outcome.failedRows.some((r) => r.row === e.row)) {
      lines.push(csvLine([String(e.row), ...columns.map(() => ''), e.column ? `${e.column}: ${e.message}` : e.message], delimiter));
    }
  }
  return encodeCsv(`${lines.join('\r\n')}\r\n`, encoding);
}

export function importRoutes(d: RouteDeps, limits: CsvLimits): RouteDef[] {
  const importRuns = async (ctx: Ctx): Promise<void> => {
    const wf = await d.intake.workflow(ctx.principal.tenant, ctx.params.id!);
    refuseUnsignedStream(ctx, wf);
    const q = readQuery(ctx);
    const media = parseMediaType(ctx.req.headers['content-type']);
    if (!CSV_TYPES.has(media.type)) throw new FlowgateError('unsupported_media_type', `send the file as text/csv, not ${media.type}`);

    const job = new CsvImport(d.intake, d.engine, d.store, wf, {
      header: q.header, refColumn: q.refColumn, partial: q.partial, dryRun: q.dryRun, preview: q.preview, trace: traceOf(ctx.req.headers),
    });
    let delimiter: CsvDelimiter = q.delimiter ?? ',';
    const items = readCsv(ctx.req, ctx.res, {
      delimiter: q.delimiter, encoding: q.encoding, maxBytes: limits.maxBytes,
      maxRecords: limits.maxRows + (q.header ? 1 : 0),
      onDelimiter: (found) => { delimiter = found; },
    });
    for await (const item of items) {
      if (item.kind === 'record') job.record(item.line, item.fields);
      else job.badRecord(item.line, item.message);
    }
    const outcome = await job.finish();
    const { result } = outcome;
    // With preview: the first rows as parsed, and the delimiter and encoding the file was read with.
    const previewed = outcome.preview ? { preview: outcome.preview, delimiter, encoding: q.encoding } : {};
    const status = outcome.refused ? 422 : 200;
    if (q.format === 'csv') {
      return sendText(ctx.res, status, `text/csv; charset=${q.encoding}`, failedRowsCsv(outcome, delimiter, q.encoding), {
        'Content-Disposition': `attachment; filename="${wf.id}-failed-rows.csv"`,
        'Flowgate-Import-Total': String(result.total), 'Flowgate-Import-Created': String(result.created),
        'Flowgate-Import-Duplicates': String(result.duplicates), 'Flowgate-Import-Failed': String(result.failed),
      });
    }
    if (outcome.refused) {
      const detail = result.failed > 0 ? `${result.failed} of ${result.total} rows are invalid; nothing was created` : 'the file is invalid; nothing was created';
      throw new FlowgateError('validation_failed', detail, {
        extra: { total: result.total, created: 0, duplicates: result.duplicates, failed: result.failed, ...previewed },
        // CSV problems name a row (and a column) instead of a path (docs/spec.md §8.16).
        errors: result.errors as unknown as FieldProblem[],
      });
    }
    sendJson(ctx.res, 200, q.dryRun ? { ...result, dry_run: true, ...previewed } : result);
  };

  return [
    { method: 'POST', path: '/v1/workflows/:id/runs/import', auth: 'trigger', name: 'runs.import', handler: importRuns, startsRuns: true },
  ];
}
