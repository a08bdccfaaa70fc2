/**
 * The run state machine: pure functions from (run, step record, outcome) to the next run state.
 * No I/O, no clock reads (time is passed in), so every transition can be tested with plain data.
 */
import type { CompiledStep } from '../core/compiled.js';
import type { Attempt, JsonObject, Run, RunError, StepRecord } from '../core/types.js';
import type { Outcome } from '../steps/types.js';

export interface Advanced {
  run: Run;
  record: StepRecord;
  /** The run may go on executing steps in this slice. */
  proceed: boolean;
  replied: boolean;
}

export function newRecord(run: Run, step: CompiledStep, seq: number, now: number): StepRecord {
  return {
    run_id: run.id, seq, step_id: step.def.id, type: step.def.type, name: step.def.name ?? null,
    status: 'running', attempts: [], input: null, output: null, error: null, started_at: now, finished_at: null,
  };
}

function withAttempt(record: StepRecord, attempt: Partial<Attempt> | undefined, started: number, now: number, error?: RunError | null): Attempt[] {
  if (!attempt && record.type !== 'http') return record.attempts;
  const n = record.attempts.length + 1;
  const a: Attempt = {
    n, started_at: started, finished_at: now, duration_ms: attempt?.duration_ms ?? now - started,
    ...(attempt?.request !== undefined ? { request: attempt.request } : {}),
    ...(attempt?.response !== undefined ? { response: attempt.response } : {}),
    error: attempt?.error ?? (error ? { class: error.code, message: error.message } : null),
  };
  return [...record.attempts, a];
}

/** Ends a run as succeeded: progress 100, no current step, a handled error forgotten. */
function succeed(run: Run, now: number): Run {
  return { ...run, status: 'succeeded', step: null, progress: 100, error: null, parking: null, wake_at: null, finished_at: now, updated_at: now };
}

function fail(run: Run, error: RunError, now: number): Run {
  return { ...run, status: 'failed', error, parking: null, wake_at: null, finished_at: now, updated_at: now };
}

/** Moves to `next`, or ends the run when there is none. */
function goTo(run: Run, next: string | null, data: JsonObject, now: number): Run {
  const moved: Run = { ...run, data, step: next, status: 'running', parking: null, wake_at: null, updated_at: now };
  return next === null ? succeed(moved, now) : moved;
}

export function advance(run: Run, step: CompiledStep, record: StepRecord, outcome: Outcome, attemptStarted: number, now: number): Advanced {
  const id = step.def.id;
  switch (outcome.kind) {
    case 'continue': {
      const next = outcome.next !== undefined ? outcome.next : step.next;
      const rec: StepRecord = {
        ...record, status: 'succeeded', finished_at: now, error: null,
        input: outcome.input ?? record.input, output: outcome.output ?? null,
        attempts: withAttempt(record, outcome.attempt, attemptStarted, now),
      };
      let moved = goTo(run, next, outcome.data ?? run.data, now);
      if (outcome.progress !== undefined && moved.status !== 'succeeded') moved = { ...moved, progress: outcome.progress };
      return { run: moved, record: rec, proceed: moved.status === 'running', replied: false };
    }
    case 'await': {
      const rec: StepRecord = { ...record, status: 'waiting', input: outcome.input ?? record.input, output: outcome.state };
      const parked: Run = {
        ...run, status: 'waiting', step: id, progress: outcome.progress ?? run.progress,
        parking: { kind: 'child', step: id, seq: record.seq, children: outcome.children, wake_on: outcome.wakeOn },
        wake_at: Math.ceil(outcome.until), owner: null, lease_until: null, updated_at: now,
      };
      return { run: parked, record: rec, proceed: false, replied: false };
    }
    case 'reply': {
      const rec: StepRecord = { ...record, status: 'succeeded', finished_at: now, input: outcome.input ?? null, output: outcome.output ?? null };
      const replied = run.reply === null;
      const withReply: Run = replied ? { ...run, reply: { ...outcome.reply, at: now } } : run;
      const moved = goTo(withReply, step.next, run.data, now);
      return { run: moved, record: rec, proceed: moved.status === 'running', replied };
    }
    case 'sleep':
    case 'park': {
      const kind = outcome.kind === 'sleep' ? 'delay' : 'callback';
      const wake = Math.ceil(outcome.kind === 'sleep' ? outcome.until : outcome.timeoutAt);
      let rec: StepRecord = { ...record, status: 'waiting', input: outcome.input ?? null };
      // A step that polls (http follow_async) keeps its state as output and logs each poll as an attempt.
      if (outcome.kind === 'sleep' && outcome.output !== undefined) rec = { ...rec, output: outcome.output };
      if (outcome.kind === 'sleep' && outcome.attempt) rec = { ...rec, attempts: withAttempt(record, outcome.attempt, attemptStarted, now) };
      const parked: Run = { ...run, status: 'waiting', step: id, parking: { kind, step: id, seq: record.seq }, wake_at: wake, owner: null, lease_until: null, updated_at: now };
      return { run: parked, record: rec, proceed: false, replied: false };
    }
    case 'retry': {
      const error: RunError = { step: id, ...outcome.error };
      const attempts = withAttempt(record, outcome.attempt, attemptStarted, now, error);
      const rec: StepRecord = { ...record, status: 'waiting', input: outcome.input ?? record.input, attempts, error };
      const parked: Run = {
        ...run, status: 'waiting', step: id, parking: { kind: 'retry', step: id, seq: record.seq, attempt: attempts.length },
        wake_at: Math.ceil(outcome.at), owner: null, lease_until: null, updated_at: now,
      };
      return { run: parked, record: rec, proceed: false, replied: false };
    }
    case 'fail': {
      const error: RunError = { step: id, ...outcome.error };
      const rec: StepRecord = {
        ...record, status: 'failed', finished_at: now, error, input: outcome.input ?? record.input, output: outcome.output ?? null,
        attempts: withAttempt(record, outcome.attempt, attemptStarted, now, error),
      };
      const target = step.def.on_error;
      if (target) {
        const moved: Run = { ...run, error, step: target, status: 'running', parking: null, wake_at: null, updated_at: now };
        return { run: moved, record: rec, proceed: true, replied: false };
      }
      return { run: fail(run, error, now), record: rec, proceed: false, replied: false };
    }
    case 'end': {
      const rec: StepRecord = { ...record, status: 'succeeded', finished_at: now, input: outcome.input ?? null, output: { status: outcome.status } };
      const ended = outcome.status === 'succeeded'
        ? succeed(run, now)
        : fail(run, { step: id, ...(outcome.error ?? { code: 'ended_failed', message: 'the workflow ended with status failed' }) }, now);
      return { run: ended, record: rec, proceed: false, replied: false };
    }
  }
}

/** Cancels a run that is not finished. */
export function cancelled(run: Run, now: number): Run {
  return { ...run, status: 'cancelled', parking: null, wake_at: null, owner: null, lease_until: null, finished_at: now, updated_at: now };
}
