/**
 * The CSV import preview, pure: the server's check of a file (a dry run; with `preview`, the first
 * rows as it parsed them) turned into the table the page shows: the columns, each previewed row's
 * values and problems, and the problems of rows past the preview.
 */
export interface RowProblem {
  row: number | null;
  column?: string;
  message: string;
}

export interface PreviewRow {
  /** The row's line in the file (the header is line 1). */
  row: number;
  /** The fields as parsed (decoded, not coerced); empty for a row that could not be parsed. */
  cells: string[];
  /** `ok` (would be created), `duplicate`, `failed`. */
  status: 'ok' | 'duplicate' | 'failed';
  problems: string[];
}

export interface PreviewModel {
  columns: string[];
  rows: PreviewRow[];
  /** Problems of rows the preview does not show, and of the file itself (no row). */
  others: RowProblem[];
  total: number;
  failed: number;
  duplicates: number;
  delimiter: string | null;
  encoding: string | null;
  /** True when the server's answer carried no parsed rows (only counts and problems). */
  countsOnly: boolean;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const text = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));

function problemText(p: unknown): { column?: string; message: string } {
  if (typeof p === 'string') return { message: p };
  const o = (p ?? {}) as Record<string, unknown>;
  return { column: typeof o.column === 'string' ? o.column : undefined, message: text(o.message ?? o.detail ?? o.title ?? p) };
}

const withColumn = (p: { column?: string; message: string }): string => (p.column ? `${p.column}: ${p.message}` : p.message);

function toProblem(e: unknown): RowProblem {
  const o = (e ?? {}) as Record<string, unknown>;
  const p = problemText(e);
  return { row: typeof o.row === 'number' ? o.row : null, ...p };
}

/** The server's answer (200, or the 422 that refuses the file: both carry counts and `errors`) as the preview table. */
export function previewModel(answer: unknown): PreviewModel {
  const doc = (answer && typeof answer === 'object' ? answer : {}) as Record<string, unknown>;
  const errors = (Array.isArray(doc.errors) ? doc.errors : []).map(toProblem);
  const preview = doc.preview && typeof doc.preview === 'object' ? (doc.preview as Record<string, unknown>) : null;
  const columns = Array.isArray(preview?.columns) ? preview!.columns.map(text) : [];
  const rows: PreviewRow[] = [];
  for (const r of Array.isArray(preview?.rows) ? preview!.rows : []) {
    const o = (r ?? {}) as Record<string, unknown>;
    if (typeof o.row !== 'number') continue;
    const values = o.values;
    const cells = Array.isArray(o.fields)
      ? o.fields.map(text)
      : values && typeof values === 'object' && !Array.isArray(values)
        ? columns.map((c) => text((values as Record<string, unknown>)[c]))
        : [];
    // The row's own problems, else the answer's errors for its line.
    const own = Array.isArray(o.errors) ? o.errors.map(problemText) : errors.filter((e) => e.row === o.row);
    const status = o.status === 'duplicate' || o.status === 'failed' || o.status === 'ok' ? o.status : own.length ? 'failed' : 'ok';
    rows.push({ row: o.row, cells, status, problems: own.map(withColumn) });
  }
  const shown = new Set(rows.map((r) => r.row));
  return {
    columns,
    rows,
    others: errors.filter((e) => e.row === null || !shown.has(e.row)),
    total: num(doc.total),
    failed: num(doc.failed),
    duplicates: num(doc.duplicates),
    delimiter: typeof doc.delimiter === 'string' ? doc.delimiter : null,
    encoding: typeof doc.encoding === 'string' ? doc.encoding : null,
    countsOnly: preview === null,
  };
}

/** How a delimiter is named to a person. */
export const delimiterName = (d: string | null): string =>
  d === ',' ? 'comma' : d === ';' ? 'semicolon' : d === '|' ? 'pipe' : d === '\t' ? 'tab' : d ?? 'detected';
