/**
 * set, condition, reply and end, each run on a plain StepContext built from a compiled definition:
 * no engine, no store, no clock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileWorkflow } from '../core/definition.js';
import type { JsonObject, Run } from '../core/types.js';
import { conditionStep, endStep, replyStep, setStep } from './flow.js';
import type { StepContext } from './types.js';
import { T0, noChildren, noHttp, testWorkflow } from '../../test/helpers/steps.js';



function ctxFor(steps: Record<string, unknown>[], stepId: string, data: JsonObject): StepContext {
  const compiled = compileWorkflow(testWorkflow({ steps }));
  const step = compiled.steps.get(stepId);
  assert.ok(step, `step ${stepId}`);
  const run = { id: 'run-1', ref: null, data, status: 'running' } as unknown as Run;
  return {
    run, workflow: compiled, step, seq: 1, attempt: 1, now: () => T0, http: noHttp,
    scope: { data, vars: { run: { id: 'run-1', callback_url: 'http://x/v1/callbacks/tok' }, workflow: { id: 'wf' }, steps: {}, secrets: {}, error: null } },
    children: noChildren, record: null,
  } as StepContext;
}

describe('set', () => {
  test('writes evaluated values over data and records what it wrote', async () => {
    const ctx = ctxFor([{ id: 's', type: 'set', set: { fee: '{{ amount * 0.01 }}', label: 'n={{ amount }}', fixed: 1 } }], 's', { amount: 200, keep: true });
    const out = await setStep.execute(ctx);
    assert.deepEqual(out, { kind: 'continue', data: { amount: 200, keep: true, fee: 2, label: 'n=200', fixed: 1 }, output: { fee: 2, label: 'n=200', fixed: 1 } });
  });

  test('unset removes keys (after set), and the input data object is not mutated', async () => {
    const data = { a: 1, b: 2, c: 3 };
    const ctx = ctxFor([{ id: 's', type: 'set', set: { d: 4 }, unset: ['a', 'd'] }], 's', data);
    const out = await setStep.execute(ctx);
    assert.equal(out.kind, 'continue');
    assert.deepEqual(out.kind === 'continue' && out.data, { b: 2, c: 3 });
    assert.deepEqual(data, { a: 1, b: 2, c: 3 });
  });

  test('unset alone', async () => {
    const out = await setStep.execute(ctxFor([{ id: 's', type: 'set', unset: ['x'] }], 's', { x: 1, y: 2 }));
    assert.deepEqual(out.kind === 'continue' && out.data, { y: 2 });
  });
});

describe('condition', () => {
  const steps = [
    { id: 'c', type: 'condition', cases: [{ when: 'amount > 1000', next: 'big' }, { when: 'amount > 100', next: 'mid' }], default: 'small' },
    { id: 'big', type: 'set', set: { s: 'big' } },
    { id: 'mid', type: 'set', set: { s: 'mid' } },
    { id: 'small', type: 'set', set: { s: 'small' } },
  ];

  test('the first true case decides', async () => {
    assert.deepEqual(await conditionStep.execute(ctxFor(steps, 'c', { amount: 5000 })), { kind: 'continue', next: 'big', output: { matched: 0, next: 'big' } });
    assert.deepEqual(await conditionStep.execute(ctxFor(steps, 'c', { amount: 500 })), { kind: 'continue', next: 'mid', output: { matched: 1, next: 'mid' } });
  });

  test('no case matches: the default', async () => {
    assert.deepEqual(await conditionStep.execute(ctxFor(steps, 'c', { amount: 5 })), { kind: 'continue', next: 'small', output: { matched: null, next: 'small' } });
  });

  test('no case and no default: the following step, or the end after the last step', async () => {
    const fall = [
      { id: 'c', type: 'condition', cases: [{ when: 'flag = true', next: 'x' }] },
      { id: 'after', type: 'set', set: { a: 1 } },
      { id: 'x', type: 'condition', cases: [{ when: 'flag = true', next: 'after' }] },
    ];
    const first = await conditionStep.execute(ctxFor(fall, 'c', { flag: false }));
    assert.equal(first.kind === 'continue' && first.next, 'after');
    const last = await conditionStep.execute(ctxFor(fall, 'x', { flag: false }));
    assert.equal(last.kind === 'continue' && last.next, null, 'null next means the run ends');
  });

  test('JSONata truthiness: empty string, 0, empty array and missing keys are false', async () => {
    const s = [
      { id: 'c', type: 'condition', cases: [{ when: 'v', next: 'yes' }], default: 'no' },
      { id: 'yes', type: 'set', set: { r: 1 } },
      { id: 'no', type: 'set', set: { r: 0 } },
    ];
    for (const v of ['', 0, [], false, null]) {
      const out = await conditionStep.execute(ctxFor(s, 'c', { v }));
      assert.equal(out.kind === 'continue' && out.next, 'no', `v=${JSON.stringify(v)}`);
    }
    assert.equal(((await conditionStep.execute(ctxFor(s, 'c', {}))) as { next: string }).next, 'no');
    for (const v of ['x', 1, [0, 1], true]) {
      const out = await conditionStep.execute(ctxFor(s, 'c', { v }));
      assert.equal(out.kind === 'continue' && out.next, 'yes', `v=${JSON.stringify(v)}`);
    }
  });
});

describe('reply', () => {
  test('defaults: all of data, status ok, no http_status or headers', async () => {
    const out = await replyStep.execute(ctxFor([{ id: 'r', type: 'reply' }], 'r', { a: 1 }));
    assert.deepEqual(out, { kind: 'reply', reply: { status: 'ok', data: { a: 1 } }, output: { a: 1 } });
  });

  test('data template, status error, http_status and templated headers', async () => {
    const ctx = ctxFor([{
      id: 'r', type: 'reply', data: { decision: '{{ d }}', n: '{{ n }}' }, status: 'error', http_status: 422,
      headers: { 'X-Decision': '{{ d }}', 'X-Count': '{{ n }}' },
    }], 'r', { d: 'no', n: 3 });
    const out = await replyStep.execute(ctx);
    assert.deepEqual(out, {
      kind: 'reply',
      reply: { status: 'error', data: { decision: 'no', n: 3 }, http_status: 422, headers: { 'X-Decision': 'no', 'X-Count': '3' } },
      output: { decision: 'no', n: 3 },
    });
  });

  test('data may be a single typed value', async () => {
    const out = await replyStep.execute(ctxFor([{ id: 'r', type: 'reply', data: '{{ items }}' }], 'r', { items: [1, 2] }));
    assert.deepEqual(out.kind === 'reply' && out.reply.data, [1, 2]);
  });
});

describe('end', () => {
  test('succeeded (the default status)', async () => {
    assert.deepEqual(await endStep.execute(ctxFor([{ id: 'e', type: 'end' }], 'e', {})), { kind: 'end', status: 'succeeded' });
    assert.deepEqual(await endStep.execute(ctxFor([{ id: 'e', type: 'end', status: 'succeeded' }], 'e', {})), { kind: 'end', status: 'succeeded' });
  });

  test('failed, with a templated error message or a default one', async () => {
    const withError = await endStep.execute(ctxFor([{ id: 'e', type: 'end', status: 'failed', error: 'no funds for {{ who }}' }], 'e', { who: 'ann' }));
    assert.deepEqual(withError, { kind: 'end', status: 'failed', error: { code: 'ended_failed', message: 'no funds for ann' } });
    const bare = await endStep.execute(ctxFor([{ id: 'e', type: 'end', status: 'failed' }], 'e', {}));
    assert.deepEqual(bare, { kind: 'end', status: 'failed', error: { code: 'ended_failed', message: 'the workflow ended with status failed' } });
  });
});

describe('executeSync gives what execute gives', () => {
  // The engine runs executeSync first and falls back to execute on NOT_SYNC: both must agree,
  // whether the templates are answered directly (`amount * 0.01`) or need JSONata (`$sum(...)`).
  const cases: { name: string; steps: Record<string, unknown>[]; id: string; data: JsonObject; sync: boolean }[] = [
    { name: 'set, direct', steps: [{ id: 's', type: 'set', set: { fee: '{{ amount * 0.01 }}', label: 'n={{ amount }}', k: [1, '{{ amount > 5 }}'] }, unset: ['x'] }], id: 's', data: { amount: 200, x: 1 }, sync: true },
    { name: 'set, JSONata', steps: [{ id: 's', type: 'set', set: { total: '{{ $sum(items) }}' } }], id: 's', data: { items: [1, 2] }, sync: false },
    { name: 'set, own __proto__ key kept', steps: [{ id: 's', type: 'set', set: { a: 1 } }], id: 's', data: JSON.parse('{"__proto__": {"x": 1}, "b": 2}'), sync: true },
    {
      name: 'condition, second case direct', id: 'c', data: { amount: 500 }, sync: true,
      steps: [{ id: 'c', type: 'condition', cases: [{ when: 'amount > 1000', next: 'e' }, { when: 'amount > 100', next: 'e' }], default: 'e' }, { id: 'e', type: 'end' }],
    },
    {
      name: 'condition, a case needs JSONata', id: 'c', data: { amount: 500, items: [3] }, sync: false,
      steps: [{ id: 'c', type: 'condition', cases: [{ when: 'amount > 1000', next: 'e' }, { when: '$count(items) > 0', next: 'e' }], default: 'e' }, { id: 'e', type: 'end' }],
    },
    {
      name: 'reply with status and headers', id: 'r', data: { amount: 3 }, sync: true,
      steps: [{ id: 'r', type: 'reply', status: 'error', http_status: 409, headers: { 'X-Amount': '{{ amount }}', 'X-Null': null }, data: { a: '{{ amount }}' } }],
    },
    { name: 'reply of the whole data', id: 'r', data: { amount: 3 }, sync: true, steps: [{ id: 'r', type: 'reply' }] },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const kind = { s: setStep, c: conditionStep, r: replyStep }[c.id as 's' | 'c' | 'r'];
      const sync = kind.executeSync!(ctxFor(c.steps, c.id, c.data));
      const async = await kind.execute(ctxFor(c.steps, c.id, c.data));
      if (!c.sync) {
        assert.equal(typeof sync, 'symbol', 'NOT_SYNC when JSONata is needed');
        return;
      }
      assert.deepEqual(sync, async);
      if (c.name.includes('__proto__')) {
        const data = (sync as { data: JsonObject }).data;
        assert.ok(Object.prototype.hasOwnProperty.call(data, '__proto__'), '__proto__ stays an own key');
        assert.equal(Object.getPrototypeOf(data), Object.prototype);
      }
    });
  }
});
