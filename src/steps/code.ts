/**
 * The `code` step: a JavaScript function body run in the sandbox (SandboxPort) on a deep copy of
 * `data`. A returned object is merged into `data`; `undefined` (no return) changes nothing; any
 * other value, or one nested deeper than the nesting limit (core/depth.ts), fails the step. The sandbox has no I/O and no clock, and bounds time, memory and stack.
 */
import { exceedsDepth, tooDeepMessage } from '../core/depth.js';
import { parseDuration } from '../core/duration.js';
import type { Json, JsonObject } from '../core/types.js';
import type { Outcome, StepContext, StepKind } from './types.js';

export const DEFAULT_CODE_TIMEOUT_MS = 1000;
/** No step may hold a sandbox worker longer than this, whatever its `timeout` says. */
export const MAX_CODE_TIMEOUT_MS = 60_000;

const kindOf = (v: Json): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

export const codeStep: StepKind = {
  type: 'code',
  async execute(ctx: StepContext): Promise<Outcome> {
    const def = ctx.step.def;
    const code = def.code;
    if (typeof code !== 'string' || code.trim() === '') return { kind: 'fail', error: { code: 'code_error', message: 'the step has no code' } };
    const timeoutMs = Math.min(MAX_CODE_TIMEOUT_MS, def.timeout !== undefined ? parseDuration(def.timeout as string | number) : DEFAULT_CODE_TIMEOUT_MS);
    if (!ctx.sandbox) return { kind: 'fail', error: { code: 'code_error', message: 'no JavaScript sandbox is configured on this server' } };

    const started = ctx.now();
    const result = await ctx.sandbox.run({ code, data: ctx.scope.data, timeoutMs, seed: `${ctx.run.id}:${ctx.seq}` });
    const duration_ms = ctx.now() - started;
    if (!result.ok) {
      const { code: errorCode, message, line } = result.error;
      const error = { code: errorCode, message: line ? `${message} (line ${line})` : message };
      return { kind: 'fail', error, output: line ? { line } : null, attempt: { duration_ms, error: { class: errorCode, message: error.message } } };
    }
    const value = result.value;
    if (value === undefined) return { kind: 'continue', output: null, attempt: { duration_ms } };
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const message = `the code must return an object (its keys are merged into data) or nothing; it returned ${kindOf(value)}`;
      return { kind: 'fail', error: { code: 'code_error', message }, attempt: { duration_ms, error: { class: 'code_error', message } } };
    }
    if (exceedsDepth(value)) {
      const message = tooDeepMessage('the value the code returned');
      return { kind: 'fail', error: { code: 'too_deep', message }, attempt: { duration_ms, error: { class: 'too_deep', message } } };
    }
    // Spreads define own properties, so a `__proto__` key returned by the code stays plain data.
    const data: JsonObject = { ...ctx.scope.data, ...(value as JsonObject) };
    return { kind: 'continue', data, output: value, attempt: { duration_ms } };
  },
};
