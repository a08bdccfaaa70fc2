/**
 * CSV import (docs/spec.md §5.4, §8.16): one run per row. Every row is checked against the workflow's
 * params (and its ref against the file and the store) before anything is created; by default one
 * bad row refuses the whole file, `partial` creates the good rows. Duplicate refs (same ref, same
 * values) are counted, not re-created; a ref reused with other values is a bad row (the native
 * conflict rule). Good rows are started in chunks of concurrent starts, so the group commit writes
 * each chunk in a few transactions.
 *
 * Rows are fed one at a time by the caller (who parses the file as a stream); only the prepared
 * good rows and the failed rows are kept.
 */
import type { TraceContext } from '../core/trace.js';
import { FlowgateError } from '../core/errors.js';
import type { JsonObject, Workflow } from '../core/types.js';
import type { Engine } from '../engine/engine.js';
import type { CreateResult, Store } from '../store/types.js';
import { canonicalJson } from '../core/canonical-json.js';
import { REF_MAX } from '../core/ref.js';
import type { Intake } from './intake.js';

export interface RowProblem {
  /** The file's line number (the header is line 1). */
  row: number;
  column?: string;
  message: string;
}

export interface ImportResult {
  total: number;
  created: number;
  duplicates: number;
  failed: number;
  errors: RowProblem[];
}

export interface CsvImportOptions {
  /** The first record names the columns (else key1, key2, …). */
  header: boolean;
  refColumn: string | null;
  partial: boolean;
  /** Check everything, create nothing. */
  dryRun: boolean;
  /** Concurrent starts per chunk. */
  chunkSize?: number;
  /** Describe the first this many data rows as parsed (`ImportOutcome.preview`); 0 or absent: none. */
  preview?: number;
  /** The request's W3C trace context: every run of the file belongs to that trace. */
  trace?: TraceContext;
}

/** One data row as the file gave it and what became of it. */
export interface PreviewRow {
  /** The file's line number (the header is line 1). */
  row: number;
  /** The fields as parsed (after delimiter and encoding), before any coercion. */
  fields: string[];
  /** The same by column name (the columns the row has). */
  values: Record<string, string>;
  /** `ok`: would be created; `duplicate`: its ref repeats one with the same values; `failed`: see errors. */
  status: 'ok' | 'duplicate' | 'failed';
  /** The run's params once coerced by the declared types (rows that are not failed). */
  params: JsonObject | null;
  errors: Array<{ column?: string; message: string }>;
}

export interface ImportPreview {
  columns: string[];
  rows: PreviewRow[];
}

/** A row that failed, kept for the CSV of failed rows. */
export interface FailedRow {
  row: number;
  fields: string[];
  message: string;
}

export interface ImportOutcome {
  result: ImportResult;
  /** True when bad rows refused the whole file (nothing was created). */
  refused: boolean;
  columns: string[];
  failedRows: FailedRow[];
  /** With `preview`: the first data rows. */
  preview?: ImportPreview;
}

interface GoodRow {
  row: number;
  fields: string[];
  ref: string | null;
  input: JsonObject;
  data: JsonObject;
  key: string;
}

const COLUMN_NAME_RE = /^\S+$/;
const DEFAULT_CHUNK = 500;


export class CsvImport {
  private columns: string[] | null = null;
  private readonly problems: RowProblem[] = [];
  private readonly failed = new Map<number, FailedRow>();
  private readonly good: GoodRow[] = [];
  private readonly refs = new Map<string, { row: number; key: string }>();
  private duplicates = 0;
  private total = 0;
  /** A problem with the header refuses the file whatever `partial` says. */
  private headerBroken = false;
  /** The first `opts.preview` data rows, and the params and duplicates among them. */
  private readonly previewRows: Array<{ row: number; fields: string[] }> = [];
  private readonly previewRowNumbers = new Set<number>();
  private readonly previewParams = new Map<number, JsonObject>();
  private readonly previewDuplicates = new Set<number>();

  constructor(
    private readonly intake: Intake,
    private readonly engine: Engine,
    private readonly store: Store,
    private readonly workflow: Workflow,
    private readonly opts: CsvImportOptions,
  ) {}

  /** Feeds one record of the file (the header first, when there is one). */
  record(row: number, fields: string[]): void {
    if (this.columns === null) {
      if (this.opts.header) return this.setHeader(row, fields);
      this.columns = fields.map((_, i) => `key${i + 1}`);
      this.checkRefColumn();
    }
    this.total++;
    this.previewed(row, fields);
    this.dataRow(row, fields);
  }

  private previewed(row: number, fields: string[]): void {
    if (this.previewRows.length >= (this.opts.preview ?? 0)) return;
    this.previewRows.push({ row, fields });
    this.previewRowNumbers.add(row);
  }

  private inPreview(row: number): boolean {
    return this.previewRowNumbers.has(row);
  }

  private duplicate(row: number): void {
    this.duplicates++;
    if (this.inPreview(row)) this.previewDuplicates.add(row);
  }

  /** A record the parser could not read. */
  badRecord(row: number, message: string): void {
    if (this.columns === null && this.opts.header) {
      this.headerBroken = true;
      this.columns = [];
      this.fail(row, [], [{ row, message }]);
      return;
    }
    this.total++;
    this.previewed(row, []);
    this.fail(row, [], [{ row, message }]);
  }

  private setHeader(row: number, fields: string[]): void {
    const names = fields.map((f) => f.trim());
    const problems: RowProblem[] = [];
    const seen = new Set<string>();
    names.forEach((name, i) => {
      if (name === '') {
        if (i !== names.length - 1) problems.push({ row, message: `column ${i + 1} has no name` });
      } else if (!COLUMN_NAME_RE.test(name)) problems.push({ row, column: name, message: 'a parameter name must not contain spaces' });
      else if (seen.has(name)) problems.push({ row, column: name, message: 'the column name is repeated' });
      seen.add(name);
    });
    // A trailing delimiter on the header (an empty last name) is tolerated: that column is ignored.
    this.columns = names;
    if (problems.length) {
      this.headerBroken = true;
      this.problems.push(...problems);
    }
    this.checkRefColumn();
  }

  private checkRefColumn(): void {
    const col = this.opts.refColumn;
    if (col !== null && !this.columns!.includes(col)) {
      this.headerBroken = true;
      this.problems.push({ row: 1, column: col, message: `ref_column ${JSON.stringify(col)} is not a column of the file` });
    }
  }

  private dataRow(row: number, fields: string[]): void {
    const columns = this.columns!;
    const named = columns.length - (columns[columns.length - 1] === '' ? 1 : 0);
    if (fields.length !== columns.length && !(fields.length === named && named < columns.length)) {
      return this.fail(row, fields, [{ row, message: `the row has ${fields.length} fields; the header has ${columns.length}` }]);
    }
    const input: JsonObject = {};
    for (let i = 0; i < named; i++) {
      const name = columns[i];
      if (name === '') continue;
      if (name === '__proto__') Object.defineProperty(input, name, { value: fields[i], enumerable: true, writable: true, configurable: true });
      else input[name] = fields[i];
    }
    let ref: string | null = null;
    if (this.opts.refColumn !== null) {
      const value = (input[this.opts.refColumn] as string | undefined) ?? '';
      if (value.length > REF_MAX) return this.fail(row, fields, [{ row, column: this.opts.refColumn, message: `a ref must be at most ${REF_MAX} characters` }]);
      ref = value === '' ? null : value;
    }
    let data: JsonObject;
    try {
      data = this.intake.prepare(this.workflow, input);
    } catch (e) {
      if (!(e instanceof FlowgateError)) throw e;
      const problems = e.errors?.length
        ? e.errors.map((p) => ({ row, ...(p.path ? { column: p.path } : {}), message: p.message }))
        : [{ row, message: e.message }];
      return this.fail(row, fields, problems);
    }
    const key = canonicalJson(input);
    if (ref !== null) {
      const first = this.refs.get(ref);
      if (first) {
        if (first.key === key) return this.duplicate(row);
        return this.fail(row, fields, [{ row, column: this.opts.refColumn!, message: `ref ${JSON.stringify(ref)} is already used by line ${first.row} with other values` }]);
      }
      this.refs.set(ref, { row, key });
    }
    if (this.inPreview(row)) this.previewParams.set(row, data);
    this.good.push({ row, fields, ref, input, data, key });
  }

  private fail(row: number, fields: string[], problems: RowProblem[]): void {
    this.problems.push(...problems);
    const message = problems.map((p) => (p.column ? `${p.column}: ${p.message}` : p.message)).join('; ');
    const known = this.failed.get(row);
    if (known) known.message = `${known.message}; ${message}`;
    else this.failed.set(row, { row, fields, message });
  }

  /**
   * After the last record: checks refs against runs that already exist, then (unless refused or a
   * dry run) creates the good rows in chunks.
   */
  async finish(): Promise<ImportOutcome> {
    if (this.columns === null) {
      this.headerBroken = this.opts.header;
      if (this.opts.header) this.problems.push({ row: 1, message: 'the file is empty: the first row must name the parameters' });
      this.columns = [];
    }
    const tenant = this.workflow.tenant;
    // Refs already taken by runs of this workflow: same values → duplicate, other values → bad row.
    const fresh: GoodRow[] = [];
    for (const g of this.good) {
      if (g.ref === null) {
        fresh.push(g);
        continue;
      }
      const holder = await this.store.findRunByRef(tenant, this.workflow.id, g.ref);
      if (!holder) fresh.push(g);
      else if (canonicalJson(holder.input) === g.key) this.duplicate(g.row);
      else this.fail(g.row, g.fields, [{ row: g.row, column: this.opts.refColumn!, message: `ref ${JSON.stringify(g.ref)} is already used by run ${holder.id} with other values` }]);
    }
    const refused = this.headerBroken || (!this.opts.partial && this.failed.size > 0);
    let created = 0;
    if (!refused && !this.opts.dryRun) {
      const chunk = this.opts.chunkSize ?? DEFAULT_CHUNK;
      for (let i = 0; i < fresh.length; i += chunk) {
        const slice = fresh.slice(i, i + chunk);
        const results = await Promise.all(slice.map((g) => this.engine.startRun({
          workflow: this.workflow, data: g.data, input: g.input, ref: g.ref, refPolicy: 'native',
          ...(this.opts.trace ? { meta: { trace: { ...this.opts.trace } } } : {}),
        }).then((r): CreateResult | { kind: 'error'; error: unknown } => r, (error: unknown) => ({ kind: 'error' as const, error }))));
        results.forEach((r, k) => {
          const g = slice[k];
          if (r.kind === 'error') {
            this.fail(g.row, g.fields, [{ row: g.row, message: r.error instanceof FlowgateError ? r.error.message : 'the run could not be created' }]);
          } else if (r.kind === 'created') created++;
          else if (r.kind === 'existing') this.duplicate(g.row);
          else this.fail(g.row, g.fields, [{ row: g.row, column: this.opts.refColumn!, message: `ref ${JSON.stringify(g.ref)} is already used by run ${r.run.id} with other values` }]);
        });
      }
    }
    const errors = [...this.problems].sort((a, b) => a.row - b.row);
    const failedRows = [...this.failed.values()].sort((a, b) => a.row - b.row);
    return {
      result: { total: this.total, created, duplicates: this.duplicates, failed: this.failed.size, errors },
      refused,
      columns: this.columns,
      failedRows,
      ...(this.opts.preview ? { preview: this.preview(errors) } : {}),
    };
  }

  private preview(errors: RowProblem[]): ImportPreview {
    const columns = this.columns ?? [];
    const rows = this.previewRows.map(({ row, fields }): PreviewRow => {
      const values: Record<string, string> = {};
      columns.forEach((name, i) => {
        if (name !== '' && i < fields.length) Object.defineProperty(values, name, { value: fields[i], enumerable: true, writable: true, configurable: true });
      });
      const own = errors.filter((e) => e.row === row).map((e) => (e.column !== undefined ? { column: e.column, message: e.message } : { message: e.message }));
      const status = this.failed.has(row) ? 'failed' : this.previewDuplicates.has(row) ? 'duplicate' : 'ok';
      return { row, fields, values, status, params: status === 'failed' ? null : this.previewParams.get(row) ?? null, errors: own };
    });
    return { columns, rows };
  }
}
