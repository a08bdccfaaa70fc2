/**
 * JSONata expressions and `{{ expr }}` templates.
 *
 * - An expression is bare JSONata (`when:`, `until:`, `items:`, a string `progress:`).
 * - A template is any JSON value; strings in it may hold `{{ expr }}`. A string that is exactly one
 *   `{{ … }}` (outer spaces ignored) yields the expression's typed value (undefined → null);
 *   otherwise the pieces are joined as text (objects/arrays as JSON, null/undefined as "").
 *
 * Evaluation: the JSONata input is `scope.data`; each `scope.vars` entry is bound as `$name`
 * (except that `now` is left to JSONata's own `$now()` in an expression that calls it).
 * Results are plain JSON: sequences become arrays, functions are dropped (null inside arrays),
 * undefined becomes null in arrays and is omitted in objects, non-finite numbers become null.
 *
 * Guards: JSONata can loop forever on a user expression. jsonata 2.2 checks the nesting depth on
 * every node it evaluates (its `stack` option). Time is ours: jsonata calls `onNode` before every
 * node, and an evaluation that has run for SLICE_MS yields to the event loop (one `setImmediate`), so
 * a runaway expression never holds up the server's other requests for longer than that; one that
 * has used more than its budget (`timeoutMs`, counted while it runs, not while it waits) fails with
 * `timed out`. JSONata's own `timeout` is wall time, which other work would eat into once expressions
 * yield. Only expressions outside the direct subset (fast-expr.ts) reach jsonata, and the hook costs
 * them ≈ 1.5–3 µs per evaluation (measured on 5–9 µs expressions). Every compiled expression shares
 * one options object and the limits below, so `setExpressionLimits` applies at once to cached
 * expressions too.
 */
import jsonata from 'jsonata';
import { NOT_SYNC, type Expression, type Scope, type Template } from './compiled.js';
import type { FieldProblem } from './errors.js';
import { compileFast, FALLBACK, type FastEval } from './fast-expr.js';
import { cloneJson, indexPath, isPlainObject, joinPath, setOwn } from './path.js';
import { RegexEngine, regexProblem } from './regex.js';
import type { Json, JsonObject } from './types.js';

// ---------------------------------------------------------------- errors and limits

export class ExpressionError extends Error {
  readonly code = 'expression_error' as const;
  /** The expression's source. */
  readonly expression: string;
  /** JSONata's error code (e.g. `T2001`, `D1012`), when it gave one. */
  readonly jsonataCode?: string;

  constructor(message: string, expression: string, jsonataCode?: string) {
    super(message);
    this.name = 'ExpressionError';
    this.expression = expression;
    this.jsonataCode = jsonataCode;
  }
}

export interface ExpressionLimits {
  /** Budget of one evaluation, in ms of running (time it spends yielded to other work is not counted). */
  timeoutMs: number;
  /** Maximum nesting of evaluation (recursion depth). */
  maxDepth: number;
}

/**
 * Shared with every compiled jsonata expression (read by jsonata at each evaluation). Regex literals
 * run on RE2 (src/core/regex.ts), never on JavaScript's backtracking engine.
 */
const jsonataOptions = { stack: 500, RegexEngine: RegexEngine as unknown as RegExpConstructor };
/** Budget of one evaluation: milliseconds it may run (time spent yielded to other work not counted). */
let timeoutMs = 1000;
/** The longest an evaluation runs before it lets the event loop serve other work (ms). */
const SLICE_MS = 10;

const CLOCK = Symbol('flowgate.expressionClock');
interface EvaluationClock {
  /** Milliseconds run in earlier slices. */
  used: number;
  /** When the current slice began (performance.now()). */
  sliceStart: number;
}
type EvaluationBase = { [CLOCK]?: EvaluationClock; RegexEngine?: unknown };

/**
 * The regex engine of one evaluation: RegexEngine, checking the evaluation's budget before every
 * match. A function jsonata calls with `new`; it answers the object it builds.
 */
function budgetedRegexEngine(clock: EvaluationClock): (pattern: RegExp) => RegexEngine {
  const check = (): void => {
    if (clock.used + (performance.now() - clock.sliceStart) > timeoutMs) throw { code: 'D1012', value: timeoutMs };
  };
  return function (pattern: RegExp): RegexEngine {
    return new RegexEngine(pattern, undefined, check);
  };
}

/**
 * jsonata's `__evaluate_entry` hook: called (and awaited) before every node. `environment.base` is
 * the one evaluation's root frame, so concurrent evaluations of one expression keep separate clocks.
 */
function onNode(_expr: unknown, _input: unknown, environment: { base: EvaluationBase }): Promise<void> | undefined {
  const base = environment.base;
  const now = performance.now();
  const clock = base[CLOCK];
  if (clock === undefined) {
    base[CLOCK] = { used: 0, sliceStart: now };
    return undefined;
  }
  const slice = now - clock.sliceStart;
  if (clock.used + slice > timeoutMs) throw { code: 'D1012', value: timeoutMs };
  if (slice < SLICE_MS) return undefined;
  clock.used += slice;
  return new Promise((resolve) => setImmediate(() => {
    clock.sliceStart = performance.now();
    resolve();
  }));
}

/**
 * The hook of an expression with a regex literal. A regex function (`$match`, `$replace`, `$split`,
 * `$contains`) matches in a loop of its own that reaches no node, so the evaluation's regex engine
 * checks the budget before each match itself.
 */
function onNodeWithRegex(expr: { type?: string }, input: unknown, environment: { base: EvaluationBase }): Promise<void> | undefined {
  const out = onNode(expr, input, environment);
  const base = environment.base;
  if (expr.type === 'regex' && base.RegexEngine === RegexEngine) base.RegexEngine = budgetedRegexEngine(base[CLOCK] as EvaluationClock);
  return out;
}

export function setExpressionLimits(limits: Partial<ExpressionLimits>): void {
  if (limits.timeoutMs !== undefined) {
    if (!(limits.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    timeoutMs = limits.timeoutMs;
  }
  if (limits.maxDepth !== undefined) {
    if (!(limits.maxDepth > 0)) throw new RangeError('maxDepth must be positive');
    jsonataOptions.stack = limits.maxDepth;
  }
}

export function getExpressionLimits(): ExpressionLimits {
  return { timeoutMs, maxDepth: jsonataOptions.stack };
}

const quote = (source: string): string => JSON.stringify(source.length > 200 ? `${source.slice(0, 200)}…` : source);

/** Replaces secret values (strings of 4+ characters in `vars.secrets`) in a message. */
function redact(message: string, vars: Record<string, unknown> | undefined): string {
  const secrets = vars?.secrets;
  if (!secrets || typeof secrets !== 'object') return message;
  let out = message;
  for (const v of Object.values(secrets as Record<string, unknown>)) {
    if (typeof v === 'string' && v.length >= 4 && out.includes(v)) out = out.split(v).join('[redacted]');
  }
  return out;
}

function toExpressionError(e: unknown, source: string, vars?: Record<string, unknown>): ExpressionError {
  if (e instanceof ExpressionError) return e;
  const err = (e ?? {}) as { code?: unknown; message?: unknown; position?: unknown };
  const code = typeof err.code === 'string' ? err.code : undefined;
  if (code === 'D1012') {
    return new ExpressionError(`expression timed out after ${timeoutMs} ms: ${quote(source)}`, source, code);
  }
  if (code === 'D1011' || (e instanceof RangeError && /call stack/i.test(e.message))) {
    return new ExpressionError(
      `expression too deeply nested (more than ${jsonataOptions.stack} levels): ${quote(source)}`, source, code,
    );
  }
  const msg = typeof err.message === 'string' ? err.message : String(e);
  const at = typeof err.position === 'number' && err.position > 0 ? ` (at position ${err.position})` : '';
  return new ExpressionError(redact(`expression ${quote(source)} failed: ${msg}${at}`, vars), source, code);
}

// ---------------------------------------------------------------- JSON conversion

function isJsonataFunction(v: object): boolean {
  const o = v as Record<string, unknown>;
  return o._jsonata_lambda === true || o._jsonata_function === true;
}

/** A JSONata result as plain JSON (undefined at the top stays undefined). */
export function toPlainJson(v: unknown): Json | undefined {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'bigint':
      return Number(v);
    case 'object': {
      if (v === null) return null;
      if (Array.isArray(v)) {
        const out: Json[] = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const x = toPlainJson(v[i]);
          out[i] = x === undefined ? null : x;
        }
        return out;
      }
      if (v instanceof Date) return v.toISOString();
      if (isJsonataFunction(v)) return undefined;
      const out: JsonObject = {};
      for (const k of Object.keys(v)) {
        const x = toPlainJson((v as Record<string, unknown>)[k]);
        if (x !== undefined) setOwn(out, k, x);
      }
      return out;
    }
    default:
      return undefined;
  }
}


// ---------------------------------------------------------------- expressions

/** `fast`: a direct evaluator when the expression is in the simple subset (src/core/fast-expr.ts). */
type Compiled = { ok: true; expr: jsonata.Expression; callsNow: boolean; fast: FastEval | null } | { ok: false; message: string };

const CACHE_SIZE = 1000;
const cache = new Map<string, Compiled>();

function compileSource(source: string): Compiled {
  const hit = cache.get(source);
  if (hit) {
    cache.delete(source);
    cache.set(source, hit);
    return hit;
  }
  let entry: Compiled;
  if (source.trim() === '') {
    entry = { ok: false, message: 'empty expression' };
  } else {
    try {
      const expr = jsonata(source, jsonataOptions);
      const regexes = regexesOf(expr.ast());
      expr.assign(Symbol.for('jsonata.__evaluate_entry') as unknown as string, regexes.length > 0 ? onNodeWithRegex : onNode);
      const refused = firstRefused(regexes);
      if (refused !== null) {
        entry = { ok: false, message: `invalid expression ${quote(source)}: regex /${refused.source}/ ${refused.message}` };
      } else {
        const callsNow = /\$now\s*\(/.test(source);
        entry = { ok: true, expr, callsNow, fast: callsNow ? null : compileFast(expr.ast()) };
      }
    } catch (e) {
      const err = e as { message?: string; position?: number };
      const at = typeof err.position === 'number' ? ` (at position ${err.position})` : '';
      entry = { ok: false, message: `invalid expression ${quote(source)}: ${err.message ?? String(e)}${at}` };
    }
  }
  cache.set(source, entry);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return entry;
}

/** The regex literals of a parsed expression. */
function regexesOf(ast: unknown): RegExp[] {
  const out: RegExp[] = [];
  const seen = new Set<object>();
  const stack: unknown[] = [ast];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    if (node instanceof RegExp) out.push(node);
    else for (const v of Object.values(node)) if (typeof v === 'object' && v !== null) stack.push(v);
  }
  return out;
}

/** The first regex that RE2 cannot run, with why; null when none. */
function firstRefused(regexes: RegExp[]): { source: string; message: string } | null {
  for (const re of regexes) {
    const message = regexProblem(re.source, re.flags);
    if (message !== null) return { source: re.source, message };
  }
  return null;
}

/** Evaluates a compiled JSONata expression against a scope; the raw (non-JSON) result. */
async function run(c: Extract<Compiled, { ok: true }>, source: string, scope: Scope): Promise<unknown> {
  let bindings = scope.vars;
  if (c.callsNow && bindings && Object.prototype.hasOwnProperty.call(bindings, 'now')) {
    bindings = { ...bindings };
    delete bindings.now;
  }
  try {
    return await c.expr.evaluate(scope.data, bindings);
  } catch (e) {
    throw toExpressionError(e, source, scope.vars);
  }
}

type SyncResult = Json | undefined | typeof NOT_SYNC;
const orNull = (v: Json | undefined): Json => (v === undefined ? null : v);

class CompiledExpression implements Expression {
  constructor(readonly source: string, private readonly compiled: Compiled) {}

  evaluate(scope: Scope): Promise<Json> {
    const v = this.trySyncRaw(scope);
    return v !== NOT_SYNC ? Promise.resolve(v === undefined ? null : v) : this.evaluateJsonata(scope).then(orNull);
  }

  trySync(scope: Scope): Json | typeof NOT_SYNC {
    const v = this.trySyncRaw(scope);
    return v === undefined ? null : v;
  }

  /** The raw JSONata result (undefined when nothing matched), for callers that need the difference. */
  evaluateRaw(scope: Scope): Promise<Json | undefined> {
    const v = this.trySyncRaw(scope);
    return v !== NOT_SYNC ? Promise.resolve(v) : this.evaluateJsonata(scope);
  }

  /** The raw result by JSONata itself (when `trySync` did not answer). */
  evaluateJsonata(scope: Scope): Promise<Json | undefined> {
    const c = this.compiled;
    if (!c.ok) return Promise.reject(this.broken(c.message));
    return run(c, this.source, scope).then(toPlainJson);
  }

  /** The raw result when the direct evaluator (src/core/fast-expr.ts) answers it, else NOT_SYNC. */
  trySyncRaw(scope: Scope): SyncResult {
    const c = this.compiled;
    if (!c.ok || c.fast === null) return NOT_SYNC;
    const v = c.fast(scope.data, scope);
    return v === FALLBACK ? NOT_SYNC : toPlainJson(v);
  }

  private broken(message: string): ExpressionError {
    const text = message.startsWith('invalid expression') ? message : `expression ${quote(this.source)} cannot run: ${message}`;
    return new ExpressionError(text, this.source);
  }
}

export type { CompiledExpression };

/**
 * Compiles a bare JSONata expression. A syntax error adds `{ path, message }` to `problems` and
 * yields an Expression whose evaluation throws ExpressionError. Compilations are cached by source.
 */
export function compileExpression(source: string, path: string, problems: FieldProblem[]): CompiledExpression {
  const bare = bareExpression(source);
  const c = compileSource(bare);
  if (!c.ok) problems.push({ path, message: c.message });
  return new CompiledExpression(bare, c);
}

/**
 * A field that takes an expression (`items`, `when`, `progress`, …) also takes it wrapped in `{{ }}`,
 * as users of other tools write it: `"{{ [1..count] }}"` means `[1..count]`. (No JSONata expression
 * both starts with `{{` and ends with `}}` as one template piece.)
 */
export function bareExpression(source: string): string {
  const t = source.trim();
  if (!t.startsWith('{{') || !t.endsWith('}}')) return source;
  const { pieces, error } = splitTemplate(t);
  return !error && pieces.length === 1 && 'expr' in pieces[0] ? pieces[0].expr : source;
}

// ---------------------------------------------------------------- templates

type Piece = string | CompiledExpression;

/**
 * Splits a string into literal text and `{{ expr }}` pieces. The end of an expression is the first
 * `}}` outside string literals, comments and braces the expression opened itself, so
 * `{{ {"a": {"b": 1}} }}` is one expression.
 */
export function splitTemplate(s: string): { pieces: Array<{ text: string } | { expr: string }>; error?: string } {
  const pieces: Array<{ text: string } | { expr: string }> = [];
  let i = 0;
  while (i < s.length) {
    const open = s.indexOf('{{', i);
    if (open < 0) {
      pieces.push({ text: s.slice(i) });
      break;
    }
    if (open > i) pieces.push({ text: s.slice(i, open) });
    let j = open + 2;
    let depth = 0;
    let end = -1;
    while (j < s.length) {
      const ch = s[j];
      if (ch === '"' || ch === "'" || ch === '`') {
        j++;
        while (j < s.length && s[j] !== ch) j += s[j] === '\\' && ch !== '`' ? 2 : 1;
        j++;
      } else if (ch === '/' && s[j + 1] === '*') {
        const close = s.indexOf('*/', j + 2);
        j = close < 0 ? s.length : close + 2;
      } else if (ch === '{') {
        depth++;
        j++;
      } else if (ch === '}') {
        if (depth === 0 && s[j + 1] === '}') {
          end = j;
          break;
        }
        if (depth > 0) depth--;
        j++;
      } else {
        j++;
      }
    }
    if (end < 0) return { pieces, error: `unterminated {{ starting at character ${open + 1}` };
    pieces.push({ expr: s.slice(open + 2, end).trim() });
    i = end + 2;
  }
  return { pieces };
}

const textOf = (v: Json | undefined): string => {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

/**
 * Every template can try to evaluate synchronously (`trySync`), which succeeds when every expression
 * in it is answered by the direct evaluator; `evaluate` then costs one resolved promise instead of
 * one per expression. Otherwise it evaluates asynchronously from the start (expressions are pure,
 * so the part already computed is simply computed again).
 */
abstract class BaseTemplate implements Template {
  abstract readonly constant: boolean;
  abstract trySync(scope: Scope): Json | typeof NOT_SYNC;
  protected abstract evaluateAsync(scope: Scope): Promise<Json>;

  evaluate(scope: Scope): Promise<Json> {
    const v = this.trySync(scope);
    return v !== NOT_SYNC ? Promise.resolve(v) : this.evaluateAsync(scope);
  }
}

class ConstantTemplate extends BaseTemplate {
  readonly constant = true;
  constructor(private readonly value: Json) {
    super();
  }
  /** Primitives are returned as they are; objects and arrays as a fresh copy (callers may mutate). */
  trySync(): Json {
    return cloneJson(this.value);
  }
  protected evaluateAsync(): Promise<Json> {
    return Promise.resolve(cloneJson(this.value));
  }
}

class TypedTemplate extends BaseTemplate {
  readonly constant = false;
  constructor(private readonly expr: CompiledExpression) {
    super();
  }
  trySync(scope: Scope): Json | typeof NOT_SYNC {
    return this.expr.trySync(scope);
  }
  protected evaluateAsync(scope: Scope): Promise<Json> {
    return this.expr.evaluateJsonata(scope).then(orNull);
  }
}

class TextTemplate extends BaseTemplate {
  readonly constant = false;
  constructor(private readonly pieces: Piece[]) {
    super();
  }
  trySync(scope: Scope): Json | typeof NOT_SYNC {
    let out = '';
    for (const p of this.pieces) {
      if (typeof p === 'string') out += p;
      else {
        const v = p.trySyncRaw(scope);
        if (v === NOT_SYNC) return NOT_SYNC;
        out += textOf(v);
      }
    }
    return out;
  }
  protected async evaluateAsync(scope: Scope): Promise<Json> {
    let out = '';
    for (const p of this.pieces) out += typeof p === 'string' ? p : textOf(await p.evaluateRaw(scope));
    return out;
  }
}

class ArrayTemplate extends BaseTemplate {
  readonly constant = false;
  constructor(private readonly items: BaseTemplate[]) {
    super();
  }
  trySync(scope: Scope): Json | typeof NOT_SYNC {
    const out: Json[] = new Array(this.items.length);
    for (let i = 0; i < this.items.length; i++) {
      const v = this.items[i].trySync(scope);
      if (v === NOT_SYNC) return NOT_SYNC;
      out[i] = v;
    }
    return out;
  }
  protected async evaluateAsync(scope: Scope): Promise<Json> {
    const out: Json[] = new Array(this.items.length);
    for (let i = 0; i < this.items.length; i++) out[i] = await this.items[i].evaluate(scope);
    return out;
  }
}

class ObjectTemplate extends BaseTemplate {
  readonly constant = false;
  constructor(private readonly entries: Array<[string, BaseTemplate]>) {
    super();
  }
  trySync(scope: Scope): Json | typeof NOT_SYNC {
    const out: JsonObject = {};
    for (const [k, t] of this.entries) {
      const v = t.trySync(scope);
      if (v === NOT_SYNC) return NOT_SYNC;
      setOwn(out, k, v);
    }
    return out;
  }
  protected async evaluateAsync(scope: Scope): Promise<Json> {
    const out: JsonObject = {};
    for (const [k, t] of this.entries) setOwn(out, k, await t.evaluate(scope));
    return out;
  }
}

function compileString(s: string, path: string, problems: FieldProblem[]): BaseTemplate {
  if (!s.includes('{{')) return new ConstantTemplate(s);
  const { pieces, error } = splitTemplate(s);
  if (error) {
    problems.push({ path, message: error });
    return new TypedTemplate(new CompiledExpression(s, { ok: false, message: error }));
  }
  const exprs = pieces.filter((p): p is { expr: string } => 'expr' in p);
  if (exprs.length === 1 && pieces.every((p) => 'expr' in p || p.text.trim() === '')) {
    return new TypedTemplate(compileExpression(exprs[0].expr, path, problems));
  }
  return new TextTemplate(pieces.map((p) => ('text' in p ? p.text : compileExpression(p.expr, path, problems))));
}

function compileValue(value: unknown, path: string, problems: FieldProblem[]): BaseTemplate {
  if (typeof value === 'string') return compileString(value, path, problems);
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileValue(v, indexPath(path, i), problems));
    if (items.every((t) => t.constant)) return new ConstantTemplate(toPlainJson(value) ?? null);
    return new ArrayTemplate(items);
  }
  if (isPlainObject(value)) {
    const entries: Array<[string, BaseTemplate]> = Object.keys(value).map((k) => [k, compileValue(value[k], joinPath(path, k), problems)]);
    if (entries.every(([, t]) => t.constant)) return new ConstantTemplate(toPlainJson(value) ?? null);
    return new ObjectTemplate(entries);
  }
  if (value === undefined) return new ConstantTemplate(null);
  const plain = toPlainJson(value);
  if (plain === undefined || (typeof value === 'number' && !Number.isFinite(value))) {
    problems.push({ path, message: 'is not a JSON value' });
    return new ConstantTemplate(null);
  }
  return new ConstantTemplate(plain);
}

/**
 * Compiles a template value (string, array, object, or scalar). Problems (syntax errors,
 * unterminated `{{`) are added with nested paths such as `steps[1].set.fee`.
 */
export function compileTemplate(value: unknown, path: string, problems: FieldProblem[]): Template {
  return compileValue(value, path, problems);
}

/** True when a value holds `{{` anywhere (so it is not a constant template). */
export function hasTemplate(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('{{');
  if (Array.isArray(value)) return value.some(hasTemplate);
  if (isPlainObject(value)) return Object.keys(value).some((k) => hasTemplate(value[k]));
  return false;
}

/** Evaluates a template and returns its value (convenience for one-off use). */
export async function evaluateTemplateValue(value: unknown, scope: Scope, path = ''): Promise<Json> {
  const problems: FieldProblem[] = [];
  const t = compileTemplate(value, path, problems);
  if (problems.length > 0) throw new ExpressionError(problems.map((p) => p.message).join('; '), typeof value === 'string' ? value : JSON.stringify(value));
  return t.evaluate(scope);
}

/** Evaluates a bare expression source (compiled once, cached) against a scope. */
export async function evaluateExpression(source: string, scope: Scope): Promise<Json> {
  const problems: FieldProblem[] = [];
  return compileExpression(source, '', problems).evaluate(scope);
}

/** JSONata truthiness of an evaluated value (for `when:`): false, null, 0, "", [] and {} are false. */
export function isTruthy(v: Json | undefined): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.some((x) => isTruthy(x));
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}
