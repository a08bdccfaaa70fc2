/**
 * The run state machine: pure functions from (run, step record, outcome) to the next run state.
 * No I/O, no clock reads (time is passed in), so every transition can be tested with plain data.
 */
import type { CompiledStep } from '../core/compiled.js';
import { copyRecord, copyRun } from '../core/run.js';
import type { Attempt, JsonObject, Reply, Run, RunError, StepRecord } from '../core/types.js';
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

/** The reply a step gave, stamped with when (the optional fields only when set). */
function replyAt(r: Omit<Reply, 'at'>, now: number): Reply {
  const reply: Reply = { status: r.status, data: r.data, at: now };
  if (r.http_status !== undefined) reply.http_status = r.http_status;
  if (r.headers !== undefined) reply.headers = r.headers;
  return reply;
}

/** Ends a run as succeeded: progress 100, no current step, a handled error forgotten. */
function succeed(run: Run, now: number): Run {
  return markSucceeded(copyRun(run), now);
}

/** Sets a copy this module just made to `status`, parked (or not) as given, changed now. */
function enter(r: Run, status: Run['status'], parking: Run['parking'], wakeAt: number | null, now: number): Run {
  r.status = status;
  r.parking = parking;
  r.wake_at = wakeAt;
  r.updated_at = now;
  return r;
}

/** Ends a copy this module just made: the terminal status, nothing parked, finished now. */
function finish(r: Run, status: 'succeeded' | 'failed' | 'cancelled', now: number): Run {
  enter(r, status, null, null, now);
  r.finished_at = now;
  return r;
}

function markSucceeded(r: Run, now: number): Run {
  finish(r, 'succeeded', now);
  r.step = null;
  r.progress = 100;
  r.error = null;
  return r;
}

function fail(run: Run, error: RunError, now: number): Run {
  const r = finish(copyRun(run), 'failed', now);
  r.error = error;
  return r;
}

/** Parks a copy of the run in step `id` (no owner while parked). */
function park(run: Run, id: string, parking: Run['parking'], wakeAt: number | null, now: number): Run {
  const r = enter(copyRun(run), 'waiting', parking, wakeAt, now);
  r.step = id;
  r.owner = null;
  r.lease_until = null;
  return r;
}

/** Moves to `next`, or ends the run when there is none. `reply` replaces the run's reply when given. */
function goTo(run: Run, next: string | null, data: JsonObject, now: number, reply?: Run['reply']): Run {
  const r = copyRun(run);
  r.data = data;
  if (reply !== undefined) r.reply = reply;
  if (next === null) return markSucceeded(r, now);
  r.step = next;
  return enter(r, 'running', null, null, now);
}

export function advance(run: Run, step: CompiledStep, record: StepRecord, outcome: Outcome, attemptStarted: number, now: number): Advanced {
  const id = step.def.id;
  switch (outcome.kind) {
    case 'continue': {
      const next = outcome.next !== undefined ? outcome.next : step.next;
      const rec = copyRecord(record);
      rec.status = 'succeeded';
      rec.finished_at = now;
      rec.error = null;
      rec.input = outcome.input ?? record.input;
      rec.output = outcome.output ?? null;
      rec.attempts = withAttempt(record, outcome.attempt, attemptStarted, now);
      const moved = goTo(run, next, outcome.data ?? run.data, now);
      if (outcome.progress !== undefined && moved.status !== 'succeeded') moved.progress = outcome.progress;
      return { run: moved, record: rec, proceed: moved.status === 'running', replied: false };
    }
    case 'await': {
      const rec: StepRecord = { ...record, status: 'waiting', input: outcome.input ?? record.input, output: outcome.state };
      const parked = park(run, id, { kind: 'child', step: id, seq: record.seq, children: outcome.children, wake_on: outcome.wakeOn }, Math.ceil(outcome.until), now);
      if (outcome.progress !== undefined) parked.progress = outcome.progress;
      if (outcome.data !== undefined) parked.data = outcome.data;
      return { run: parked, record: rec, proceed: false, replied: false };
    }
    case 'reply': {
      const rec = copyRecord(record);
      rec.status = 'succeeded';
      rec.finished_at = now;
      rec.input = outcome.input ?? null;
      rec.output = outcome.output ?? null;
      const replied = run.reply === null;
      const moved = goTo(run, step.next, run.data, now, replied ? replyAt(outcome.reply, now) : undefined);
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
      const parked = park(run, id, { kind, step: id, seq: record.seq }, wake, now);
      return { run: parked, record: rec, proceed: false, replied: false };
    }
    case 'retry': {
      const error: RunError = { step: id, ...outcome.error };
      const attempts = withAttempt(record, outcome.attempt, attemptStarted, now, error);
      const rec: StepRecord = { ...record, status: 'waiting', input: outcome.input ?? record.input, attempts, error };
      const parked = park(run, id, { kind: 'retry', step: id, seq: record.seq, attempt: attempts.length }, Math.ceil(outcome.at), now);
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
        const moved = goTo(run, target, run.data, now);
        moved.error = error;
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
  const r = finish(copyRun(run), 'cancelled', now);
  r.owner = null;
  r.lease_until = null;
  return r;
}
