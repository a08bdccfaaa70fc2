import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlowgateError } from '../core/errors.js';
import { RateLimiter, TokenBuckets } from './rate-limit.js';

test('a bucket grants its burst, then refills at its rate', () => {
  let now = 0;
  const b = new TokenBuckets(2, 2, () => now);
  assert.equal(b.take('k'), 0);
  assert.equal(b.take('k'), 0);
  assert.equal(b.take('k'), 1, 'empty: one second until the next token');
  assert.equal(b.take('other'), 0, 'buckets are per key');
  now += 500;
  assert.equal(b.take('k'), 0, 'half a second at 2/s refills one token');
  assert.equal(b.take('k'), 1);
  now += 60_000;
  assert.equal(b.take('k'), 0);
  assert.equal(b.take('k'), 0);
  assert.equal(b.take('k'), 1, 'refill is capped at the burst');
});

test('the limiter refuses with 429 and an integer Retry-After; off when not configured', () => {
  let now = 0;
  const off = new RateLimiter({ perKey: 0, perWorkflow: 0 }, () => now);
  assert.equal(off.enabled, false);
  const limiter = new RateLimiter({ perKey: 0, perWorkflow: 1 }, () => now);
  const wf = { tenant: 't', id: 'w' };
  limiter.check('key', wf);
  assert.throws(() => limiter.check('key', wf), (e: unknown) => {
    assert.ok(e instanceof FlowgateError);
    assert.equal(e.status, 429);
    assert.equal(e.headers?.['Retry-After'], '1');
    return true;
  });
  limiter.check('key', { tenant: 'other', id: 'w' });
  now += 1000;
  limiter.check('key', wf);
});
