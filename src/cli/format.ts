/**
 * Human-readable output of the CLI: aligned tables, key/value blocks, local ISO times and short
 * durations. `--json` output bypasses all of this and prints the API's own JSON.
 */

export type Align = 'left' | 'right';

export interface Column {
  header: string;
  align?: Align;
  /** Cells longer than this are cut with an ellipsis. */
  max?: number;
}

/** An aligned table: a header row, then one row per entry; columns separated by two spaces. */
export function table(columns: (Column | string)[], rows: unknown[][]): string {
  const cols: Column[] = columns.map((c) => (typeof c === 'string' ? { header: c } : c));
  const cells = rows.map((row) => cols.map((c, i) => truncate(cell(row[i]), c.max)));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]): string =>
    values
      .map((v, i) => (cols[i].align === 'right' ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(cols.map((c) => c.header.toUpperCase())), ...cells.map(line)].join('\n');
}

/** Aligned `key  value` lines; entries whose value is undefined are left out. */
export function keyValues(entries: [string, unknown][]): string {
  const shown = entries.filter(([, v]) => v !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${(k + ':').padEnd(width + 1)}  ${cell(v)}`.trimEnd()).join('\n');
}

function cell(v: unknown): string {
  if (v === undefined || v === null || v === '') return '-';
  if (typeof v === 'string') return v.replace(/\s*[\r\n]+\s*/g, ' ');
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export function truncate(s: string, max?: number): string {
  if (max === undefined || s.length <= max) return s;
  return max <= 1 ? s.slice(0, max) : `${s.slice(0, max - 1)}…`;
}

/** Milliseconds since the epoch of an ISO string or an epoch-ms number; undefined when unusable. */
export function toEpochMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v) {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

const pad = (n: number, w = 2): string => String(Math.trunc(Math.abs(n))).padStart(w, '0');

/** A time as local ISO 8601 with its offset, to the second: `2025-03-01T14:03:22+01:00`; `-` when absent. */
export function formatTime(v: unknown): string {
  const ms = toEpochMs(v);
  if (ms === undefined) return v === undefined || v === null || v === '' ? '-' : String(v);
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const zone = `${off >= 0 ? '+' : '-'}${pad(off / 60)}:${pad(off % 60)}`;
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`
  );
}

/** A duration in the units people read: `850ms`, `4.2s`, `3m05s`, `2h03m`, `1d04h`; `-` when absent. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) {
    const s = Math.floor(ms / 100) / 10;
    return `${s % 1 === 0 ? s.toFixed(0) : s.toFixed(1)}s`;
  }
  const totalSeconds = Math.floor(ms / 1000);
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)}m${pad(totalSeconds % 60)}s`;
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes < 1440) return `${Math.floor(totalMinutes / 60)}h${pad(totalMinutes % 60)}m`;
  const totalHours = Math.floor(totalMinutes / 60);
  return `${Math.floor(totalHours / 24)}d${pad(totalHours % 24)}h`;
}

/** The time from `start` to `end` (or to `now` when the thing is still going). */
export function durationBetween(start: unknown, end: unknown, now?: number): number | undefined {
  const a = toEpochMs(start);
  if (a === undefined) return undefined;
  const b = toEpochMs(end) ?? now;
  return b === undefined ? undefined : Math.max(0, b - a);
}

export function formatProgress(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? `${Math.round(v)}%` : '-';
}

/** Pretty JSON, cut after `maxLines` lines with a note saying how much was left out. */
export function prettyJson(v: unknown, maxLines?: number): string {
  const text = JSON.stringify(v, null, 2) ?? String(v);
  if (maxLines === undefined) return text;
  const lines = text.split('\n');
  if (lines.length <= maxLines) return text;
  return [...lines.slice(0, maxLines), `… ${lines.length - maxLines} more lines (use --json to see all)`].join('\n');
}

export const indent = (text: string, by = '  '): string =>
  text.split('\n').map((l) => (l ? by + l : l)).join('\n');

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
