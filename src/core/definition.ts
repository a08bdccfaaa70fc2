/**
 * Workflow definitions: parsing (YAML or JSON), whole-document validation with every problem at
 * once (`steps[2].next`), normalization, and compilation into the engine's CompiledWorkflow.
 */
import YAML from 'yaml';
import type { CompiledStep, CompiledWorkflow, Expression, Template } from './compiled.js';
import {
  STEP_ID_RE, STEP_RULES, WORKFLOW_ID_RE, checkStepFields, stepFieldOrder,
  type StepCheckContext,
} from './definition-steps.js';
import { exceedsDepth, tooDeepMessage } from './depth.js';
import { isDuration, parseDuration } from './duration.js';
import type { FieldProblem } from './errors.js';
import { locateJsonError, locateTooDeep } from './json-error.js';
import { normalizeParamSpecs, validateParamSpecs } from './params.js';
import { indexPath, isPlainObject, joinPath, setOwn } from './path.js';
import { compileExpression, compileTemplate } from './template.js';
import type { Definition, ParamSpec, StepDef, TriggerSpec, VerifyScheme, VerifySpec, Workflow } from './types.js';

export { HTTP_METHODS, SIGNATURE_SCHEMES, STEP_ID_RE, WORKFLOW_ID_RE } from './definition-steps.js';

/** Aliases a YAML document may expand before it is refused (billion-laughs guard). */
const MAX_YAML_ALIASES = 100;
const TOP_FIELDS = ['id', 'name', 'description', 'params', 'undeclared', 'trigger', 'start', 'steps'];
const TRIGGER_FIELDS = ['public', 'verify', 'concurrency', 'retry_after'];
export const VERIFY_SCHEMES = ['standard-webhooks', 'github', 'stripe', 'hmac', 'trifacta', 'corezoid'] as const satisfies readonly VerifyScheme[];
/** Schemes whose signature covers a timestamp, checked against `tolerance` (default 5m). */
export const TIMESTAMPED_SCHEMES: readonly VerifyScheme[] = ['standard-webhooks', 'stripe', 'trifacta', 'corezoid'];
export const HMAC_ALGORITHMS = ['sha256', 'sha512', 'sha1'] as const;
export const HMAC_ENCODINGS = ['hex', 'base64'] as const;
const HMAC_FIELDS = ['header', 'algorithm', 'encoding', 'prefix'] as const;
const VERIFY_FIELDS = ['scheme', 'secret', 'tolerance', ...HMAC_FIELDS];
const SECRET_REF_RE = /^\{\{\s*\$secrets\.([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}$/;
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

// ---------------------------------------------------------------- parsing

export type ParseResult = { ok: true; doc: unknown } | { ok: false; problems: FieldProblem[] };

/** The problem of a document nested deeper than the nesting limit (or cyclic, through YAML aliases). */
const tooDeepProblem = (where = ''): ParseResult => ({ ok: false, problems: [{ path: '', message: `${tooDeepMessage('the document')}${where}` }] });

/** A stack overflow while parsing or converting means nesting far past the limit. */
const isStackOverflow = (e: unknown): boolean => e instanceof RangeError || /call stack/i.test(String((e as Error)?.message));

function parseJson(text: string): ParseResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const loc = locateJsonError(text);
    const message = loc
      ? `JSON syntax error at line ${loc.line}, column ${loc.column}: ${loc.reason}`
      : `JSON syntax error: ${(e as Error).message.split('\n')[0]}`;
    return { ok: false, problems: [{ path: '', message }] };
  }
  if (exceedsDepth(doc)) {
    const loc = locateTooDeep(text);
    return tooDeepProblem(loc ? ` (at line ${loc.line}, column ${loc.column})` : '');
  }
  return { ok: true, doc };
}

/** Problems for values YAML can express but JSON cannot (non-finite numbers). */
function checkJsonCompatible(v: unknown, path: string, out: FieldProblem[]): void {
  if (typeof v === 'number' && !Number.isFinite(v)) out.push({ path, message: 'is not a JSON number (infinity and NaN are not allowed)' });
  else if (Array.isArray(v)) v.forEach((x, i) => checkJsonCompatible(x, indexPath(path, i), out));
  else if (v !== null && typeof v === 'object') {
    if (!isPlainObject(v)) out.push({ path, message: 'is not a JSON value' });
    else for (const k of Object.keys(v)) checkJsonCompatible(v[k], joinPath(path, k), out);
  }
}

function parseYaml(text: string): ParseResult {
  let docs: ReturnType<typeof YAML.parseAllDocuments>;
  try {
    docs = YAML.parseAllDocuments(text, { version: '1.2', schema: 'core', uniqueKeys: true, prettyErrors: true, strict: true });
  } catch (e) {
    if (isStackOverflow(e)) return tooDeepProblem();
    return { ok: false, problems: [{ path: '', message: `YAML syntax error: ${(e as Error).message}` }] };
  }
  if (!Array.isArray(docs) || docs.length === 0) return { ok: false, problems: [{ path: '', message: 'the document is empty' }] };
  if (docs.length > 1) {
    return { ok: false, problems: [{ path: '', message: `the text holds ${docs.length} YAML documents; send one workflow per request` }] };
  }
  const doc = docs[0];
  if (doc.errors.length > 0) {
    // The YAML parser records running out of stack (thousands of levels) as a syntax error.
    if (doc.errors.some((e) => /call stack/i.test(e.message))) return tooDeepProblem();
    return {
      ok: false,
      problems: doc.errors.map((e) => ({ path: '', message: `YAML syntax error: ${e.message.split('\n')[0].replace(/:$/, '')}` })),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    if (isStackOverflow(e)) return tooDeepProblem();
    const msg = (e as Error).message;
    const problem = /alias/i.test(msg)
      ? `YAML uses too many aliases (more than ${MAX_YAML_ALIASES} expansions); refused as a resource exhaustion risk`
      : `YAML error: ${msg}`;
    return { ok: false, problems: [{ path: '', message: problem }] };
  }
  if (value === null || value === undefined) return { ok: false, problems: [{ path: '', message: 'the document is empty' }] };
  // Before any walk of the value: an alias inside its own anchor (`a: &a [*a]`) makes it cyclic.
  if (exceedsDepth(value)) return tooDeepProblem();
  const problems: FieldProblem[] = [];
  checkJsonCompatible(value, '', problems);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, doc: value };
}

/**
 * Parses a definition document. JSON when the content type says JSON or the text starts with `{`
 * (a `{`-text that is not valid JSON is tried as YAML flow unless the content type is JSON);
 * otherwise YAML 1.2 (core schema, unique keys, one document, at most 100 alias expansions).
 */
export function parseDocument(text: string, contentType?: string): ParseResult {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const ct = (contentType ?? '').split(';')[0].trim().toLowerCase();
  const isJsonType = ct === 'application/json' || ct.endsWith('+json') || ct === 'text/json';
  if (isJsonType) return parseJson(src);
  if (src.trimStart().startsWith('{')) {
    const asJson = parseJson(src);
    if (asJson.ok) return asJson;
    const asYaml = parseYaml(src);
    return asYaml.ok ? asYaml : asJson;
  }
  if (src.trim() === '') return { ok: false, problems: [{ path: '', message: 'the document is empty' }] };
  return parseYaml(src);
}

// ---------------------------------------------------------------- validation

export interface ValidateOptions {
  supportedStepTypes: ReadonlySet<string>;
}

export type ValidateResult =
  | { ok: true; definition: Definition; warnings: FieldProblem[] }
  | { ok: false; problems: FieldProblem[]; warnings: FieldProblem[] };

/** The step a step goes to when its outcome names none, or null (run ends). */
function fallthrough(steps: StepDef[], i: number): string | null {
  const s = steps[i];
  if (s.type === 'end') return null;
  if (typeof s.next === 'string') return s.next;
  return i + 1 < steps.length ? steps[i + 1].id : null;
}

/** Every step a step may lead to (for reachability). */
function successors(steps: StepDef[], i: number): string[] {
  const s = steps[i] as Record<string, unknown>;
  const out: string[] = [];
  const add = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
  };
  if (!(s.type === 'condition' && s.default !== undefined)) add(fallthrough(steps, i));
  add(s.on_error);
  add(s.on_timeout);
  add(s.default);
  if (Array.isArray(s.cases)) for (const c of s.cases) if (isPlainObject(c)) add(c.next);
  return out;
}

/** The tenant secret named by `{{ $secrets.<name> }}` (the only form a verify secret takes), or null. */
export function secretRefName(value: string): string | null {
  return SECRET_REF_RE.exec(value)?.[1] ?? null;
}

function checkVerify(ver: unknown, ctx: StepCheckContext): VerifySpec | undefined {
  const at = (k: string): string => joinPath('trigger.verify', k);
  const fail = (path: string, message: string): void => void ctx.problems.push({ path, message });
  if (!isPlainObject(ver)) {
    fail('trigger.verify', 'must be a mapping { scheme, secret }');
    return undefined;
  }
  for (const k of Object.keys(ver)) {
    if (!VERIFY_FIELDS.includes(k)) fail(at(k), `unknown field '${k}' for trigger.verify (allowed: ${VERIFY_FIELDS.join(', ')})`);
  }
  const before = ctx.problems.length;
  const scheme = ver.scheme;
  if (scheme === undefined) fail(at('scheme'), 'is required');
  else if (typeof scheme !== 'string' || !(VERIFY_SCHEMES as readonly string[]).includes(scheme)) {
    fail(at('scheme'), `must be one of: ${VERIFY_SCHEMES.join(', ')}`);
  }
  if (ver.secret === undefined) fail(at('secret'), 'is required');
  else if (typeof ver.secret !== 'string' || secretRefName(ver.secret) === null) {
    fail(at('secret'), 'must name a tenant secret, written "{{ $secrets.<name> }}" (PUT /v1/secrets/<name>); a secret written into the definition would be stored and shown in clear');
  }
  const known = typeof scheme === 'string' && (VERIFY_SCHEMES as readonly string[]).includes(scheme);
  if (ver.tolerance !== undefined) {
    if (known && !TIMESTAMPED_SCHEMES.includes(scheme as VerifyScheme)) fail(at('tolerance'), `the ${scheme} scheme signs no timestamp, so it has no tolerance`);
    else if (!isDuration(ver.tolerance) || parseDuration(ver.tolerance as string | number) < 1000) fail(at('tolerance'), `${JSON.stringify(ver.tolerance)} is not a duration of at least 1s (e.g. 30s, 5m)`);
  }
  for (const k of HMAC_FIELDS) {
    if (ver[k] !== undefined && known && scheme !== 'hmac') fail(at(k), `is only for the hmac scheme (${scheme} fixes its own)`);
  }
  if (scheme === 'hmac') {
    if (ver.header === undefined) fail(at('header'), 'is required for the hmac scheme (the header that carries the signature)');
    else if (typeof ver.header !== 'string' || !HEADER_NAME_RE.test(ver.header)) fail(at('header'), 'must be a header name');
    if (ver.algorithm !== undefined && !(HMAC_ALGORITHMS as readonly unknown[]).includes(ver.algorithm)) fail(at('algorithm'), `must be one of: ${HMAC_ALGORITHMS.join(', ')}`);
    if (ver.encoding !== undefined && !(HMAC_ENCODINGS as readonly unknown[]).includes(ver.encoding)) fail(at('encoding'), `must be one of: ${HMAC_ENCODINGS.join(', ')}`);
    if (ver.prefix !== undefined && (typeof ver.prefix !== 'string' || ver.prefix === '' || ver.prefix.length > 64)) fail(at('prefix'), 'must be a non-empty string of at most 64 characters');
  }
  if (ctx.problems.length > before) return undefined;
  const out: VerifySpec = { scheme: scheme as VerifyScheme, secret: ver.secret as string };
  if (ver.tolerance !== undefined) out.tolerance = typeof ver.tolerance === 'number' ? `${ver.tolerance}ms` : (ver.tolerance as string);
  for (const k of HMAC_FIELDS) if (ver[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = ver[k];
  return out;
}

function checkTrigger(v: unknown, ctx: StepCheckContext): TriggerSpec {
  const trigger: TriggerSpec = { public: true };
  if (v === undefined) return trigger;
  if (!isPlainObject(v)) {
    ctx.problems.push({ path: 'trigger', message: 'must be a mapping' });
    return trigger;
  }
  const fail = (path: string, message: string): void => void ctx.problems.push({ path, message });
  for (const k of Object.keys(v)) {
    if (!TRIGGER_FIELDS.includes(k)) fail(joinPath('trigger', k), `unknown field '${k}' for trigger (allowed: ${TRIGGER_FIELDS.join(', ')})`);
  }
  if (v.public !== undefined) {
    if (typeof v.public !== 'boolean') fail('trigger.public', 'must be true or false');
    else trigger.public = v.public;
  }
  if (v.verify !== undefined) {
    const verify = checkVerify(v.verify, ctx);
    if (verify) trigger.verify = verify;
  }
  if (v.concurrency !== undefined) {
    const c = v.concurrency;
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 1) fail('trigger.concurrency', 'must be a positive integer');
    else trigger.concurrency = c;
  }
  if (v.retry_after !== undefined) {
    if (!isDuration(v.retry_after)) fail('trigger.retry_after', `${JSON.stringify(v.retry_after)} is not a duration (e.g. 250ms, 30s, 5m, 2h, 1d)`);
    else trigger.retry_after = typeof v.retry_after === 'number' ? `${v.retry_after}ms` : v.retry_after;
  }
  return trigger;
}

/** Problems sorted by where they are in the document (top fields, then step by step); stable. */
function inDocumentOrder(problems: FieldProblem[]): FieldProblem[] {
  const rank = (path: string): number => {
    const m = /^steps\[(\d+)\]/.exec(path);
    if (m) return (TOP_FIELDS.indexOf('steps') + 1) * 1e6 + Number(m[1]) + 1;
    const top = /^[^.[]*/.exec(path)?.[0] ?? '';
    return (TOP_FIELDS.indexOf(top) + 1) * 1e6;
  };
  return problems.map((p, i) => ({ p, i, r: rank(p.path) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.p);
}

/** A step with its fields in canonical order (unknown-but-allowed fields last, in given order). */
function normalizeStep(step: Record<string, unknown>): StepDef {
  const out: Record<string, unknown> = {};
  for (const k of stepFieldOrder(String(step.type))) if (step[k] !== undefined) out[k] = step[k];
  for (const k of Object.keys(step)) if (!(k in out) && step[k] !== undefined) setOwn(out, k, step[k]);
  return out as StepDef;
}

/**
 * Validates a whole definition document, reporting every problem with its path. Unreachable steps
 * (and other harmless oddities) are warnings. On success the definition is normalized: defaults for
 * `name`, `undeclared` and `trigger.public` filled, fields in a canonical order.
 */
export function validateDefinition(doc: unknown, opts: ValidateOptions): ValidateResult {
  const ctx: StepCheckContext = { problems: [], warnings: [], refs: [] };
  const fail = (path: string, message: string): void => void ctx.problems.push({ path, message });
  if (!isPlainObject(doc)) {
    fail('', 'the definition must be a mapping (an object with id and steps)');
    return { ok: false, problems: ctx.problems, warnings: [] };
  }
  for (const k of Object.keys(doc)) {
    if (!TOP_FIELDS.includes(k)) fail(joinPath('', k), `unknown field '${k}' (allowed: ${TOP_FIELDS.join(', ')})`);
  }

  if (doc.id === undefined) fail('id', 'is required');
  else if (typeof doc.id !== 'string' || !WORKFLOW_ID_RE.test(doc.id)) {
    fail('id', 'must match [a-z0-9][a-z0-9_-]{0,63} (lowercase letters, digits, _ and -)');
  }
  if (doc.name !== undefined && (typeof doc.name !== 'string' || doc.name.trim() === '' || doc.name.length > 200)) {
    fail('name', 'must be a non-empty string of at most 200 characters');
  }
  if (doc.description !== undefined && typeof doc.description !== 'string') fail('description', 'must be a string');
  ctx.problems.push(...validateParamSpecs(doc.params, 'params'));
  if (doc.undeclared !== undefined && doc.undeclared !== 'keep' && doc.undeclared !== 'reject') {
    fail('undeclared', 'must be keep or reject');
  }
  const trigger = checkTrigger(doc.trigger, ctx);

  // Steps: structure and fields first, collecting ids; references resolved after.
  const steps: StepDef[] = [];
  const ids = new Map<string, number>();
  if (doc.steps === undefined) fail('steps', 'is required (a non-empty list of steps)');
  else if (!Array.isArray(doc.steps) || doc.steps.length === 0) fail('steps', 'must be a non-empty list of steps');
  else {
    doc.steps.forEach((raw: unknown, i: number) => {
      const path = indexPath('steps', i);
      if (!isPlainObject(raw)) return fail(path, 'must be a mapping with at least id and type');
      let idOk = false;
      if (raw.id === undefined) fail(joinPath(path, 'id'), 'is required');
      else if (typeof raw.id !== 'string' || !STEP_ID_RE.test(raw.id)) {
        fail(joinPath(path, 'id'), 'must be 1 to 128 letters, digits, _ or -');
      } else if (ids.has(raw.id)) {
        fail(joinPath(path, 'id'), `duplicate step id '${raw.id}' (also steps[${ids.get(raw.id)}])`);
      } else {
        ids.set(raw.id, i);
        idOk = true;
      }
      let type: string | null = null;
      if (raw.type === undefined) fail(joinPath(path, 'type'), 'is required');
      else if (typeof raw.type !== 'string' || !opts.supportedStepTypes.has(raw.type)) {
        fail(joinPath(path, 'type'), `unknown step type '${typeof raw.type === 'string' ? raw.type : JSON.stringify(raw.type)}'`);
      } else type = raw.type;
      checkStepFields(raw, type, path, ctx);
      if (idOk) steps.push(normalizeStep(raw));
    });
  }

  for (const ref of ctx.refs) if (!ids.has(ref.target)) fail(ref.path, `unknown step '${ref.target}'`);
  let start: string | undefined;
  if (doc.start !== undefined) {
    if (typeof doc.start !== 'string' || doc.start === '') fail('start', 'must be a step id');
    else if (!ids.has(doc.start)) fail('start', `unknown step '${doc.start}'`);
    else start = doc.start;
  }

  // Reachability (only meaningful when every step made it through).
  if (Array.isArray(doc.steps) && steps.length === doc.steps.length && steps.length > 0) {
    const from = start ?? steps[0].id;
    const seen = new Set<string>([from]);
    const queue = [from];
    while (queue.length > 0) {
      const i = ids.get(queue.pop() as string);
      if (i === undefined) continue;
      for (const next of successors(steps, i)) {
        if (ids.has(next) && !seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    steps.forEach((s, i) => {
      if (!seen.has(s.id)) ctx.warnings.push({ path: indexPath('steps', i), message: `step '${s.id}' is unreachable from the start step '${from}'` });
    });
  }

  if (ctx.problems.length > 0) return { ok: false, problems: inDocumentOrder(ctx.problems), warnings: ctx.warnings };

  const definition: Definition = {
    id: doc.id as string,
    name: (doc.name as string | undefined) ?? (doc.id as string),
    ...(doc.description !== undefined ? { description: doc.description as string } : {}),
    params: isPlainObject(doc.params) ? normalizeParamSpecs(doc.params as Record<string, ParamSpec>) : {},
    undeclared: (doc.undeclared as 'keep' | 'reject' | undefined) ?? 'keep',
    trigger,
    ...(start !== undefined ? { start } : {}),
    steps,
  };
  return { ok: true, definition, warnings: ctx.warnings };
}

// ---------------------------------------------------------------- compilation

const compiledCache = new WeakMap<Workflow, CompiledWorkflow>();

/**
 * Compiles a (validated) workflow version for the engine: resolved `next` per step, compiled
 * template fields and expressions. Cached by the identity of `workflow`. A stored definition that
 * no longer compiles does not throw here: the broken expression throws ExpressionError when run.
 * For http steps `fields.method` is always present (default `GET`).
 */
export function compileWorkflow(workflow: Workflow): CompiledWorkflow {
  const hit = compiledCache.get(workflow);
  if (hit) return hit;
  const def = workflow.definition;
  const problems: FieldProblem[] = [];
  const steps = new Map<string, CompiledStep>();
  def.steps.forEach((step, index) => {
    const s = step as Record<string, unknown>;
    const path = indexPath('steps', index);
    const rule = STEP_RULES[step.type];
    const fields: Record<string, Template> = {};
    const expressions: Record<string, Expression> = {};
    for (const f of rule?.templates ?? []) {
      const value = f === 'method' && s.method === undefined ? 'GET' : s[f];
      if (value !== undefined) fields[f] = compileTemplate(value, joinPath(path, f), problems);
    }
    for (const f of rule?.expressions ?? []) {
      if (typeof s[f] === 'string') expressions[f] = compileExpression(s[f] as string, joinPath(path, f), problems);
    }
    if (typeof step.progress === 'string') expressions.progress = compileExpression(step.progress, joinPath(path, 'progress'), problems);
    if (step.type === 'condition' && Array.isArray(s.cases)) {
      s.cases.forEach((c: unknown, i: number) => {
        if (isPlainObject(c) && typeof c.when === 'string') {
          expressions[`cases.${i}.when`] = compileExpression(c.when, `${path}.cases[${i}].when`, problems);
        }
      });
    }
    steps.set(step.id, { def: step, index, next: fallthrough(def.steps, index), fields, expressions });
  });
  const compiled: CompiledWorkflow = { workflow, start: def.start ?? def.steps[0]?.id ?? '', steps };
  compiledCache.set(workflow, compiled);
  return compiled;
}
