/**
 * Field paths as reported in problems: `steps[2].next`, `params.amount.type`, `steps[1].set.fee`.
 * A key that is not a plain word (letters, digits, `_`, `-`, `$`, `@`) is written `["key"]`.
 */

import type { Json, JsonObject } from './types.js';

const PLAIN_KEY = /^[A-Za-z0-9_$@-]+$/;

/** `base.key` (or `key` when base is empty); odd keys become `base["odd key"]`. */
export function joinPath(base: string, key: string): string {
  if (PLAIN_KEY.test(key)) return base === '' ? key : `${base}.${key}`;
  return `${base}[${JSON.stringify(key)}]`;
}

/** `base[i]`. */
export function indexPath(base: string, i: number): string {
  return `${base}[${i}]`;
}

/** Sets `obj[key] = value` as an own property, also for the key `__proto__`. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/**
 * `{ ...a, ...b }` for JSON objects, as own properties (also `__proto__`). Spreads over objects of
 * many hidden classes (run data parsed from every caller's JSON) take V8's slow path; copying key
 * by key is an order of magnitude cheaper there.
 */
export function mergeOwn(a: JsonObject, b: JsonObject): JsonObject {
  const out: JsonObject = {};
  copyOwn(out, a);
  copyOwn(out, b);
  return out;
}

function copyOwn(out: JsonObject, src: JsonObject): void {
  const keys = Object.keys(src);
  for (let i = 0; i < keys.length; i++) setOwn(out, keys[i], src[keys[i]]);
}

/** A deep copy of a JSON value (a default or a constant template must not be shared between runs). */
export function cloneJson(v: Json): Json {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(cloneJson);
  const out: JsonObject = {};
  for (const k of Object.keys(v)) setOwn(out, k, cloneJson(v[k]));
  return out;
}

/** A plain object: not null, not an array, created by `{}`/JSON/YAML (or with a null prototype). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
