/**
 * The New run form's model, pure: the workflow's declared params as key-value rows (type, default,
 * required), the rows as the run's input, and a 422's problems placed on the rows they name.
 */
export interface ParamSpecView {
  type?: string;
  required?: boolean;
  default?: unknown;
  enum?: unknown[];
  description?: string;
}

export interface ParamRow {
  /** Stable identity for React and focus (not sent). */
  uid: string;
  key: string;
  value: string;
  /** Declared by the workflow: the key is fixed and the row cannot be removed. */
  declared: boolean;
  type?: string;
  required?: boolean;
  /** The declared default, as text (shown as the placeholder: an empty value means the default). */
  placeholder?: string;
  options?: string[];
  description?: string;
}

/** A value as the text a row shows: strings as they are, anything else as JSON. */
export const asText = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));

let seq = 0;
export const newUid = (): string => `r${++seq}`;

/** One row per declared param, in declaration order; an empty value stands for the default. */
export function rowsFromParams(params: unknown): ParamRow[] {
  if (!params || typeof params !== 'object' || Array.isArray(params)) return [];
  return Object.entries(params as Record<string, ParamSpecView>).map(([key, spec]) => ({
    uid: newUid(),
    key,
    value: '',
    declared: true,
    type: spec?.type,
    required: spec?.required === true,
    placeholder: spec && 'default' in spec ? asText(spec.default) : undefined,
    options: Array.isArray(spec?.enum) ? spec.enum.map(asText) : undefined,
    description: typeof spec?.description === 'string' ? spec.description : undefined,
  }));
}

export interface RowsProblem {
  uid: string;
  message: string;
}

/**
 * The run's input from the rows: each value as text (the server coerces it to the declared type, as
 * it does a form's or a CSV's, and says so at the param's path when it cannot); an empty value is
 * left out so the default applies. Rows with an empty key and value are ignored; a repeated or empty
 * key is a problem on that row.
 */
export function dataFromRows(rows: ParamRow[]): { data: Record<string, string>; problems: RowsProblem[] } {
  const data: Record<string, string> = {};
  const problems: RowsProblem[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    const key = r.key.trim();
    if (key === '' && r.value === '') continue;
    if (key === '') { problems.push({ uid: r.uid, message: 'needs a name' }); continue; }
    if (seen.has(key)) { problems.push({ uid: r.uid, message: `${key} is given twice` }); continue; }
    seen.add(key);
    if (r.value !== '') data[key] = r.value;
  }
  return { data, problems };
}

/** The rows for a JSON object typed in the JSON tab: declared rows keep their place, other keys are added. */
export function rowsFromData(data: Record<string, unknown>, declared: ParamRow[]): ParamRow[] {
  const rows = declared.map((r) => ({ ...r, value: r.key in data ? asText(data[r.key]) : '' }));
  for (const [key, v] of Object.entries(data)) {
    if (!declared.some((r) => r.key === key)) rows.push({ uid: newUid(), key, value: asText(v), declared: false });
  }
  return rows;
}

/** The top-level key a problem's path names (`amount`, `addr.city` → `addr`, `items[0]` → `items`). */
export const topKey = (path: string): string => path.replace(/^(data|body)\./, '').split(/[.[]/)[0] ?? '';

/**
 * Each 422 problem on the row whose key it names (row uid → messages); problems no row names
 * (the whole input, an unknown key) are returned apart.
 */
export function placeProblems(rows: ParamRow[], errors: { path: string; message: string }[]): { byRow: Map<string, string[]>; rest: { path: string; message: string }[] } {
  const byRow = new Map<string, string[]>();
  const rest: { path: string; message: string }[] = [];
  for (const e of errors) {
    const key = topKey(e.path ?? '');
    const row = key ? rows.find((r) => r.key.trim() === key) : undefined;
    if (!row) { rest.push(e); continue; }
    const msg = e.path && e.path !== key ? `${e.path} ${e.message}` : e.message;
    byRow.set(row.uid, [...(byRow.get(row.uid) ?? []), msg]);
  }
  return { byRow, rest };
}
