/**
 * What a caller is answered about a run: still pending, or its result (docs/spec.md §4 `GET …/result`).
 * Every surface (native `?wait`, polling, compatibility APIs) derives its answer from this one rule.
 */
import { FlowgateError } from '../core/errors.js';
import { isTerminal, type Json, type Run } from '../core/types.js';

export type RunAnswer =
  | { done: false; run: Run }
  | { done: true; run: Run; httpStatus: number; headers: Record<string, string>; body: Json }
  | { done: true; run: Run; problem: FlowgateError };

/** A run's result: its reply when it replied, else its final data. */
export const runResult = (run: Run): Json => (run.reply ? run.reply.data : run.data);

export function answerFor(run: Run): RunAnswer {
  if (run.reply) {
    const httpStatus = run.reply.http_status ?? (run.reply.status === 'error' ? 500 : 200);
    return { done: true, run, httpStatus, headers: run.reply.headers ?? {}, body: run.reply.data };
  }
  if (!isTerminal(run.status)) return { done: false, run };
  if (run.status === 'succeeded') return { done: true, run, httpStatus: 200, headers: {}, body: run.data };
  if (run.status === 'cancelled') {
    return { done: true, run, problem: new FlowgateError('run_cancelled', 'the run was cancelled before it replied', { extra: { run_id: run.id } }) };
  }
  return {
    done: true, run,
    problem: new FlowgateError('run_failed', run.error?.message ?? 'the run failed', { extra: { run_id: run.id, error: run.error } }),
  };
}
