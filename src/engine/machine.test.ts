/**
 * The pure run state machine: every Outcome kind applied to plain data, with times passed in.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CompiledStep } from '../core/compiled.js';
import { compileWorkflow, validateDefinition } from '../core/definition.js';
import type { Run, StepDef, StepRecord, Workflow } from '../core/types.js';
import { SUPPORTED_STEP_TYPES } from '../steps/index.js';
import { advance, cancelled, chooseExecution, needsRecords, newRecord } from './machine.js';

const T0 = 1_700_000_000_000;
const NOW = T0 + 500;

const STEPS: StepDef[] = [
  { id: 'first', type: 'set', set: { a: 1 } },
  { id: 'call', type: 'http', url: 'https://a.example/', on_error: 'recover' },
  { id: 'answer', type: 'reply' },
  { id: 'recover', type: 'set', set: { recovered: true } },
  { id: 'last', type: 'set', set: { z: 1 } },
];

function workflow(steps: StepDef[] = STEPS): Map<string, CompiledStep> {
  const v = validateDefinition({ id: 'wf', steps }, { supportedStepTypes: SUPPORTED_STEP_TYPES });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  const wf: Workflow = {
    tenant: 'default', id: 'wf', name: 'wf', version: 1, definition: v.definition, source: '', conv_id: 1,
    hash: 'h'.repeat(40), guid: 'g', archived: false, created_at: T0, updated_at: T0,
  };
  return compileWorkflow(wf).steps;
}

const steps = workflow();
const step = (id: string): CompiledStep => steps.get(id)!;

function makeRun(over: Partial<Run> = {}): Run {
  return {
    id: 'run-1', tenant: 'default', workflow: 'wf', version: 1, ref: null, status: 'running', input: { x: 1 }, data: { x: 1 },
    progress: 0, step: 'first', step_seq: 1, reply: null, error: null, parking: null, wake_at: null, callback_token: 'tok',
    result_url: null, parent: null, attempt: 1, owner: 'node-a', lease_until: T0 + 30_000, rev: 4, created_at: T0,
    started_at: T0, finished_at: null, updated_at: T0, ...over,
  };
}

const recordFor = (run: Run, id: string, seq = run.step_seq) => newRecord(run, step(id), seq, T0 + 100);

describe('advance: continue', () => {
  test('moves to the step\'s next, with new data; the record succeeds', () => {
    const run = makeRun();
    const adv = advance(run, step('first'), recordFor(run, 'first'), { kind: 'continue', data: { x: 1, a: 1 }, output: { a: 1 } }, T0 + 200, NOW);
    assert.equal(adv.proceed, true);
    assert.equal(adv.replied, false);
    assert.equal(adv.run.status, 'running');
    assert.equal(adv.run.step, 'call');
    assert.deepEqual(adv.run.data, { x: 1, a: 1 });
    assert.equal(adv.run.updated_at, NOW);
    assert.equal(adv.record.status, 'succeeded');
    assert.equal(adv.record.finished_at, NOW);
    assert.deepEqual(adv.record.output, { a: 1 });
    assert.deepEqual(adv.record.attempts, [], 'non-http steps without an attempt record none');
    assert.deepEqual(run.data, { x: 1 }, 'the input run is not mutated');
  });

  test('an explicit next wins; data defaults to the run\'s', () => {
    const run = makeRun();
    const adv = advance(run, step('first'), recordFor(run, 'first'), { kind: 'continue', next: 'recover' }, T0, NOW);
    assert.equal(adv.run.step, 'recover');
    assert.deepEqual(adv.run.data, { x: 1 });
  });

  test('past the end of the list (or next: null): succeeded, progress 100, no step, handled error forgotten', () => {
    const run = makeRun({ step: 'last', progress: 40, error: { step: 'call', code: 'http_status', message: 'x' } });
    const adv = advance(run, step('last'), recordFor(run, 'last'), { kind: 'continue', data: { z: 1 } }, T0, NOW);
    assert.equal(adv.run.status, 'succeeded');
    assert.equal(adv.run.progress, 100);
    assert.equal(adv.run.step, null);
    assert.equal(adv.run.error, null);
    assert.equal(adv.run.finished_at, NOW);
    assert.equal(adv.proceed, false);
    const ended = advance(makeRun(), step('first'), recordFor(makeRun(), 'first'), { kind: 'continue', next: null }, T0, NOW);
    assert.equal(ended.run.status, 'succeeded');
  });

  test('an http attempt is appended with its timing', () => {
    const run = makeRun({ step: 'call' });
    const adv = advance(run, step('call'), recordFor(run, 'call'), { kind: 'continue', attempt: { request: { method: 'GET' }, response: { status: 200 }, duration_ms: 42 } }, T0 + 200, NOW);
    assert.equal(adv.record.attempts.length, 1);
    assert.deepEqual(adv.record.attempts[0], { n: 1, started_at: T0 + 200, finished_at: NOW, duration_ms: 42, request: { method: 'GET' }, response: { status: 200 }, error: null });
  });
});

describe('advance: reply', () => {
  const out = { kind: 'reply' as const, reply: { status: 'ok' as const, data: { d: 1 }, http_status: 201 }, output: { d: 1 } };

  test('sets the reply (stamped now) and goes on to the next step', () => {
    const run = makeRun({ step: 'answer' });
    const adv = advance(run, step('answer'), recordFor(run, 'answer'), out, T0, NOW);
    assert.equal(adv.replied, true);
    assert.deepEqual(adv.run.reply, { status: 'ok', data: { d: 1 }, http_status: 201, at: NOW });
    assert.equal(adv.run.step, 'recover');
    assert.equal(adv.run.status, 'running');
    assert.equal(adv.proceed, true);
    assert.equal(adv.record.status, 'succeeded');
  });

  test('set-once: a run that already replied keeps its reply', () => {
    const first = { status: 'ok' as const, data: 'first', at: T0 };
    const run = makeRun({ step: 'answer', reply: first });
    const adv = advance(run, step('answer'), recordFor(run, 'answer'), out, T0, NOW);
    assert.equal(adv.replied, false);
    assert.deepEqual(adv.run.reply, first);
    assert.equal(adv.run.step, 'recover', 'the run still moves on');
  });

  test('a reply as the last step ends the run succeeded', () => {
    const only = workflow([{ id: 'r', type: 'reply' }]);
    const run = makeRun({ step: 'r' });
    const adv = advance(run, only.get('r')!, newRecord(run, only.get('r')!, 1, T0), out, T0, NOW);
    assert.equal(adv.run.status, 'succeeded');
    assert.equal(adv.run.progress, 100);
    assert.equal(adv.replied, true);
    assert.ok(adv.run.reply);
  });
});

describe('advance: sleep and park', () => {
  for (const [kind, parking, field] of [['sleep', 'delay', 'until'], ['park', 'callback', 'timeoutAt']] as const) {
    test(`${kind}: waiting, parked in the step with wake_at, lease released`, () => {
      const run = makeRun({ step: 'first', step_seq: 3 });
      const outcome = kind === 'sleep' ? { kind, until: T0 + 60_000, input: { i: 1 } } : { kind, timeoutAt: T0 + 60_000, input: { i: 1 } };
      const adv = advance(run, step('first'), recordFor(run, 'first'), outcome, T0, NOW);
      assert.equal(adv.run.status, 'waiting');
      assert.equal(adv.run.step, 'first');
      assert.deepEqual(adv.run.parking, { kind: parking, step: 'first', seq: 3 });
      assert.equal(adv.run.wake_at, T0 + 60_000, field);
      assert.equal(adv.run.owner, null);
      assert.equal(adv.run.lease_until, null);
      assert.equal(adv.proceed, false);
      assert.equal(adv.record.status, 'waiting');
      assert.equal(adv.record.finished_at, null);
      assert.deepEqual(adv.record.input, { i: 1 });
    });
  }
});

describe('advance: retry', () => {
  test('appends the failed attempt, parks with parking.attempt = attempts so far', () => {
    const run = makeRun({ step: 'call', step_seq: 2 });
    const err = { code: 'http_status', message: 'answered 503' };
    const first = advance(run, step('call'), recordFor(run, 'call'), { kind: 'retry', at: T0 + 1000, error: err, attempt: { response: { status: 503 } } }, T0 + 10, NOW);
    assert.equal(first.run.status, 'waiting');
    assert.deepEqual(first.run.parking, { kind: 'retry', step: 'call', seq: 2, attempt: 1 });
    assert.equal(first.run.wake_at, T0 + 1000);
    assert.equal(first.run.owner, null);
    assert.equal(first.record.status, 'waiting');
    assert.equal(first.record.attempts.length, 1);
    assert.deepEqual(first.record.attempts[0].error, { class: 'http_status', message: 'answered 503' });
    assert.deepEqual(first.record.error, { step: 'call', ...err });
    assert.equal(first.proceed, false);
    // The second attempt works on the same record.
    const again = advance({ ...first.run, status: 'running', parking: null }, step('call'), first.record, { kind: 'retry', at: T0 + 3000, error: err }, T0 + 20, NOW + 1);
    assert.equal(again.record.attempts.length, 2);
    assert.equal(again.record.attempts[1].n, 2);
    assert.deepEqual(again.run.parking, { kind: 'retry', step: 'call', seq: 2, attempt: 2 });
  });
});

describe('advance: fail', () => {
  const err = { code: 'http_status', message: 'answered 500' };

  test('with on_error: the run goes on at the target with $error bound, the record fails', () => {
    const run = makeRun({ step: 'call' });
    const adv = advance(run, step('call'), recordFor(run, 'call'), { kind: 'fail', error: err }, T0, NOW);
    assert.equal(adv.run.status, 'running');
    assert.equal(adv.run.step, 'recover');
    assert.deepEqual(adv.run.error, { step: 'call', ...err });
    assert.equal(adv.proceed, true);
    assert.equal(adv.record.status, 'failed');
    assert.deepEqual(adv.record.error, { step: 'call', ...err });
    assert.equal(adv.record.attempts.length, 1, 'an http step records the failed attempt');
  });

  test('without on_error: the run fails with the step\'s error', () => {
    const run = makeRun({ step: 'first' });
    const adv = advance(run, step('first'), recordFor(run, 'first'), { kind: 'fail', error: { code: 'expression_error', message: 'bad' } }, T0, NOW);
    assert.equal(adv.run.status, 'failed');
    assert.deepEqual(adv.run.error, { step: 'first', code: 'expression_error', message: 'bad' });
    assert.equal(adv.run.finished_at, NOW);
    assert.equal(adv.run.parking, null);
    assert.equal(adv.proceed, false);
    assert.equal(adv.record.status, 'failed');
  });
});

describe('advance: end', () => {
  test('succeeded ends the run with progress 100', () => {
    const run = makeRun({ progress: 10 });
    const adv = advance(run, step('first'), recordFor(run, 'first'), { kind: 'end', status: 'succeeded' }, T0, NOW);
    assert.equal(adv.run.status, 'succeeded');
    assert.equal(adv.run.progress, 100);
    assert.equal(adv.proceed, false);
    assert.deepEqual(adv.record.output, { status: 'succeeded' });
  });

  test('failed ends the run failed with the given error, or a default one', () => {
    const run = makeRun();
    const given = advance(run, step('first'), recordFor(run, 'first'), { kind: 'end', status: 'failed', error: { code: 'ended_failed', message: 'no' } }, T0, NOW);
    assert.equal(given.run.status, 'failed');
    assert.deepEqual(given.run.error, { step: 'first', code: 'ended_failed', message: 'no' });
    const dflt = advance(run, step('first'), recordFor(run, 'first'), { kind: 'end', status: 'failed' }, T0, NOW);
    assert.equal(dflt.run.error?.code, 'ended_failed');
    assert.equal(dflt.run.finished_at, NOW);
  });
});

test('cancelled: terminal, unparked, lease released', () => {
  const run = makeRun({ status: 'waiting', parking: { kind: 'delay', step: 'first', seq: 1 }, wake_at: T0 + 9999 });
  const c = cancelled(run, NOW);
  assert.equal(c.status, 'cancelled');
  assert.equal(c.parking, null);
  assert.equal(c.wake_at, null);
  assert.equal(c.owner, null);
  assert.equal(c.finished_at, NOW);
});

describe('chooseExecution: which record, which attempt, what resumption', () => {
  const parkedIn = (id: string, parking: NonNullable<Run['parking']>, over: Partial<Run> = {}): Run =>
    makeRun({ status: 'running', step: id, step_seq: 3, parking, wake_at: T0 + 9_000, ...over });
  const stored = (run: Run, id: string, seq: number, over: Partial<StepRecord> = {}): StepRecord => ({ ...recordFor(run, id, seq), ...over });

  test('a step that starts gets a new record at the next seq; nothing is read', () => {
    const run = makeRun({ step: 'call', step_seq: 2 });
    assert.equal(needsRecords(run, 'call', false), false);
    const chosen = chooseExecution(run, step('call'), [], undefined, false, NOW);
    assert.deepEqual(chosen.record, newRecord(run, step('call'), 3, NOW));
    assert.equal(chosen.run.step_seq, 3);
    assert.equal(chosen.attempt, 1);
    assert.equal(chosen.resumption, undefined);
    assert.equal(chosen.children, null);
    assert.equal(run.step_seq, 2, 'the run given is not changed');
  });

  test('a retry continues the parked record with the next attempt; the run is unparked', () => {
    const run = parkedIn('call', { kind: 'retry', step: 'call', seq: 2, attempt: 2 });
    assert.equal(needsRecords(run, 'call', false), true);
    const parkedRecord = stored(run, 'call', 2, { status: 'waiting', attempts: [] });
    const chosen = chooseExecution(run, step('call'), [stored(run, 'first', 1), parkedRecord], undefined, false, NOW);
    assert.equal(chosen.record, parkedRecord);
    assert.equal(chosen.attempt, 3);
    assert.equal(chosen.resumption, undefined, 'a retry executes again, it does not resume');
    assert.equal(chosen.run.parking, null);
    assert.equal(chosen.run.wake_at, null);
    assert.equal(chosen.run.step_seq, 3, 'no new seq');
    assert.notEqual(run.parking, null, 'the run given is not changed');
  });

  test('a parked step whose record is missing gets a new one at the parked seq', () => {
    const run = parkedIn('call', { kind: 'retry', step: 'call', seq: 2, attempt: 1 });
    const chosen = chooseExecution(run, step('call'), [], undefined, false, NOW);
    assert.deepEqual(chosen.record, newRecord(run, step('call'), 2, NOW));
    assert.equal(chosen.attempt, 2);
  });

  test('a wait resumes with the callback body it woke with, else one accepted before a crash, else its timer', () => {
    const run = parkedIn('call', { kind: 'callback', step: 'call', seq: 3 });
    const waiting = stored(run, 'call', 3, { status: 'waiting' });
    const body = { approved: true };
    assert.deepEqual(chooseExecution(run, step('call'), [waiting], { kind: 'callback', body }, false, NOW).resumption, { kind: 'callback', body });
    const accepted = stored(run, 'call', 3, { status: 'running', output: { late: 1 } });
    assert.deepEqual(chooseExecution(run, step('call'), [accepted], undefined, false, NOW).resumption, { kind: 'callback', body: { late: 1 } });
    assert.deepEqual(chooseExecution(run, step('call'), [waiting], undefined, false, NOW).resumption, { kind: 'timer' });
    const notABody = stored(run, 'call', 3, { status: 'running', output: [1, 2] });
    assert.deepEqual(chooseExecution(run, step('call'), [notABody], undefined, false, NOW).resumption, { kind: 'timer' });
    const delay = parkedIn('first', { kind: 'delay', step: 'first', seq: 3 });
    const chosen = chooseExecution(delay, step('first'), [stored(delay, 'first', 3, { status: 'waiting' })], undefined, false, NOW);
    assert.deepEqual(chosen.resumption, { kind: 'timer' });
    assert.equal(chosen.attempt, 1);
  });

  test('a step parked on child runs names them for the caller to read', () => {
    const run = parkedIn('first', { kind: 'child', step: 'first', seq: 3, children: ['c1', 'c2'], wake_on: 'end' });
    const chosen = chooseExecution(run, step('first'), [stored(run, 'first', 3, { status: 'waiting' })], undefined, false, NOW);
    assert.deepEqual(chosen.children, ['c1', 'c2']);
    assert.equal(chosen.resumption, undefined);
    assert.equal(chosen.run.parking, null);
  });

  test('parking of another step is not this step\'s: a new record', () => {
    const run = parkedIn('first', { kind: 'delay', step: 'call', seq: 3 });
    assert.equal(needsRecords(run, 'first', false), false);
    const chosen = chooseExecution(run, step('first'), [], undefined, false, NOW);
    assert.equal(chosen.record.seq, 4);
  });

  test('recovered while its step was running: the same record again, the lost attempt logged', () => {
    const run = makeRun({ step: 'call', step_seq: 2 });
    assert.equal(needsRecords(run, 'call', true), true);
    const first = { n: 1, started_at: T0, finished_at: T0 + 5, duration_ms: 5, error: { class: 'status_503', message: 'busy' } };
    const interrupted = stored(run, 'call', 2, { status: 'running', attempts: [first] });
    const chosen = chooseExecution(run, step('call'), [interrupted], undefined, true, NOW);
    assert.equal(chosen.record.seq, 2);
    assert.deepEqual(chosen.record.attempts, [first, {
      n: 2, started_at: interrupted.started_at, finished_at: null, duration_ms: null,
      error: { class: 'interrupted', message: 'the server stopped during this attempt' },
    }]);
    assert.equal(chosen.attempt, 3);
    assert.equal(chosen.run, run, 'the run is unchanged');
    assert.deepEqual(interrupted.attempts, [first], 'the stored record is not changed');
  });

  test('recovered after its step finished, or on another step, or before any step: a new record', () => {
    const run = makeRun({ step: 'call', step_seq: 2 });
    const done = stored(run, 'call', 2, { status: 'succeeded' });
    assert.equal(chooseExecution(run, step('call'), [done], undefined, true, NOW).record.seq, 3);
    const other = stored(run, 'first', 2, { status: 'running' });
    assert.equal(chooseExecution(run, step('call'), [other], undefined, true, NOW).record.seq, 3);
    assert.equal(chooseExecution(run, step('call'), [], undefined, true, NOW).record.seq, 3, 'its record was never written');
    const fresh = makeRun({ step: 'first', step_seq: 0 });
    assert.equal(needsRecords(fresh, 'first', true), false);
    assert.equal(chooseExecution(fresh, step('first'), [], undefined, true, NOW).record.seq, 1);
  });
});
