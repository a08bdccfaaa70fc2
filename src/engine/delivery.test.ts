/** The pure parts of result delivery: what is sent, and when the next attempt comes. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Run } from '../core/types.js';
import { deliveryBody, nextDeliveryAt } from './delivery.js';

const run = (over: Partial<Run>): Run => ({ id: 'r1', workflow: 'wf', status: 'succeeded', data: { a: 1 }, reply: null, error: null, ...over }) as Run;

describe('deliveryBody', () => {
  test('a run that replied delivers its reply, whatever its status', () => {
    const reply = { status: 'ok' as const, data: { answer: 42 }, at: 1 };
    assert.deepEqual(deliveryBody(run({ reply })), { run_id: 'r1', workflow: 'wf', status: 'succeeded', result: { answer: 42 } });
    assert.deepEqual(deliveryBody(run({ reply, status: 'failed', error: { code: 'x', message: 'y' } })).result, { answer: 42 });
  });

  test('otherwise: final data when succeeded, the error when failed, null when cancelled', () => {
    assert.deepEqual(deliveryBody(run({})).result, { a: 1 });
    assert.deepEqual(deliveryBody(run({ status: 'failed', error: { step: 's', code: 'http_status', message: 'answered 500' } })).result, { step: 's', code: 'http_status', message: 'answered 500' });
    assert.deepEqual(deliveryBody(run({ status: 'cancelled' })), { run_id: 'r1', workflow: 'wf', status: 'cancelled', result: null });
  });
});

describe('nextDeliveryAt', () => {
  const cfg = { initialBackoffMs: 30_000, maxBackoffMs: 30 * 60_000 };
  const noJitter = (): number => 0;

  test('doubles from the initial backoff up to the cap; the default schedule spans about an hour', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7].map((n) => nextDeliveryAt(cfg, n, 0, undefined, noJitter));
    assert.deepEqual(waits, [30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_800_000]);
    const total = waits.reduce((a, b) => a + b, 0);
    assert.ok(total > 55 * 60_000 && total < 65 * 60_000, `${total / 60_000} min`);
  });

  test('jitter only adds (up to 20%), and the result is a whole millisecond', () => {
    const t = nextDeliveryAt(cfg, 1, 1000.5, undefined, () => 0.999);
    assert.ok(t >= 31_000 && t <= 1000 + 36_000);
    assert.equal(t, Math.round(t));
  });

  test('never before Retry-After; an absurd Retry-After is capped at a day', () => {
    assert.equal(nextDeliveryAt(cfg, 1, 0, 90_000, noJitter), 90_000);
    assert.equal(nextDeliveryAt(cfg, 1, 0, 1000, noJitter), 30_000);
    assert.equal(nextDeliveryAt(cfg, 1, 0, 10 * 86_400_000, noJitter), 86_400_000);
  });
});
