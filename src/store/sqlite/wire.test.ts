import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Run, StepRecord } from '../../core/types.js';
import { packNewRun, packTransition, unpackNewRun, unpackTransition } from './wire.js';

const run = (over: Partial<Run> = {}): Run => ({
  id: '01a20e48-f6ff-7000-b3e5-a677964150e0', tenant: 'acme', workflow: 'orders', version: 3, ref: 'r-1',
  status: 'succeeded', input: { amount: 1250 }, data: { amount: 1250, fee: 12.5 }, progress: 100, step: null,
  step_seq: 2, reply: { status: 'ok', data: { fee: 12.5 }, http_status: 201, headers: { 'X-A': '1' }, at: 5 },
  error: { step: 'pay', code: 'http_error', message: 'boom' }, parking: { kind: 'retry', step: 'pay', seq: 2, attempt: 1 },
  wake_at: 7, callback_token: 'tok', result_url: 'https://example.test/r', parent: { run_id: 'p', step: 'call', seq: 4 },
  attempt: 2, owner: 'node-1', lease_until: 9, rev: 4, created_at: 1, started_at: 2, finished_at: 3, updated_at: 4,
  ...over,
});

const record = (seq: number, over: Partial<StepRecord> = {}): StepRecord => ({
  run_id: '01a20e48-f6ff-7000-b3e5-a677964150e0', seq, step_id: `s${seq}`, type: 'http', name: 'Pay', status: 'failed',
  attempts: [{ n: 1, started_at: 1, finished_at: 2, duration_ms: 1, error: { class: 'timeout', message: 'slow' } }],
  input: { url: 'x' }, output: [1, 'two', null], error: { code: 'timeout', message: 'slow' }, started_at: 1, finished_at: 2,
  ...over,
});

describe('store thread wire format', () => {
  it('a new run with its records survives packing, cloning and unpacking unchanged', () => {
    const n = { run: run({ meta: { initiator: 'luma' } }), refPolicy: 'while-active' as const, steps: [record(1), record(2, { name: null, attempts: [] })] };
    assert.deepEqual(unpackNewRun(structuredClone(packNewRun(n))), n);
  });

  it('optional fields stay absent: no meta, no steps', () => {
    const n = { run: run(), refPolicy: 'native' as const };
    const back = unpackNewRun(structuredClone(packNewRun(n)));
    assert.deepEqual(back, n);
    assert.equal('meta' in back.run, false);
    assert.equal('steps' in back, false);
  });

  it('a transition keeps the difference between no owner fence (undefined) and "must be unowned" (null)', () => {
    for (const owner of [undefined, null, 'node-1']) {
      const t = { run: run({ parent: null, reply: null }), expectRev: 3, steps: [record(3)], ...(owner === undefined ? {} : { owner }) };
      const back = unpackTransition(structuredClone(packTransition(t)));
      assert.deepEqual(back, t);
      assert.equal('owner' in back, owner !== undefined);
    }
  });

  it('packed runs are arrays: no property names travel', () => {
    const packed = packNewRun({ run: run(), refPolicy: 'native', steps: [record(1)] });
    assert.ok(Array.isArray(packed[0]) && Array.isArray(packed[2]?.[0]));
  });
});
