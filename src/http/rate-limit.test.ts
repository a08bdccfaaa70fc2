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
  limiter.check('key', [wf]);
  assert.throws(() => limiter.check('key', [wf]), (e: unknown) => {
    assert.ok(e instanceof FlowgateError);
    assert.equal(e.status, 429);
    assert.equal(e.headers?.['Retry-After'], '1');
    return true;
  });
  limiter.check('key', [{ tenant: 'other', id: 'w' }]);
  now += 1000;
  limiter.check('key', [wf]);
});

test('a request naming several workflows takes one token from each (once per workflow), all or none', () => {
  let now = 0;
  const limiter = new RateLimiter({ perKey: 0, perWorkflow: 2 }, () => now);
  const a = { tenant: 't', id: 'a' };
  const b = { tenant: 't', id: 'b' };
  limiter.check(undefined, [a, a, b]); // a: 1 left (named twice, taken once), b: 1 left
  limiter.check(undefined, [a]); // a: 0 left
  assert.throws(() => limiter.check(undefined, [b, a]), (e: unknown) => e instanceof FlowgateError && e.status === 429);
  limiter.check(undefined, [b]); // the refused request took nothing from b
  assert.throws(() => limiter.check(undefined, [b]), (e: unknown) => e instanceof FlowgateError && e.status === 429);
  now += 1000;
  limiter.check(undefined, [a, b]);
});

test('a refused request takes nothing from the key either; the message says which bucket refused', () => {
  const limiter = new RateLimiter({ perKey: 2, perWorkflow: 1 }, () => 0);
  const w = { tenant: 't', id: 'w' };
  limiter.check('login:7', [w]); // key: 1 left, w: empty
  assert.throws(() => limiter.check('login:7', [w]), /workflow is over its trigger rate/);
  limiter.check('login:7', []); // still had its token
  assert.throws(() => limiter.check('login:7', []), /API key is over its request rate/);
  limiter.check('login:8', []);
});
