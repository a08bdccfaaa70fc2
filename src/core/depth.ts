/**
 * The nesting limit (docs/api.md "Limits"): how deeply objects and arrays may nest in any value that
 * enters Flowgate: request bodies of every format, callback bodies, `http` step answers, `code`
 * step results, workflow definitions, and a run's data as its steps change it.
 *
 * `{}` and `[]` are one level, `{"a": {"b": 1}}` two, a scalar none. A cyclic value (a YAML alias
 * that contains itself) is infinitely deep, so it is refused by the same rule.
 *
 * The check stops at the limit: it never recurses deeper than the limit allows, whatever it is given,
 * so it cannot itself run out of stack. Values nested thousands of levels deep break structured clone
 * (the store thread's transport), JSON.stringify and every recursive walk; the limit keeps them out.
 */
import { FlowgateError } from './errors.js';

/** The default limit (FLOWGATE_MAX_DEPTH). */
export const DEFAULT_MAX_DEPTH = 64;
/** The highest limit the server accepts: deeper values could not travel to the store thread safely. */
export const MAX_DEPTH_SETTING = 256;

let limit = DEFAULT_MAX_DEPTH;

/** The limit in force. */
export const maxDepth = (): number => limit;

/** Sets the limit (from FLOWGATE_MAX_DEPTH at start). */
export function setMaxDepth(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_DEPTH_SETTING) throw new RangeError(`the nesting limit must be an integer from 1 to ${MAX_DEPTH_SETTING}, got ${n}`);
  limit = n;
}

/** True when `value` nests objects or arrays deeper than `max` levels (cycles included). */
export function exceedsDepth(value: unknown, max: number = limit): boolean {
  return typeof value === 'object' && value !== null && deeper(value as object, max);
}

/** True when the container `v` (one level itself) nests deeper than `budget` levels. */
function deeper(v: object, budget: number): boolean {
  if (budget < 1) return true;
  const next = budget - 1;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' && x !== null && deeper(x, next)) return true;
    }
    return false;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    const x = o[k];
    if (typeof x === 'object' && x !== null && deeper(x, next)) return true;
  }
  return false;
}

/** "… nests deeper than 64 levels (the limit, FLOWGATE_MAX_DEPTH)": the one wording of the limit. */
export const tooDeepMessage = (what: string, max: number = limit): string =>
  `${what} nests objects or arrays deeper than ${max} levels (the nesting limit, FLOWGATE_MAX_DEPTH)`;

/** The `too_deep` problem (400) for `what`. */
export const tooDeep = (what: string, max: number = limit): FlowgateError =>
  new FlowgateError('too_deep', tooDeepMessage(what, max), { extra: { max_depth: max } });

/** Throws the `too_deep` problem when `value` nests deeper than the limit. */
export function checkDepth(value: unknown, what: string): void {
  if (exceedsDepth(value)) throw tooDeep(what);
}
