/** Steps that only move data and control: set, condition, reply, end. */
import type { Json, JsonObject } from '../core/types.js';
import type { Outcome, StepContext, StepKind } from './types.js';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export const setStep: StepKind = {
  type: 'set',
  async execute(ctx: StepContext): Promise<Outcome> {
    let values: JsonObject = {};
    const tpl = ctx.step.fields.set;
    if (tpl) {
      const v = await tpl.evaluate(ctx.scope);
      if (isObject(v)) values = v;
    }
    const data: JsonObject = { ...ctx.scope.data, ...values };
    const unset = ctx.step.def.unset as string[] | undefined;
    if (unset) for (const key of unset) delete data[key];
    return { kind: 'continue', data, output: values };
  },
};

/** JSONata truthiness: empty strings, 0, null, false and empty arrays are false. */
export function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(truthy);
  return Boolean(v);
}

export const conditionStep: StepKind = {
  type: 'condition',
  async execute(ctx: StepContext): Promise<Outcome> {
    const cases = (ctx.step.def.cases as { next: string }[] | undefined) ?? [];
    for (let i = 0; i < cases.length; i++) {
      const expr = ctx.step.expressions[`cases.${i}.when`];
      if (expr && truthy(await expr.evaluate(ctx.scope))) {
        return { kind: 'continue', next: cases[i].next, output: { matched: i, next: cases[i].next } };
      }
    }
    const fallback = (ctx.step.def.default as string | undefined) ?? ctx.step.next;
    return { kind: 'continue', next: fallback, output: { matched: null, next: fallback } };
  },
};

export const replyStep: StepKind = {
  type: 'reply',
  async execute(ctx: StepContext): Promise<Outcome> {
    const def = ctx.step.def;
    const data: Json = ctx.step.fields.data ? await ctx.step.fields.data.evaluate(ctx.scope) : ctx.scope.data;
    let headers: Record<string, string> | undefined;
    if (ctx.step.fields.headers) {
      const h = await ctx.step.fields.headers.evaluate(ctx.scope);
      if (isObject(h)) {
        headers = {};
        for (const [k, v] of Object.entries(h)) if (v !== null) headers[k] = typeof v === 'string' ? v : JSON.stringify(v);
      }
    }
    const status = def.status === 'error' ? 'error' : 'ok';
    const reply = {
      status: status as 'ok' | 'error',
      data,
      ...(typeof def.http_status === 'number' ? { http_status: def.http_status } : {}),
      ...(headers ? { headers } : {}),
    };
    return { kind: 'reply', reply, output: data };
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
