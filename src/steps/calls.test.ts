/**
 * foreach on a plain StepContext with a scripted ChildPort and clock: the item cap, and the round
 * that parks a fan-out whose children end at once, so its progress is committed while it goes on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileWorkflow } from '../core/definition.js';
import type { JsonObject, Run } from '../core/types.js';
import { DEFAULT_MAX_FOREACH_ITEMS, FOREACH_ROUND_MS, foreachStep } from './calls.js';
import type { ChildPort, ChildSpec, Outcome, StepContext } from './types.js';
import { T0, noHttp, testWorkflow } from '../../test/helpers/steps.js';

/** Children that have ended by the time they are started; each start call moves the clock by `tick` ms. */
function instantChildren(clock: { now: number }, tick: number): ChildPort & { started: ChildSpec[] } {
  const started: ChildSpec[] = [];
  return {
    started,
    async start(specs) {
      clock.now += tick;
      return specs.map((s) => {
        started.push(s);
        return { key: s.key, run: { id: `child-${s.key}`, status: 'succeeded', data: s.data, reply: null } as unknown as Run };
      });
    },
  };
}

function ctxFor(data: JsonObject, children: ChildPort, clock: { now: number }, limits?: { foreachItems: number }, record: StepContext['record'] = null): StepContext {
  const compiled = compileWorkflow(testWorkflow({ steps: [{ id: 'each', type: 'foreach', items: 'items', workflow: 'kid', concurrency: 10 }] }));
  const step = compiled.steps.get('each')!;
  const run = { id: 'run-1', ref: null, data, status: 'running' } as unknown as Run;
  return {
    run, workflow: compiled, step, seq: 1, attempt: 1, now: () => clock.now, http: noHttp,
    scope: { data, vars: { run: { id: 'run-1' }, workflow: { id: 'wf' }, steps: {}, secrets: {}, error: null } },
    children, record, ...(limits ? { limits } : {}),
  } as StepContext;
}

const items = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('foreach item cap', () => {
  test('more items than the limit fail the step with too_many_items naming the cap; no child is started', async () => {
    const clock = { now: T0 };
    const kids = instantChildren(clock, 0);
    const out = await foreachStep.execute(ctxFor({ items: items(6) }, kids, clock, { foreachItems: 5 }));
    assert.equal(out.kind, 'fail');
    assert.deepEqual(out.kind === 'fail' && out.error, { code: 'too_many_items', message: 'foreach items has 6 items; the limit is 5 (FLOWGATE_MAX_FOREACH_ITEMS)' });
    assert.equal(kids.started.length, 0);
  });

  test('exactly the limit is allowed; without a configured limit the default holds', async () => {
    const clock = { now: T0 };
    const at = await foreachStep.execute(ctxFor({ items: items(5) }, instantChildren(clock, 0), clock, { foreachItems: 5 }));
    assert.equal(at.kind, 'continue');
    const over = await foreachStep.execute(ctxFor({ items: items(DEFAULT_MAX_FOREACH_ITEMS + 1) }, instantChildren(clock, 0), clock));
    assert.equal(over.kind === 'fail' && over.error.code, 'too_many_items');
  });
});

describe('foreach rounds', () => {
  test('children that end at once: the step parks after a round, to be woken at once, with its progress', async () => {
    const clock = { now: T0 };
    // Each start of 10 children takes 100 ms: a round (FOREACH_ROUND_MS) starts 50 of 200.
    const kids = instantChildren(clock, 100);
    const out: Outcome = await foreachStep.execute(ctxFor({ items: items(200) }, kids, clock));
    assert.equal(out.kind, 'await');
    if (out.kind !== 'await') return;
    const perRound = (FOREACH_ROUND_MS / 100) * 10;
    assert.equal(kids.started.length, perRound);
    assert.equal(out.until, clock.now, 'woken at once');
    assert.deepEqual(out.children, []);
    assert.equal(out.progress, Math.floor((100 * perRound) / 200));
    const state = out.state as { next: number; succeeded: number };
    assert.equal(state.next, perRound);
    assert.equal(state.succeeded, perRound);

    // Resumed (by the timer), it goes on from where it was, a round at a time, to the end.
    let record = { output: out.state } as unknown as StepContext['record'];
    let last: Outcome = out;
    const progress: number[] = [out.progress!];
    for (let i = 0; i < 10 && last.kind === 'await'; i++) {
      last = await foreachStep.resume!(ctxFor({ items: items(200) }, kids, clock, undefined, record), { kind: 'children', runs: [] });
      if (last.kind === 'await') {
        progress.push(last.progress!);
        record = { output: last.state } as unknown as StepContext['record'];
      }
    }
    assert.equal(last.kind, 'continue');
    assert.deepEqual(last.kind === 'continue' && last.output, { total: 200, succeeded: 200, failed: 0 });
    assert.deepEqual(progress, [25, 50, 75]);
    assert.equal(new Set(kids.started.map((s) => s.key)).size, 200, 'every item started once');
  });

  test('a fast fan-out finishes within one execution', async () => {
    const clock = { now: T0 };
    const out = await foreachStep.execute(ctxFor({ items: items(200) }, instantChildren(clock, 0), clock));
    assert.equal(out.kind, 'continue');
  });
});
