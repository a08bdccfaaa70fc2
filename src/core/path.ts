/**
 * Field paths as reported in problems: `steps[2].next`, `params.amount.type`, `steps[1].set.fee`.
 * A key that is not a plain word (letters, digits, `_`, `-`, `$`, `@`) is written `["key"]`.
 */

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

/** A plain object: not null, not an array, created by `{}`/JSON/YAML (or with a null prototype). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
