/**
 * The runs list's filters as the URL query keeps them, and how a live change of one run enters a
 * page of the list. Pure, unit-tested.
 */
import type { Run, RunFilters } from '../../api/index.js';

export const FILTER_KEYS = ['workflow', 'status', 'ref', 'since', 'until'] as const;
export const PAGE_SIZE = 50;

export interface ListQuery extends RunFilters {
  cursor?: string;
}

export function readQuery(search: string): ListQuery {
  const p = new URLSearchParams(search);
  const q: ListQuery = {};
  for (const k of [...FILTER_KEYS, 'cursor'] as const) {
    const v = p.get(k);
    if (v) q[k] = v;
  }
  return q;
}

export function writeQuery(q: ListQuery): string {
  const p = new URLSearchParams();
  for (const k of [...FILTER_KEYS, 'cursor'] as const) if (q[k]) p.set(k, q[k]!);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Whether a run belongs in a list with these filters. */
export function matchesFilters(run: Run, f: RunFilters): boolean {
  if (f.workflow && run.workflow !== f.workflow) return false;
  if (f.status && run.status !== f.status) return false;
  if (f.ref && run.ref !== f.ref) return false;
  if (f.parent && run.parent_run_id !== f.parent) return false;
  const created = Date.parse(run.created_at ?? '');
  if (f.since && !Number.isNaN(created) && created < Date.parse(f.since)) return false;
  if (f.until && !Number.isNaN(created) && created >= Date.parse(f.until)) return false;
  return true;
}

const newer = (a: Run | undefined, b: Run): boolean => !a || (a.updated_at ?? '') <= (b.updated_at ?? '');

/**
 * A page after a change of `run`: a run on the page is replaced (unless the page holds a newer
 * state) or dropped when it no longer matches; a new matching run enters the first page at its
 * place (newest first), which keeps `limit` rows. Other pages gain nothing (their rows are older).
 */
export function applyRunChange(rows: Run[], run: Run, f: RunFilters, firstPage: boolean, limit = PAGE_SIZE): Run[] {
  const i = rows.findIndex((r) => r.id === run.id);
  if (i >= 0) {
    if (!newer(rows[i], run)) return rows;
    if (!matchesFilters(run, f)) return rows.filter((r) => r.id !== run.id);
    const out = rows.slice();
    out[i] = { ...rows[i], ...run };
    return out;
  }
  if (!firstPage || !matchesFilters(run, f)) return rows;
  const out = [run, ...rows].sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? '') || b.id.localeCompare(a.id));
  return out.slice(0, limit);
}

/** A datetime-local input's value (local time) as ISO, and back. */
export function localToIso(v: string): string {
  if (!v) return '';
  const t = new Date(v);
  return Number.isNaN(t.getTime()) ? '' : t.toISOString();
}

export function isoToLocal(v: string | undefined): string {
  if (!v) return '';
  const t = new Date(v);
  if (Number.isNaN(t.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}`;
}
