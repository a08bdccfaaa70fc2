import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StepRecord } from '../../core/types.js';
import { decodeFirstSteps, encodeFirstSteps } from './rows.js';

const records: StepRecord[] = [
  { run_id: 'r1', seq: 1, step_id: 'price', type: 'set', name: null, status: 'succeeded', attempts: [], input: null, output: { fee: 12.5 }, error: null, started_at: 10, finished_at: 11 },
  {
    run_id: 'r1', seq: 2, step_id: 'pay', type: 'http', name: 'Pay', status: 'failed',
    attempts: [{ n: 1, started_at: 11, finished_at: 12, duration_ms: 1, error: { class: 'timeout', message: 'slow' } }],
    input: { url: 'https://x.test' }, output: ['a', 1, null], error: { step: 'pay', code: 'timeout', message: 'slow' }, started_at: 11, finished_at: null,
  },
];

describe('runs.first_steps', () => {
  it('records round-trip through the compact form, the run id restored from the row', () => {
    const text = encodeFirstSteps(records);
    assert.deepEqual(decodeFirstSteps('r1', text), records);
    assert.ok(!text.includes('step_id'), 'field names are not stored');
  });

  it('rows written as objects (the first format) still decode', () => {
    const legacy = JSON.stringify(records.map(({ run_id: _id, ...rest }) => rest));
    assert.deepEqual(decodeFirstSteps('r1', legacy), records);
  });
});
