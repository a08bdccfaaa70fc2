/**
 * The run state machine: pure functions around one step's execution. `chooseExecution` decides,
 * before a step runs, which record it writes, which attempt it is and what it resumes with;
 * `advance` goes from (run, record, outcome) to the next run state. No I/O, no clock reads (time is
 * passed in), so every decision and transition can be tested with plain data.
 */
import type { CompiledStep } from '../core/compiled.js';
import { copyRecord, copyRun } from '../core/run.js';
import type { Attempt, JsonObject, Reply, Run, RunError, StepRecord } from '../core/types.js';
import type { Outcome, Resumption } from '../steps/types.js';

export interface Advanced {
  run: Run;
  record: StepRecord;
  /** The run may go on executing steps in this slice. */
  proceed: boolean;
  replied: boolean;
}

/** How the next step of a run is executed (see chooseExecution). */
export interface Execution {
  /** The run as the step starts: unparked, or moved to the new record's seq. */
  run: Run;
  /** The record this execution writes (a new one, or the parked or interrupted one it continues). */
  record: StepRecord;
  /** 1 for a first attempt; a retry or a re-run after a crash counts on. */
  attempt: number;
  /** What a parked step resumes with; undefined for a step that starts. */
  resumption: Resumption | undefined;
  /**
   * Parked on child runs: their ids. The step resumes with their stored states (`children`
   * resumption), which the caller reads: the one input this function cannot be handed in advance.
   */
  children: string[] | null;
}

/**
 * Whether chooseExecution needs the run's stored records: the run is parked in `stepId`, or it
 * was recovered after a crash with steps behind it. Otherwise it is given none.
 */
export function needsRecords(run: Run, stepId: string, recovered: boolean): boolean {
  return (run.parking !== null && run.parking.step === stepId) || (recovered && run.step_seq > 0);
}

/**
 * Chooses how `step` (the run's current step) is executed:
 * - parked in it: it continues the parked record (a retry counts the attempt on; a wait resumes
 *   with the callback body given, else the one a claimer accepted before a crash, else its
 *   timer; an await resumes with its children), and the run is unparked;
 * - recovered after a crash while this step was `running`: the same record again, the lost
 *   attempt logged as interrupted;
 * - otherwise: a new record, the next seq.
 * `records` are the run's stored records when needsRecords says so, `resume` what the job woke
 * with, `now` the time a new record starts.
 */
export function chooseExecution(
  run: Run, step: CompiledStep, records: readonly StepRecord[], resume: Resumption | undefined, recovered: boolean, now: number,
): Execution {
  const parking = run.parking;
  if (parking && parking.step === step.def.id) {
    const existing = records.find((r) => r.seq === parking.seq);
    const record = existing ?? newRecord(run, step, parking.seq, now);
    const unparked = copyRun(run);
    unparked.parking = null;
    unparked.wake_at = null;
    if (parking.kind === 'retry') return { run: unparked, record, attempt: parking.attempt + 1, resumption: undefined, children: null };
    if (parking.kind === 'child') return { run: unparked, record, attempt: 1, resumption: undefined, children: parking.children };
    const resumption = resume ?? acceptedCallback(parking.kind, existing) ?? { kind: 'timer' };
    return { run: unparked, record, attempt: 1, resumption, children: null };
  }
  if (recovered && run.step_seq > 0) {
    const last = records.find((r) => r.seq === run.step_seq);
    if (last && last.status === 'running' && last.step_id === step.def.id) {
      const lost: Attempt = { n: last.attempts.length + 1, started_at: last.started_at, finished_at: null, duration_ms: null, error: { class: 'interrupted', message: 'the server stopped during this attempt' } };
      const record = { ...last, attempts: [...last.attempts, lost] };
      return { run, record, attempt: record.attempts.length + 1, resumption: undefined, children: null };
    }
  }
  const record = newRecord(run, step, run.step_seq + 1, now);
  const moved = copyRun(run);
  moved.step_seq = record.seq;
  return { run: moved, record, attempt: 1, resumption: undefined, children: null };
}

/** A callback accepted (committed by Engine.callback) but not yet acted on when the claimer died. */
function acceptedCallback(kind: string, record: StepRecord | undefined): Resumption | undefined {
  const body = record?.output;
  if (kind !== 'callback' || record?.status !== 'running' || !body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  return { kind: 'callback', body };
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
