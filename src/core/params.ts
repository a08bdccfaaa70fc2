/**
 * Declared workflow params: checking a trigger's input against them (with coercion of string
 * values from forms, CSV, XML and query strings), and checking the specs themselves when a
 * definition is saved.
 *
 * Coercion (only when the value is not already of the declared type):
 * - number/integer: a string holding a decimal number (`"10"`, `" -1.5e3 "`) becomes that number.
 * - boolean: `true/false/1/0/yes/no/on/off` (any case, as strings) and the numbers 1/0.
 * - object/array: a string holding JSON text of that kind.
 * - string: a finite number or a boolean becomes its text (`12345` → `"12345"`).
 *
 * "No value" (`null`, `""`, missing): the default when there is one, else "is required" for a
 * required param; an optional param without default keeps `null` (and `""` for strings, `null`
 * for other types) and is not checked further; a missing one stays missing.
 *
 * `compileParams` precompiles a spec set (regexes, enum sets) once; its result is cached by the
 * identity of the specs object, so calling `applyParams` on every trigger costs no compilation.
 */
import { isInexactInteger } from './exact-integers.js';
import type { FieldProblem } from './errors.js';
import { UUID_RE } from './ids.js';
import { compileUserRegex, RegexError, regexProblem, type UserRegex } from './regex.js';
import { cloneJson, isPlainObject, joinPath, setOwn } from './path.js';
import type { Json, JsonObject, ParamFormat, ParamSpec, ParamType } from './types.js';

export const PARAM_TYPES: readonly ParamType[] = ['string', 'number', 'integer', 'boolean', 'object', 'array'];
export const PARAM_FORMATS: readonly ParamFormat[] = ['email', 'uri', 'date-time', 'uuid'];
/** The fields of a param spec, in the order normalized definitions use. */
const SPEC_FIELDS = [
  'type', 'description', 'required', 'default', 'enum', 'pattern', 'format',
  'minimum', 'maximum', 'minLength', 'maxLength',
] as const;
const PARAM_NAME_RE = /^[^\s\p{Cc}]{1,128}$/u;

export type ParamsResult = { ok: true; data: JsonObject } | { ok: false; errors: FieldProblem[] };

export interface CompiledParams {
  readonly undeclared: 'keep' | 'reject';
  apply(input: Record<string, unknown>): ParamsResult;
}

// ---------------------------------------------------------------- values

const FAIL: unique symbol = Symbol('fail');
/** An integer a number cannot hold exactly: refused rather than rounded. */
const INEXACT: unique symbol = Symbol('inexact');
type Coerced = Json | typeof FAIL | typeof INEXACT;
const INEXACT_MESSAGE = `is an integer outside the range a number holds exactly (±${Number.MAX_SAFE_INTEGER}); declare the param type: string to keep its digits`;

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

const TYPE_MESSAGES: Record<ParamType, string> = {
  string: 'must be a string',
  number: 'must be a number',
  integer: 'must be an integer',
  boolean: 'must be a boolean (true or false)',
  object: 'must be an object',
  array: 'must be an array',
};

/** True when `v` already has the declared type (no coercion). */
function hasType(type: ParamType, v: unknown): boolean {
  switch (type) {
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'boolean': return typeof v === 'boolean';
    case 'object': return isPlainObject(v);
    case 'array': return Array.isArray(v);
  }
}

function parseJsonText(s: string, open: string): unknown {
  const t = s.trim();
  if (!t.startsWith(open)) return FAIL;
  try {
    return JSON.parse(t);
  } catch {
    return FAIL;
  }
}

/** The value converted to the declared type, or FAIL. */
function coerce(type: ParamType, v: unknown): Coerced {
  if (hasType(type, v)) return v as Json;
  switch (type) {
    case 'string':
      if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
      return FAIL;
    case 'number':
    case 'integer': {
      if (typeof v !== 'string') return FAIL;
      const t = v.trim();
      if (!NUMBER_RE.test(t)) return FAIL;
      if (isInexactInteger(t)) return INEXACT;
      const n = Number(t);
      if (!Number.isFinite(n) || (type === 'integer' && !Number.isInteger(n))) return FAIL;
      return n;
    }
    case 'boolean': {
      if (v === 1 || v === 0) return v === 1;
      if (typeof v !== 'string') return FAIL;
      const t = v.trim().toLowerCase();
      if (TRUE_WORDS.has(t)) return true;
      if (FALSE_WORDS.has(t)) return false;
      return FAIL;
    }
    case 'object': {
      if (typeof v !== 'string') return FAIL;
      const parsed = parseJsonText(v, '{');
      return isPlainObject(parsed) ? (parsed as Json) : FAIL;
    }
    case 'array': {
      if (typeof v !== 'string') return FAIL;
      const parsed = parseJsonText(v, '[');
      return Array.isArray(parsed) ? (parsed as Json) : FAIL;
    }
  }
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

// ---------------------------------------------------------------- formats

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const URI_SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

function isEmail(s: string): boolean {
  return s.length <= 254 && EMAIL_RE.test(s);
}

function isUri(s: string): boolean {
  if (!URI_SCHEME_RE.test(s) || /\s/.test(s)) return false;
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

/** RFC 3339 `date-time` (the `T` may be lowercase; seconds may be 60 for a leap second). */
export function isDateTime(s: string): boolean {
  const m = DATE_TIME_RE.exec(s);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (day > days) return false;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) return false;
  if (m[7] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return false;
  return true;
}

const FORMAT_CHECKS: Record<ParamFormat, { test: (s: string) => boolean; message: string }> = {
  email: { test: isEmail, message: 'must be an email address' },
  uri: { test: isUri, message: 'must be an absolute URI' },
  'date-time': { test: isDateTime, message: 'must be an RFC 3339 date-time (e.g. 2024-05-01T12:00:00Z)' },
  uuid: { test: (s) => UUID_RE.test(s), message: 'must be a UUID' },
};

// ---------------------------------------------------------------- compiled checks

type Constraint = (v: Json) => string | null;

interface ParamCheck {
  name: string;
  type: ParamType;
  required: boolean;
  hasDefault: boolean;
  default: Json;
  constraints: Constraint[];
}

const show = (v: Json): string => (typeof v === 'string' ? v : JSON.stringify(v));
const codePoints = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};
const lengthOf = (v: Json): number | null =>
  typeof v === 'string' ? codePoints(v) : Array.isArray(v) ? v.length : null;
const lengthUnit = (type: ParamType, n: number): string =>
  type === 'array' ? (n === 1 ? 'item' : 'items') : n === 1 ? 'character' : 'characters';

/** A spec pattern's check, on RE2 (src/core/regex.ts): linear-time, whatever the value. */
function patternConstraint(pattern: string): Constraint {
  const message = `must match ${pattern}`;
  let re: UserRegex;
  try {
    re = compileUserRegex(pattern);
  } catch (e) {
    // A version stored before such patterns were refused at save time: each value is refused, saying why.
    if (!(e instanceof RegexError)) throw e;
    const refused = `cannot be checked: the workflow's pattern ${pattern} ${e.message}`;
    return (v) => (typeof v === 'string' ? refused : null);
  }
  return (v) => {
    if (typeof v !== 'string') return null;
    try {
      return re.test(v) ? null : message;
    } catch (e) {
      if (e instanceof RegexError) return `${message}, and ${e.message}`;
      throw e;
    }
  };
}

function buildCheck(name: string, spec: ParamSpec): ParamCheck {
  const constraints: Constraint[] = [];
  const { type } = spec;
  if (spec.enum !== undefined) {
    const values = spec.enum;
    const scalars = new Set<Json>(values.filter((x) => typeof x !== 'object' || x === null));
    const message = `must be one of: ${values.map(show).join(', ')}`;
    constraints.push((v) =>
      scalars.has(v) || (typeof v === 'object' && v !== null && values.some((e) => jsonEqual(e, v))) ? null : message,
    );
  }
  if (typeof spec.minimum === 'number') {
    const min = spec.minimum;
    constraints.push((v) => (typeof v === 'number' && v < min ? `must be at least ${min}` : null));
  }
  if (typeof spec.maximum === 'number') {
    const max = spec.maximum;
    constraints.push((v) => (typeof v === 'number' && v > max ? `must be at most ${max}` : null));
  }
  if (typeof spec.minLength === 'number') {
    const min = spec.minLength;
    constraints.push((v) => {
      const n = lengthOf(v);
      return n !== null && n < min ? `must be at least ${min} ${lengthUnit(type, min)} long` : null;
    });
  }
  if (typeof spec.maxLength === 'number') {
    const max = spec.maxLength;
    constraints.push((v) => {
      const n = typeof v === 'string' && v.length <= max ? 0 : lengthOf(v);
      return n !== null && n > max ? `must be at most ${max} ${lengthUnit(type, max)} long` : null;
    });
  }
  if (typeof spec.pattern === 'string') constraints.push(patternConstraint(spec.pattern));
  if (spec.format !== undefined && FORMAT_CHECKS[spec.format]) {
    const f = FORMAT_CHECKS[spec.format];
    constraints.push((v) => (typeof v === 'string' && !f.test(v) ? f.message : null));
  }
  return {
    name,
    type,
    required: spec.required === true,
    hasDefault: spec.default !== undefined,
    default: spec.default === undefined ? null : spec.default,
    constraints,
  };
}

/** Checks an already-typed value against the constraints, pushing one problem per failure. */
function checkConstraints(check: ParamCheck, value: Json, path: string, out: FieldProblem[]): void {
  for (const c of check.constraints) {
    const message = c(value);
    if (message !== null) out.push({ path, message });
  }
}

class ParamSet implements CompiledParams {
  private readonly checks: ParamCheck[];
  private readonly declared: Set<string>;

  constructor(specs: Record<string, ParamSpec>, readonly undeclared: 'keep' | 'reject') {
    this.checks = Object.keys(specs).map((name) => buildCheck(name, specs[name]));
    this.declared = new Set(Object.keys(specs));
  }

  apply(input: Record<string, unknown>): ParamsResult {
    if (!isPlainObject(input)) return { ok: false, errors: [{ path: '', message: 'params must be an object' }] };
    const errors: FieldProblem[] = [];
    const data: JsonObject = {};
    for (const check of this.checks) {
      const name = check.name;
      const raw = Object.prototype.hasOwnProperty.call(input, name) ? input[name] : undefined;
      if (raw === undefined || raw === null || raw === '') {
        if (check.hasDefault) setOwn(data, name, cloneJson(check.default));
        else if (check.required) errors.push({ path: name, message: 'is required' });
        else if (raw === null || (raw === '' && check.type !== 'string')) setOwn(data, name, null);
        else if (raw === '') setOwn(data, name, '');
        continue;
      }
      const value = coerce(check.type, raw);
      if (value === INEXACT || value === FAIL) {
        errors.push({ path: name, message: value === INEXACT ? INEXACT_MESSAGE : TYPE_MESSAGES[check.type] });
        continue;
      }
      checkConstraints(check, value, name, errors);
      setOwn(data, name, value);
    }
    for (const key of Object.keys(input)) {
      if (this.declared.has(key)) continue;
      if (this.undeclared === 'reject') errors.push({ path: key, message: 'is not a declared param' });
      else setOwn(data, key, input[key]);
    }
    return errors.length > 0 ? { ok: false, errors } : { ok: true, data };
  }
}

const compiledCache = new WeakMap<object, { keep?: ParamSet; reject?: ParamSet }>();

/** A reusable checker for one spec set; cached by the identity of `specs`. */
export function compileParams(specs: Record<string, ParamSpec>, undeclared: 'keep' | 'reject'): CompiledParams {
  let entry = compiledCache.get(specs);
  if (!entry) {
    entry = {};
    compiledCache.set(specs, entry);
  }
  let set = entry[undeclared];
  if (!set) {
    set = new ParamSet(specs, undeclared);
    entry[undeclared] = set;
  }
  return set;
}

/** Applies declared params to a trigger's input: coerces, fills defaults, reports every problem. */
export function applyParams(
  specs: Record<string, ParamSpec>,
  undeclared: 'keep' | 'reject',
  input: Record<string, unknown>,
): ParamsResult {
  return compileParams(specs, undeclared).apply(input);
}

// ---------------------------------------------------------------- spec validation

const isNonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks one param spec, pushing problems with paths under `path`; returns true when usable. */
function validateSpec(spec: unknown, path: string, out: FieldProblem[]): spec is ParamSpec {
  if (!isPlainObject(spec)) {
    out.push({ path, message: 'must be a param spec (a mapping with at least `type`)' });
    return false;
  }
  const start = out.length;
  for (const key of Object.keys(spec)) {
    if (!(SPEC_FIELDS as readonly string[]).includes(key)) {
      out.push({ path: joinPath(path, key), message: `unknown field '${key}' (allowed: ${SPEC_FIELDS.join(', ')})` });
    }
  }
  const type = spec.type;
  const at = (k: string): string => joinPath(path, k);
  if (type === undefined) {
    out.push({ path: at('type'), message: `is required (one of: ${PARAM_TYPES.join(', ')})` });
  } else if (typeof type !== 'string' || !(PARAM_TYPES as readonly string[]).includes(type)) {
    out.push({ path: at('type'), message: `unknown param type ${JSON.stringify(type)} (one of: ${PARAM_TYPES.join(', ')})` });
  }
  const t = typeof type === 'string' && (PARAM_TYPES as readonly string[]).includes(type) ? (type as ParamType) : null;
  const numeric = t === 'number' || t === 'integer';
  const sized = t === 'string' || t === 'array';

  if (spec.description !== undefined && typeof spec.description !== 'string') out.push({ path: at('description'), message: 'must be a string' });
  if (spec.required !== undefined && typeof spec.required !== 'boolean') out.push({ path: at('required'), message: 'must be true or false' });

  if (spec.pattern !== undefined) {
    if (typeof spec.pattern !== 'string') out.push({ path: at('pattern'), message: 'must be a string (a regular expression)' });
    else if (t !== null && t !== 'string') out.push({ path: at('pattern'), message: 'applies only to string params' });
    else {
      const why = regexProblem(spec.pattern);
      if (why !== null) out.push({ path: at('pattern'), message: why });
    }
  }
  if (spec.format !== undefined) {
    if (typeof spec.format !== 'string' || !(PARAM_FORMATS as readonly string[]).includes(spec.format)) {
      out.push({ path: at('format'), message: `unknown format ${JSON.stringify(spec.format)} (one of: ${PARAM_FORMATS.join(', ')})` });
    } else if (t !== null && t !== 'string') {
      out.push({ path: at('format'), message: 'applies only to string params' });
    }
  }
  for (const k of ['minimum', 'maximum'] as const) {
    if (spec[k] === undefined) continue;
    if (!isFiniteNumber(spec[k])) out.push({ path: at(k), message: 'must be a number' });
    else if (t !== null && !numeric) out.push({ path: at(k), message: 'applies only to number and integer params' });
  }
  if (isFiniteNumber(spec.minimum) && isFiniteNumber(spec.maximum) && spec.minimum > spec.maximum) {
    out.push({ path: at('maximum'), message: `must not be less than minimum (${spec.minimum})` });
  }
  for (const k of ['minLength', 'maxLength'] as const) {
    if (spec[k] === undefined) continue;
    if (!isNonNegInt(spec[k])) out.push({ path: at(k), message: 'must be a non-negative integer' });
    else if (t !== null && !sized) out.push({ path: at(k), message: 'applies only to string and array params' });
  }
  if (isNonNegInt(spec.minLength) && isNonNegInt(spec.maxLength) && spec.minLength > spec.maxLength) {
    out.push({ path: at('maxLength'), message: `must not be less than minLength (${spec.minLength})` });
  }
  if (spec.enum !== undefined) {
    if (!Array.isArray(spec.enum) || spec.enum.length === 0) {
      out.push({ path: at('enum'), message: 'must be a non-empty list of allowed values' });
    } else if (t !== null) {
      spec.enum.forEach((v, i) => {
        if (!hasType(t, v)) out.push({ path: `${at('enum')}[${i}]`, message: TYPE_MESSAGES[t] });
      });
    }
  }
  if (out.length > start || t === null) return false;

  // The default must satisfy the spec itself, exactly as written (no coercion).
  if (spec.default !== undefined && spec.default !== null) {
    const dpath = at('default');
    if (!hasType(t, spec.default)) {
      out.push({ path: dpath, message: TYPE_MESSAGES[t] });
    } else {
      const check = buildCheck('default', spec as unknown as ParamSpec);
      checkConstraints(check, spec.default as Json, dpath, out);
    }
  } else if (spec.default === null) {
    out.push({ path: at('default'), message: 'must not be null (leave it out for no default)' });
  }
  return out.length === start;
}

/**
 * Problems of a `params` block (a mapping of param name → spec), with paths under `basePath`
 * (`params.amount.type`). Checks type names, field types, regex syntax, field/type fit,
 * min ≤ max, enum values, and that each default satisfies its own spec.
 */
export function validateParamSpecs(params: unknown, basePath: string): FieldProblem[] {
  const out: FieldProblem[] = [];
  if (params === undefined || params === null) return out;
  if (!isPlainObject(params)) {
    out.push({ path: basePath, message: 'must be a mapping of param name to param spec' });
    return out;
  }
  for (const name of Object.keys(params)) {
    const path = joinPath(basePath, name);
    if (!PARAM_NAME_RE.test(name)) {
      out.push({ path, message: 'param names must be 1 to 128 characters without spaces' });
      continue;
    }
    validateSpec(params[name], path, out);
  }
  return out;
}

/** A validated spec set rewritten with each spec's fields in one canonical order. */
export function normalizeParamSpecs(params: Record<string, ParamSpec>): Record<string, ParamSpec> {
  const out: Record<string, ParamSpec> = {};
  for (const name of Object.keys(params)) {
    const spec = params[name] as unknown as Record<string, unknown>;
    const norm: Record<string, unknown> = {};
    for (const k of SPEC_FIELDS) if (spec[k] !== undefined) norm[k] = spec[k];
    setOwn(out, name, norm);
  }
  return out;
}
