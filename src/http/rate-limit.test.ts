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

test('split across live nodes: each node admits rate ÷ nodes, with a burst of at least one; the count can change any time', () => {
  let now = 0;
  const limiter = new RateLimiter({ perKey: 0, perWorkflow: 6 }, () => now);
  const wf = { tenant: 't', id: 'w' };
  const burst = (): number => {
    let n = 0;
    for (let i = 0; i < 20; i++) {
      try {
        limiter.check(undefined, [wf]);
        n++;
      } catch {
        // refused
      }
    }
    return n;
  };
  assert.equal(limiter.nodes, 1);
  assert.equal(burst(), 6, 'alone: the whole rate');
  limiter.setNodes(3);
  assert.equal(limiter.nodes, 3);
  now += 10_000;
  assert.equal(burst(), 2, 'one of three nodes: a third of it');
  now += 500;
  assert.equal(burst(), 1, 'refilled at 2/s');
  limiter.setNodes(12);
  now += 10_000;
  assert.equal(burst(), 1, 'a share below one request per second still admits one');
  now += 1000;
  assert.equal(burst(), 0, 'and refills at 0.5/s');
  now += 1000;
  assert.equal(burst(), 1);
  limiter.setNodes(0);
  assert.equal(limiter.nodes, 1, 'never fewer than this node');
});

test('database mode: admit asks the shared buckets (key and each workflow once), the checks of a turn in one call; their refusal is the 429', async () => {
  const calls: unknown[][] = [];
  let answer = { wait: 0, refused: null as string | null };
  const limiter = new RateLimiter({ perKey: 5, perWorkflow: 2 }, () => 0, {
    async take(requests) {
      calls.push(requests);
      return requests.map(() => answer);
    },
  });
  await limiter.admit('key-1', [{ tenant: 't', id: 'a' }, { tenant: 't', id: 'a' }, { tenant: 't', id: 'b' }]);
  assert.deepEqual(calls, [[[
    { key: 'k:key-1', perSecond: 5, burst: 5 }, { key: 'w:t/a', perSecond: 2, burst: 2 }, { key: 'w:t/b', perSecond: 2, burst: 2 },
  ]]]);
  await Promise.all([limiter.admit('key-1'), limiter.admit('key-2'), limiter.admit(undefined, [{ tenant: 't', id: 'c' }])]);
  assert.equal(calls.length, 2, 'three checks of one turn: one call');
  assert.deepEqual(calls[1], [[{ key: 'k:key-1', perSecond: 5, burst: 5 }], [{ key: 'k:key-2', perSecond: 5, burst: 5 }], [{ key: 'w:t/c', perSecond: 2, burst: 2 }]]);
  limiter.setNodes(3); // the node count does not matter here: the buckets are the cluster's
  answer = { wait: 2.2, refused: 'w:t/a' };
  await assert.rejects(limiter.admit('key-1', [{ tenant: 't', id: 'a' }]), (e: unknown) => {
    assert.ok(e instanceof FlowgateError);
    assert.equal(e.status, 429);
    assert.equal(e.headers?.['Retry-After'], '3');
    assert.match(e.message, /workflow is over its trigger rate/);
    return true;
  });
  assert.equal((calls[2][0] as { perSecond: number }[])[1].perSecond, 2, 'the cluster-wide rate, not a share');
  answer = { wait: 1, refused: 'k:key-1' };
  await assert.rejects(limiter.admit('key-1', []), /API key is over its request rate/);
  const failing = new RateLimiter({ perKey: 5, perWorkflow: 0 }, () => 0, { take: async () => { throw new Error('database away'); } });
  await assert.rejects(Promise.all([failing.admit('a'), failing.admit('b')]), /database away/);
  calls.length = 0;
  await new RateLimiter({ perKey: 0, perWorkflow: 2 }, () => 0, { take: async (r) => { calls.push(r); return r.map(() => answer); } }).admit('key-1', []);
  assert.deepEqual(calls, [], 'nothing to check: no round trip');
});
