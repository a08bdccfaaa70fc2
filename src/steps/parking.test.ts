/**
 * delay and wait: what they ask the engine (sleep until / park until a timeout) and how they turn a
 * wake-up (timer or callback) into an outcome. Plain StepContext, injected clock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileWorkflow } from '../core/definition.js';
import type { JsonObject, Run } from '../core/types.js';
import { delayStep, waitStep } from './parking.js';
import { StepError, type StepContext } from './types.js';
import { T0, noChildren, noHttp, testWorkflow } from '../../test/helpers/steps.js';



function ctxFor(steps: Record<string, unknown>[], stepId: string, data: JsonObject, now = T0): StepContext {
  const compiled = compileWorkflow(testWorkflow({ steps }));
  const step = compiled.steps.get(stepId);
  assert.ok(step, `step ${stepId}`);
  return {
    run: { id: 'run-1', data } as unknown as Run, workflow: compiled, step, seq: 1, attempt: 1, now: () => now, http: noHttp,
    scope: { data, vars: { run: { id: 'run-1' }, steps: {}, secrets: {}, error: null } },
    children: noChildren, record: null,
  } as StepContext;
}

describe('delay', () => {
  test('for: sleeps until now + the duration', async () => {
    for (const [d, ms] of [['250ms', 250], ['2s', 2000], ['5m', 300_000], ['2h', 7_200_000], ['1d', 86_400_000]] as const) {
      const out = await delayStep.execute(ctxFor([{ id: 'd', type: 'delay', for: d }], 'd', {}));
      assert.deepEqual(out, { kind: 'sleep', until: T0 + ms, input: { until: new Date(T0 + ms).toISOString() } }, d);
    }
  });

  test('until: an ISO timestamp or epoch milliseconds from data', async () => {
    const at = '2030-01-02T03:04:05.000Z';
    const iso = await delayStep.execute(ctxFor([{ id: 'd', type: 'delay', until: 'when' }], 'd', { when: at }));
    assert.deepEqual(iso, { kind: 'sleep', until: Date.parse(at), input: { until: at } });
    const epoch = await delayStep.execute(ctxFor([{ id: 'd', type: 'delay', until: 'ts + 1000' }], 'd', { ts: T0 }));
    assert.equal(epoch.kind === 'sleep' && epoch.until, T0 + 1000);
  });

  test('until that is not a timestamp fails with bad_timestamp', async () => {
    await assert.rejects(delayStep.execute(ctxFor([{ id: 'd', type: 'delay', until: 'when' }], 'd', { when: 'next tuesday' })),
      (e: unknown) => e instanceof StepError && e.code === 'bad_timestamp');
    await assert.rejects(delayStep.execute(ctxFor([{ id: 'd', type: 'delay', until: 'missing' }], 'd', {})),
      (e: unknown) => e instanceof StepError && e.code === 'bad_timestamp');
  });

  test('the timer resumes it into a plain continue (data untouched)', async () => {
    const ctx = ctxFor([{ id: 'd', type: 'delay', for: '1s' }], 'd', { a: 1 });
    assert.deepEqual(await delayStep.resume!(ctx, { kind: 'timer' }), { kind: 'continue' });
  });
});

describe('wait', () => {
  test('parks until now + timeout (default 1d)', async () => {
    const dflt = await waitStep.execute(ctxFor([{ id: 'w', type: 'wait' }], 'w', {}));
    assert.deepEqual(dflt, { kind: 'park', timeoutAt: T0 + 86_400_000, input: { timeout_at: new Date(T0 + 86_400_000).toISOString() } });
    const short = await waitStep.execute(ctxFor([{ id: 'w', type: 'wait', timeout: '30s' }], 'w', {}));
    assert.equal(short.kind === 'park' && short.timeoutAt, T0 + 30_000);
  });

  test('a callback merges its body into data', async () => {
    const ctx = ctxFor([{ id: 'w', type: 'wait' }], 'w', { a: 1, b: 1 });
    const out = await waitStep.resume!(ctx, { kind: 'callback', body: { b: 2, c: 3 } });
    assert.deepEqual(out, { kind: 'continue', data: { a: 1, b: 2, c: 3 }, output: { b: 2, c: 3 } });
  });

  test('a callback with save_as stores its body under that key', async () => {
    const ctx = ctxFor([{ id: 'w', type: 'wait', save_as: 'answer' }], 'w', { a: 1 });
    const out = await waitStep.resume!(ctx, { kind: 'callback', body: { ok: true } });
    assert.deepEqual(out, { kind: 'continue', data: { a: 1, answer: { ok: true } }, output: { ok: true } });
  });

  test('a timeout goes to on_timeout', async () => {
    const steps = [{ id: 'w', type: 'wait', timeout: '1m', on_timeout: 'late' }, { id: 'ok', type: 'end' }, { id: 'late', type: 'set', set: { late: true } }];
    const out = await waitStep.resume!(ctxFor(steps, 'w', {}), { kind: 'timer' });
    assert.deepEqual(out, { kind: 'continue', next: 'late', output: { timed_out: true } });
  });

  test('a timeout without on_timeout fails the step with wait_timeout', async () => {
    const out = await waitStep.resume!(ctxFor([{ id: 'w', type: 'wait', timeout: '1m' }], 'w', {}), { kind: 'timer' });
    assert.equal(out.kind, 'fail');
    assert.equal(out.kind === 'fail' && out.error.code, 'wait_timeout');
  });
});
