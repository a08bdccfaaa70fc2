/** Steps that only move data and control: set, condition, reply, end. */
import { NOT_SYNC } from '../core/compiled.js';
import { mergeOwn } from '../core/path.js';
import type { Json, JsonObject, Reply } from '../core/types.js';
import type { Outcome, StepContext, StepKind } from './types.js';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every `{{ }}` of set, condition and reply is usually answered at once; then the step needs no promise. */
const setOutcome = (ctx: StepContext, v: Json): Outcome => {
  const values: JsonObject = isObject(v) ? v : {};
  const data = mergeOwn(ctx.scope.data, values);
  const unset = ctx.step.def.unset as string[] | undefined;
  if (unset) for (const key of unset) delete data[key];
  return { kind: 'continue', data, output: values };
};

export const setStep: StepKind = {
  type: 'set',
  executeSync(ctx: StepContext): Outcome | typeof NOT_SYNC {
    const tpl = ctx.step.fields.set;
    const v = tpl ? tpl.trySync(ctx.scope) : null;
    return v === NOT_SYNC ? NOT_SYNC : setOutcome(ctx, v);
  },
  async execute(ctx: StepContext): Promise<Outcome> {
    const tpl = ctx.step.fields.set;
    return setOutcome(ctx, tpl ? await tpl.evaluate(ctx.scope) : null);
  },
};

/** JSONata truthiness: empty strings, 0, null, false and empty arrays are false. */
export function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(truthy);
  return Boolean(v);
}

type Case = { next: string };
const casesOf = (ctx: StepContext): Case[] => (ctx.step.def.cases as Case[] | undefined) ?? [];
const matched = (cases: Case[], i: number): Outcome => ({ kind: 'continue', next: cases[i].next, output: { matched: i, next: cases[i].next } });
const noMatch = (ctx: StepContext): Outcome => {
  const fallback = (ctx.step.def.default as string | undefined) ?? ctx.step.next;
  return { kind: 'continue', next: fallback, output: { matched: null, next: fallback } };
};

export const conditionStep: StepKind = {
  type: 'condition',
  executeSync(ctx: StepContext): Outcome | typeof NOT_SYNC {
    const cases = casesOf(ctx);
    for (let i = 0; i < cases.length; i++) {
      const expr = ctx.step.expressions[`cases.${i}.when`];
      if (!expr) continue;
      const v = expr.trySync(ctx.scope);
      if (v === NOT_SYNC) return NOT_SYNC; // the cases before it are pure: execute evaluates them again
      if (truthy(v)) return matched(cases, i);
    }
    return noMatch(ctx);
  },
  async execute(ctx: StepContext): Promise<Outcome> {
    const cases = casesOf(ctx);
    for (let i = 0; i < cases.length; i++) {
      const expr = ctx.step.expressions[`cases.${i}.when`];
      if (expr && truthy(await expr.evaluate(ctx.scope))) return matched(cases, i);
    }
    return noMatch(ctx);
  },
};

const replyOutcome = (ctx: StepContext, data: Json, h: Json | undefined): Outcome => {
  const def = ctx.step.def;
  let headers: Record<string, string> | undefined;
  if (isObject(h)) {
    headers = {};
    for (const [k, v] of Object.entries(h)) if (v !== null) headers[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  const reply: Omit<Reply, 'at'> = { status: def.status === 'error' ? 'error' : 'ok', data };
  if (typeof def.http_status === 'number') reply.http_status = def.http_status;
  if (headers) reply.headers = headers;
  return { kind: 'reply', reply, output: data };
};

export const replyStep: StepKind = {
  type: 'reply',
  executeSync(ctx: StepContext): Outcome | typeof NOT_SYNC {
    const f = ctx.step.fields;
    const data = f.data ? f.data.trySync(ctx.scope) : ctx.scope.data;
    if (data === NOT_SYNC) return NOT_SYNC;
    const headers = f.headers ? f.headers.trySync(ctx.scope) : undefined;
    if (headers === NOT_SYNC) return NOT_SYNC;
    return replyOutcome(ctx, data, headers);
  },
  async execute(ctx: StepContext): Promise<Outcome> {
    const f = ctx.step.fields;
    const data: Json = f.data ? await f.data.evaluate(ctx.scope) : ctx.scope.data;
    return replyOutcome(ctx, data, f.headers ? await f.headers.evaluate(ctx.scope) : undefined);
  },
};

export const endStep: StepKind = {
  type: 'end',
  async execute(ctx: StepContext): Promise<Outcome> {
    const status = ctx.step.def.status === 'failed' ? 'failed' : 'succeeded';
    if (status === 'succeeded') return { kind: 'end', status };
    const e = ctx.step.fields.error ? await ctx.step.fields.error.evaluate(ctx.scope) : null;
    const message = e === null ? 'the workflow ended with status failed' : typeof e === 'string' ? e : JSON.stringify(e);
    return { kind: 'end', status, error: { code: 'ended_failed', message } };
  },
};
