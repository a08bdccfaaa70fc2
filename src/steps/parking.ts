/** Steps that park the run: delay (a durable timer) and wait (for a POST to the run's callback URL). */
import { parseDuration } from '../core/duration.js';
import type { JsonObject } from '../core/types.js';
import { StepError, type Outcome, type Resumption, type StepContext, type StepKind } from './types.js';

const DEFAULT_WAIT_TIMEOUT = '1d';

function toTimestamp(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  throw new StepError('bad_timestamp', `until must evaluate to an ISO 8601 timestamp or epoch milliseconds, got ${JSON.stringify(v)}`);
}

export const delayStep: StepKind = {
  type: 'delay',
  async execute(ctx: StepContext): Promise<Outcome> {
    const def = ctx.step.def;
    let until: number;
    if (def.for !== undefined) until = ctx.now() + parseDuration(def.for as string);
    else until = toTimestamp(await ctx.step.expressions.until.evaluate(ctx.scope));
    return { kind: 'sleep', until, input: { until: new Date(until).toISOString() } };
  },
  async resume(): Promise<Outcome> {
    return { kind: 'continue' };
  },
};

export const waitStep: StepKind = {
  type: 'wait',
  async execute(ctx: StepContext): Promise<Outcome> {
    const timeout = parseDuration((ctx.step.def.timeout as string | undefined) ?? DEFAULT_WAIT_TIMEOUT);
    const timeoutAt = ctx.now() + timeout;
    return { kind: 'park', timeoutAt, input: { timeout_at: new Date(timeoutAt).toISOString() } };
  },
  async resume(ctx: StepContext, why: Resumption): Promise<Outcome> {
    if (why.kind !== 'callback') {
      const onTimeout = ctx.step.def.on_timeout as string | undefined;
      if (onTimeout) return { kind: 'continue', next: onTimeout, output: { timed_out: true } };
      return { kind: 'fail', error: { code: 'wait_timeout', message: 'no callback arrived before the wait step timed out' } };
    }
    const saveAs = ctx.step.def.save_as as string | undefined;
    const data: JsonObject = saveAs ? { ...ctx.scope.data, [saveAs]: why.body } : { ...ctx.scope.data, ...why.body };
    return { kind: 'continue', data, output: why.body };
  },
};
