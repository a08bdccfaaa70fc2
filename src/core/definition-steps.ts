/**
 * Per-type rules of workflow steps (docs/spec.md §2, §6): which fields each step type takes, how each
 * field is checked, and which fields are templates or expressions once compiled.
 */
import { isDuration } from './duration.js';
import type { FieldProblem } from './errors.js';
import { indexPath, isPlainObject, joinPath } from './path.js';
import { compileExpression, compileTemplate } from './template.js';

export const WORKFLOW_ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const STEP_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export const SIGNATURE_SCHEMES = ['standard-webhooks', 'trifacta', 'corezoid'] as const;
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** What step checks collect besides problems: step references, resolved once all ids are known. */
export interface StepCheckContext {
  problems: FieldProblem[];
  warnings: FieldProblem[];
  refs: Array<{ path: string; target: string }>;
}

type FieldCheck = (value: unknown, path: string, ctx: StepCheckContext) => void;

const fail = (ctx: StepCheckContext, path: string, message: string): void => {
  ctx.problems.push({ path, message });
};

// ---------------------------------------------------------------- field checks

const stepRef: FieldCheck = (v, path, ctx) => {
  if (typeof v !== 'string' || v === '') return fail(ctx, path, 'must be a step id');
  ctx.refs.push({ path, target: v });
};

const duration: FieldCheck = (v, path, ctx) => {
  if (!isDuration(v)) fail(ctx, path, `${JSON.stringify(v)} is not a duration (e.g. 250ms, 30s, 5m, 2h, 1d)`);
};

const expression: FieldCheck = (v, path, ctx) => {
  if (typeof v !== 'string' || v.trim() === '') return fail(ctx, path, 'must be an expression (a non-empty string)');
  compileExpression(v, path, ctx.problems);
};

const template: FieldCheck = (v, path, ctx) => {
  compileTemplate(v, path, ctx.problems);
};

const templateString: FieldCheck = (v, path, ctx) => {
  if (typeof v !== 'string') return fail(ctx, path, 'must be a string');
  compileTemplate(v, path, ctx.problems);
};

const oneOf = (values: readonly string[]): FieldCheck => (v, path, ctx) => {
  if (typeof v !== 'string' || !values.includes(v)) fail(ctx, path, `must be one of: ${values.join(', ')}`);
};

const bool: FieldCheck = (v, path, ctx) => {
  if (typeof v !== 'boolean') fail(ctx, path, 'must be true or false');
};

const int = (min: number, max = Number.MAX_SAFE_INTEGER): FieldCheck => (v, path, ctx) => {
  if (typeof v !== 'number' || !Number.isInteger(v)) return fail(ctx, path, 'must be an integer');
  if (v < min) return fail(ctx, path, `must be at least ${min}`);
  if (v > max) fail(ctx, path, `must be at most ${max}`);
};

const dataKey: FieldCheck = (v, path, ctx) => {
  if (typeof v !== 'string' || v.trim() === '') fail(ctx, path, 'must be a data key (a non-empty string)');
};

const workflowId: FieldCheck = (v, path, ctx) => {
  if (typeof v !== 'string' || !WORKFLOW_ID_RE.test(v)) fail(ctx, path, 'must be a workflow id ([a-z0-9][a-z0-9_-]{0,63})');
};

/** A mapping whose values are templates, or a single `{{ }}` expression yielding one. */
const templateMap = (headerNames: boolean): FieldCheck => (v, path, ctx) => {
  if (typeof v === 'string' && v.includes('{{')) return template(v, path, ctx);
  if (!isPlainObject(v)) return fail(ctx, path, 'must be a mapping (or a {{ }} expression)');
  if (headerNames) {
    for (const k of Object.keys(v)) {
      if (!HEADER_NAME_RE.test(k)) fail(ctx, joinPath(path, k), `${JSON.stringify(k)} is not a valid header name`);
    }
  }
  template(v, path, ctx);
};

const progress: FieldCheck = (v, path, ctx) => {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0 || v > 100) fail(ctx, path, 'must be a number from 0 to 100');
  } else if (typeof v === 'string' && v.trim() !== '') {
    compileExpression(v, path, ctx.problems);
  } else {
    fail(ctx, path, 'must be a number from 0 to 100 or an expression');
  }
};

const httpMethod: FieldCheck = (v, path, ctx) => {
  if (typeof v !== 'string') return fail(ctx, path, 'must be a string');
  if (v.includes('{{')) return template(v, path, ctx);
  if (!(HTTP_METHODS as readonly string[]).includes(v.toUpperCase())) fail(ctx, path, `must be one of: ${HTTP_METHODS.join(', ')}`);
};

const httpUrl: FieldCheck = (v, path, ctx) => {
  if (typeof v !== 'string' || v.trim() === '') return fail(ctx, path, 'must be a URL (a non-empty string)');
  if (v.includes('{{')) return template(v, path, ctx);
  let ok = false;
  try {
    const u = new URL(v);
    ok = u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    ok = false;
  }
  if (!ok) fail(ctx, path, 'must be an absolute http or https URL');
};

const RETRY_ON_WORDS = ['network', '5xx', '429'];
const retry: FieldCheck = (v, path, ctx) => {
  if (!isPlainObject(v)) return fail(ctx, path, 'must be a mapping');
  const fields: Record<string, FieldCheck> = {
    max_attempts: int(1, 100),
    backoff: oneOf(['exponential', 'fixed']),
    initial: duration,
    max: duration,
    on: (on, p, c) => {
      if (!Array.isArray(on)) return fail(c, p, 'must be a list of network, 5xx, 429 or HTTP status codes');
      on.forEach((x, i) => {
        const ok = (typeof x === 'string' && (RETRY_ON_WORDS.includes(x) || isStatusText(x)))
          || (typeof x === 'number' && isStatus(x));
        if (!ok) fail(c, indexPath(p, i), 'must be network, 5xx, 429 or an HTTP status code (100-599)');
      });
    },
  };
  checkFields(v, path, fields, 'retry', ctx);
};

const isStatus = (n: number): boolean => Number.isInteger(n) && n >= 100 && n <= 599;
const isStatusText = (s: string): boolean => /^\d{3}$/.test(s) && isStatus(Number(s));
const STATUS_RANGE_RE = /^\s*(\d{3})\s*-\s*(\d{3})\s*$/;

/** One entry of `expect`: a status (number or text) or a range `"200-299"`. */
function checkStatusRange(x: unknown, path: string, ctx: StepCheckContext): void {
  if (typeof x === 'number' && isStatus(x)) return;
  if (typeof x === 'string') {
    if (isStatusText(x.trim())) return;
    const m = STATUS_RANGE_RE.exec(x);
    if (m && isStatus(Number(m[1])) && isStatus(Number(m[2]))) {
      if (Number(m[1]) > Number(m[2])) return fail(ctx, path, `range ${x} is empty (start is above end)`);
      return;
    }
  }
  fail(ctx, path, 'must be an HTTP status (100-599) or a range like "200-299"');
}

const expect: FieldCheck = (v, path, ctx) => {
  if (Array.isArray(v)) {
    if (v.length === 0) return fail(ctx, path, 'must list at least one status or range');
    v.forEach((x, i) => checkStatusRange(x, indexPath(path, i), ctx));
  } else {
    checkStatusRange(v, path, ctx);
  }
};

const followAsync: FieldCheck = (v, path, ctx) => {
  if (typeof v === 'boolean') return;
  if (!isPlainObject(v)) return fail(ctx, path, 'must be true, false or { timeout: <duration> }');
  checkFields(v, path, { timeout: duration }, 'follow_async', ctx);
};

const codeBody: FieldCheck = (v, path, ctx) => {
  if (typeof v !== 'string' || v.trim() === '') return fail(ctx, path, 'must be JavaScript code (a non-empty string)');
  try {
    // Parsing only: the constructed function is never called. Async so that `await` is accepted.
    const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => unknown;
    new AsyncFunction('data', v);
  } catch (e) {
    if (e instanceof SyntaxError) fail(ctx, path, `is not valid JavaScript: ${e.message}`);
    // Other errors (code generation from strings disallowed) leave the check to the sandbox.
  }
};

const setMap: FieldCheck = (v, path, ctx) => {
  if (!isPlainObject(v)) return fail(ctx, path, 'must be a mapping of data key to value');
  for (const k of Object.keys(v)) if (k === '') fail(ctx, path, 'keys must not be empty');
  template(v, path, ctx);
};

const unsetList: FieldCheck = (v, path, ctx) => {
  if (!Array.isArray(v)) return fail(ctx, path, 'must be a list of data keys');
  v.forEach((k, i) => dataKey(k, indexPath(path, i), ctx));
};

const cases: FieldCheck = (v, path, ctx) => {
  if (!Array.isArray(v) || v.length === 0) return fail(ctx, path, 'must be a non-empty list of { when, next }');
  v.forEach((c, i) => {
    const p = indexPath(path, i);
    if (!isPlainObject(c)) return fail(ctx, p, 'must be a mapping { when, next }');
    checkFields(c, p, { when: expression, next: stepRef }, 'case', ctx);
    if (c.when === undefined) fail(ctx, joinPath(p, 'when'), 'is required');
    if (c.next === undefined) fail(ctx, joinPath(p, 'next'), 'is required');
  });
};

// ---------------------------------------------------------------- tables

/** Fields every step may have (besides `id` and `type`, checked by the caller). */
export const COMMON_FIELDS: Record<string, FieldCheck> = {
  name: (v, path, ctx) => {
    if (typeof v !== 'string') fail(ctx, path, 'must be a string');
  },
  next: stepRef,
  on_error: stepRef,
  progress,
};

interface StepRule {
  fields: Record<string, FieldCheck>;
  /** Checks that span several fields (required fields, exclusive choices). */
  check?: (step: Record<string, unknown>, path: string, ctx: StepCheckContext) => void;
  /** Fields compiled as templates (CompiledStep.fields). */
  templates: string[];
  /** Fields compiled as expressions (CompiledStep.expressions); `progress` and cases are added by the compiler. */
  expressions: string[];
}

const required = (step: Record<string, unknown>, fields: string[], path: string, ctx: StepCheckContext): void => {
  for (const f of fields) if (step[f] === undefined) fail(ctx, joinPath(path, f), 'is required');
};

export const STEP_RULES: Record<string, StepRule> = {
  set: {
    fields: { set: setMap, unset: unsetList },
    check: (s, path, ctx) => {
      if (s.set === undefined && s.unset === undefined) fail(ctx, path, 'a set step needs set, unset or both');
    },
    templates: ['set'],
    expressions: [],
  },
  condition: {
    fields: { cases, default: stepRef },
    check: (s, path, ctx) => {
      required(s, ['cases'], path, ctx);
      if (s.default !== undefined && s.next !== undefined) {
        ctx.warnings.push({ path: joinPath(path, 'next'), message: 'is never used: a condition with default always goes to a case or the default' });
      }
    },
    templates: [],
    expressions: [],
  },
  http: {
    fields: {
      method: httpMethod,
      url: httpUrl,
      query: templateMap(false),
      headers: templateMap(true),
      body: template,
      format: oneOf(['json', 'form', 'xml', 'raw']),
      timeout: duration,
      connect_timeout: duration,
      tls_verify: bool,
      secret: templateString,
      signature: oneOf(SIGNATURE_SCHEMES),
      retry,
      expect,
      follow_async: followAsync,
      save_as: dataKey,
      merge: bool,
      max_response_bytes: int(1),
    },
    check: (s, path, ctx) => {
      required(s, ['url'], path, ctx);
      if (s.signature !== undefined && s.secret === undefined) fail(ctx, joinPath(path, 'secret'), 'is required when signature is given');
    },
    templates: ['method', 'url', 'query', 'headers', 'body', 'secret'],
    expressions: [],
  },
  reply: {
    fields: { data: template, status: oneOf(['ok', 'error']), http_status: int(100, 599), headers: templateMap(true) },
    templates: ['data', 'headers'],
    expressions: [],
  },
  delay: {
    fields: { for: duration, until: expression },
    check: (s, path, ctx) => {
      if (s.for === undefined && s.until === undefined) fail(ctx, path, 'a delay step needs for (a duration) or until (an expression)');
      if (s.for !== undefined && s.until !== undefined) fail(ctx, joinPath(path, 'until'), 'give either for or until, not both');
    },
    templates: [],
    expressions: ['until'],
  },
  wait: {
    fields: { timeout: duration, on_timeout: stepRef, save_as: dataKey },
    templates: [],
    expressions: [],
  },
  call: {
    fields: { workflow: workflowId, data: template, wait: bool, timeout: duration, save_as: dataKey },
    check: (s, path, ctx) => required(s, ['workflow'], path, ctx),
    templates: ['data'],
    expressions: [],
  },
  foreach: {
    fields: { items: expression, workflow: workflowId, data: template, concurrency: int(1, 1000), save_as: dataKey },
    check: (s, path, ctx) => required(s, ['items', 'workflow'], path, ctx),
    templates: ['data'],
    expressions: ['items'],
  },
  code: {
    fields: { code: codeBody, timeout: duration },
    check: (s, path, ctx) => required(s, ['code'], path, ctx),
    templates: [],
    expressions: [],
  },
  end: {
    fields: { status: oneOf(['succeeded', 'failed']), error: template },
    check: (s, path, ctx) => {
      if (s.next !== undefined) fail(ctx, joinPath(path, 'next'), 'an end step has no next');
    },
    templates: ['error'],
    expressions: [],
  },
};

/** Checks the fields of `obj` against `fields`; unknown fields are problems. */
function checkFields(
  obj: Record<string, unknown>, path: string, fields: Record<string, FieldCheck>, what: string, ctx: StepCheckContext,
): void {
  for (const key of Object.keys(obj)) {
    const check = fields[key];
    const p = joinPath(path, key);
    if (!check) fail(ctx, p, `unknown field '${key}' for ${what} (allowed: ${Object.keys(fields).join(', ')})`);
    else check(obj[key], p, ctx);
  }
}

/**
 * Checks a step's fields other than `id` and `type`. With a rule for the type, every field must be
 * a common or a type field; without one (a supported type this module has no rule for), only the
 * common fields are checked and other fields are left to the step's implementation.
 */
export function checkStepFields(step: Record<string, unknown>, type: string | null, path: string, ctx: StepCheckContext): void {
  const rule = type === null ? undefined : STEP_RULES[type];
  const allowed = rule ? { ...COMMON_FIELDS, ...rule.fields } : COMMON_FIELDS;
  for (const key of Object.keys(step)) {
    if (key === 'id' || key === 'type') continue;
    const check = allowed[key];
    const p = joinPath(path, key);
    if (check) check(step[key], p, ctx);
    else if (rule) {
      fail(ctx, p, `unknown field '${key}' for a ${type} step (allowed: ${['id', 'type', ...Object.keys(allowed)].join(', ')})`);
    }
  }
  rule?.check?.(step, path, ctx);
}

/** The canonical field order of a step of `type` (normalized definitions). */
export function stepFieldOrder(type: string): string[] {
  const rule = STEP_RULES[type];
  return ['id', 'type', 'name', ...(rule ? Object.keys(rule.fields) : []), 'next', 'on_error', 'progress'];
}
