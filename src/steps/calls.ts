/**
 * Steps that run other workflows: `call` (one child; with `wait`, parks until it replies or ends)
 * and `foreach` (one child per item, bounded concurrency, progress and statistics). Children are
 * started through the ChildPort, which is idempotent per step record and key, so a step executed
 * again after a crash finds the children it had already started.
 */
import { parseDuration } from '../core/duration.js';
import { isTerminal, type Json, type JsonObject, type Run } from '../core/types.js';
import type { ChildStart, Outcome, Resumption, StepContext, StepKind } from './types.js';

/** How often a parked parent looks at its children even without a wake-up (a lost hint costs at most this). */
export const CHILD_CHECK_MS = 30_000;
/** Items one foreach may have when the server sets no limit (FLOWGATE_MAX_FOREACH_ITEMS). */
export const DEFAULT_MAX_FOREACH_ITEMS = 10_000;
/**
 * A foreach whose children end as soon as they start never parks between them; after this long in
 * one execution it parks anyway and is woken at once, so its progress and state are committed (and
 * visible) while it fans out instead of only at the end.
 */
export const FOREACH_ROUND_MS = 500;
const DEFAULT_CALL_TIMEOUT = '1d';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A child's result: its reply when it replied, else its final data. */
const resultOf = (run: Run): Json => (run.reply ? run.reply.data : run.data);

const describe = (v: Json): string => (typeof v === 'string' ? v : JSON.stringify(v));

// ---------------------------------------------------------------- call

interface CallState {
  child: string;
  deadline: number;
}

function settleCall(ctx: StepContext, child: Run): Outcome | null {
  if (child.reply) {
    const result = child.reply.data;
    if (child.reply.status === 'error') {
      return { kind: 'fail', error: { code: 'child_replied_error', message: `workflow ${child.workflow} replied with an error: ${describe(result)}` }, output: { run_id: child.id, result } };
    }
    return continueWith(ctx, child, result);
  }
  if (!isTerminal(child.status)) return null;
  if (child.status === 'succeeded') return continueWith(ctx, child, child.data);
  const reason = child.status === 'cancelled' ? 'was cancelled' : `failed: ${child.error?.message ?? 'unknown error'}`;
  return { kind: 'fail', error: { code: `child_${child.status}`, message: `workflow ${child.workflow} (run ${child.id}) ${reason}` }, output: { run_id: child.id } };
}

function continueWith(ctx: StepContext, child: Run, result: Json): Outcome {
  const saveAs = ctx.step.def.save_as as string | undefined;
  let data: JsonObject;
  if (saveAs) data = { ...ctx.scope.data, [saveAs]: result };
  else data = isObject(result) ? { ...ctx.scope.data, ...result } : ctx.scope.data;
  return { kind: 'continue', data, output: { run_id: child.id, result } };
}

function startFailed(start: ChildStart): Outcome | null {
  return 'error' in start ? { kind: 'fail', error: { code: start.error.code, message: start.error.message } } : null;
}

export const callStep: StepKind = {
  type: 'call',
  async execute(ctx: StepContext): Promise<Outcome> {
    const def = ctx.step.def;
    const input = ctx.step.fields.data ? await ctx.step.fields.data.evaluate(ctx.scope) : {};
    if (!isObject(input)) return { kind: 'fail', error: { code: 'bad_child_data', message: 'call data must evaluate to an object' } };
    const [start] = await ctx.children.start([{ key: 'call', workflow: def.workflow as string, data: input }]);
    const failed = startFailed(start);
    if (failed || 'error' in start) return failed!;
    const child = start.run;
    if (def.wait === false) {
      const saveAs = def.save_as as string | undefined;
      const data = saveAs ? { ...ctx.scope.data, [saveAs]: { run_id: child.id } } : undefined;
      return { kind: 'continue', ...(data ? { data } : {}), input, output: { run_id: child.id } };
    }
    const settled = settleCall(ctx, child);
    if (settled) return settled;
    const deadline = ctx.now() + parseDuration((def.timeout as string | undefined) ?? DEFAULT_CALL_TIMEOUT);
    const state: CallState = { child: child.id, deadline };
    return { kind: 'await', children: [child.id], wakeOn: 'reply', until: Math.min(deadline, ctx.now() + CHILD_CHECK_MS), state: state as unknown as Json, input };
  },
  async resume(ctx: StepContext, why: Resumption): Promise<Outcome> {
    const state = ctx.record?.output as unknown as CallState | null;
    if (!state || why.kind !== 'children') return { kind: 'fail', error: { code: 'lost_state', message: 'the call step lost track of its child run' } };
    const child = why.runs.find((r) => r.id === state.child);
    if (!child) return { kind: 'fail', error: { code: 'child_missing', message: `child run ${state.child} no longer exists` } };
    const settled = settleCall(ctx, child);
    if (settled) return settled;
    if (ctx.now() >= state.deadline) {
      return { kind: 'fail', error: { code: 'call_timeout', message: `workflow ${child.workflow} (run ${child.id}) did not reply in time` }, output: { run_id: child.id } };
    }
    return { kind: 'await', children: [child.id], wakeOn: 'reply', until: Math.min(state.deadline, ctx.now() + CHILD_CHECK_MS), state: state as unknown as Json };
  },
};

// ---------------------------------------------------------------- foreach

interface ForeachState {
  total: number;
  /** Index of the next item to start. */
  next: number;
  /** Running children: run id -> item index. */
  active: Record<string, number>;
  succeeded: number;
  failed: number;
  /** Children's results by item index (only with save_as). */
  results?: Json[];
}

const DEFAULT_CONCURRENCY = 10;

async function itemsOf(ctx: StepContext): Promise<Json[] | Outcome> {
  const items = await ctx.step.expressions.items.evaluate(ctx.scope);
  if (items === null || items === undefined) return [];
  if (!Array.isArray(items)) return { kind: 'fail', error: { code: 'bad_items', message: 'foreach items must evaluate to an array' } };
  return items as Json[];
}

function record(state: ForeachState, index: number, ok: boolean, result: Json): void {
  if (ok) state.succeeded++;
  else state.failed++;
  if (state.results) state.results[index] = result;
}

/**
 * Starts children up to the concurrency limit, then parks or finishes; parks (to be woken at once)
 * after FOREACH_ROUND_MS of children that ended as soon as they started.
 */
async function advanceForeach(ctx: StepContext, state: ForeachState, items: Json[]): Promise<Outcome> {
  const def = ctx.step.def;
  const limit = (def.concurrency as number | undefined) ?? DEFAULT_CONCURRENCY;
  const began = ctx.now();
  let roundOver = false;
  for (;;) {
    const room = limit - Object.keys(state.active).length;
    const specs = [];
    for (let i = 0; i < room && state.next < state.total; i++, state.next++) {
      const index = state.next;
      const item = items[index] ?? null;
      let data: Json;
      if (ctx.step.fields.data) {
        data = await ctx.step.fields.data.evaluate({ ...ctx.scope, vars: { ...ctx.scope.vars, item, index } });
      } else data = isObject(item) ? item : { item };
      if (!isObject(data)) {
        record(state, index, false, { error: 'foreach data must evaluate to an object' });
        continue;
      }
      specs.push({ key: String(index), workflow: def.workflow as string, data });
    }
    if (specs.length === 0) break;
    const starts = await ctx.children.start(specs);
    let settledNow = false;
    for (const s of starts) {
      const index = Number(s.key);
      if ('error' in s) record(state, index, false, { error: s.error.message });
      else if (isTerminal(s.run.status)) {
        record(state, index, s.run.status === 'succeeded', resultOf(s.run));
        settledNow = true;
      } else state.active[s.run.id] = index;
    }
    if (!settledNow && Object.keys(state.active).length >= limit) break;
    if (state.next < state.total && ctx.now() - began >= FOREACH_ROUND_MS) {
      roundOver = true;
      break;
    }
  }
  const done = state.succeeded + state.failed;
  const progress = state.total === 0 ? 100 : Math.floor((100 * done) / state.total);
  const active = Object.keys(state.active);
  // `stats` is kept current in the run's data at every commit that moves progress, not only at the end.
  const stats = { total: state.total, succeeded: state.succeeded, failed: state.failed };
  if (active.length === 0 && state.next >= state.total) {
    const saveAs = def.save_as as string | undefined;
    const data: JsonObject = { ...ctx.scope.data, stats, ...(saveAs ? { [saveAs]: state.results ?? [] } : {}) };
    return { kind: 'continue', data, output: stats, progress: 100 };
  }
  const until = roundOver ? ctx.now() : ctx.now() + CHILD_CHECK_MS;
  return { kind: 'await', children: active, wakeOn: 'end', until, state: state as unknown as Json, progress, data: { ...ctx.scope.data, stats } };
}

export const foreachStep: StepKind = {
  type: 'foreach',
  async execute(ctx: StepContext): Promise<Outcome> {
    const items = await itemsOf(ctx);
    if (!Array.isArray(items)) return items;
    const max = ctx.limits?.foreachItems ?? DEFAULT_MAX_FOREACH_ITEMS;
    if (items.length > max) {
      return {
        kind: 'fail', input: { items: items.length },
        error: { code: 'too_many_items', message: `foreach items has ${items.length} items; the limit is ${max} (FLOWGATE_MAX_FOREACH_ITEMS)` },
      };
    }
    const state: ForeachState = {
      total: items.length, next: 0, active: {}, succeeded: 0, failed: 0,
      ...(ctx.step.def.save_as ? { results: items.map(() => null) } : {}),
    };
    return advanceForeach(ctx, state, items);
  },
  async resume(ctx: StepContext, why: Resumption): Promise<Outcome> {
    const saved = ctx.record?.output as unknown as ForeachState | null;
    if (!saved || why.kind !== 'children') return { kind: 'fail', error: { code: 'lost_state', message: 'the foreach step lost track of its children' } };
    const state: ForeachState = { ...saved, active: { ...saved.active }, ...(saved.results ? { results: [...saved.results] } : {}) };
    for (const run of why.runs) {
      const index = state.active[run.id];
      if (index === undefined || !isTerminal(run.status)) continue;
      delete state.active[run.id];
      record(state, index, run.status === 'succeeded', resultOf(run));
    }
    const items = await itemsOf(ctx);
    if (!Array.isArray(items)) return items;
    return advanceForeach(ctx, state, items);
  },
};
