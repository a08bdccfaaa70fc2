/**
 * Durations as written in workflow definitions: `250ms`, `30s`, `5m`, `2h`, `1d`.
 *
 * A plain (non-negative, finite) number is taken as milliseconds. A fractional amount such as
 * `1.5h` is accepted and rounded to the nearest millisecond. Nothing else is a duration: no
 * compound forms (`1h30m`), no bare numeric strings, no negative values.
 */
import { FlowgateError } from './errors.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;

/** Milliseconds of a duration, or undefined when `s` is not one. */
function tryParse(s: unknown): number | undefined {
  if (typeof s === 'number') {
    return Number.isFinite(s) && s >= 0 && s <= Number.MAX_SAFE_INTEGER ? Math.round(s) : undefined;
  }
  if (typeof s !== 'string') return undefined;
  const m = DURATION_RE.exec(s);
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2] as Unit]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * Parses a duration to milliseconds.
 * @throws FlowgateError('bad_request') when `s` is not a duration.
 */
export function parseDuration(s: string | number): number {
  const ms = tryParse(s);
  if (ms === undefined) {
    const shown = typeof s === 'string' ? JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s) : String(s);
    throw new FlowgateError('bad_request', `${shown} is not a duration (expected e.g. 250ms, 30s, 5m, 2h, 1d)`);
  }
  return ms;
}

/** True when `s` parses as a duration. */
export function isDuration(s: unknown): s is string | number {
  return tryParse(s) !== undefined;
}

/**
 * The shortest exact rendering of `ms` in one unit (`90000` → `90s`, `86400000` → `1d`,
 * `1500` → `1500ms`), so that `parseDuration(formatDuration(x)) === x` for any whole `x ≥ 0`.
 * Negative or fractional input is rounded and clamped to 0.
 */
export function formatDuration(ms: number): string {
  const v = Number.isFinite(ms) ? Math.max(0, Math.round(ms)) : 0;
  if (v === 0) return '0ms';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (v % UNIT_MS[unit] === 0) return `${v / UNIT_MS[unit]}${unit}`;
  }
  return `${v}ms`;
}
