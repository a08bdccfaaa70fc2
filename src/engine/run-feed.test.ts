import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Run } from '../core/types.js';
import { RunBus } from './bus.js';
import { RunFeed, RunRevisions } from './run-feed.js';

const run = (over: Partial<Run>): Run => ({
  id: 'r1', tenant: 't1', workflow: 'wf', version: 1, ref: null, status: 'running', input: {}, data: {}, progress: 0,
  step: null, step_seq: 0, reply: null, error: null, parking: null, wake_at: null, callback_token: 'x', result_url: null,
  parent: null, attempt: 1, owner: null, lease_until: null, rev: 1, created_at: 0, started_at: 0, finished_at: null, updated_at: 0,
  ...over,
});

test('followers get their own tenant\'s runs from the bus; nothing once unsubscribed', () => {
  const bus = new RunBus();
  const feed = new RunFeed(bus);
  const seen: string[] = [];
  const off = feed.follow('t1', { run: (r) => seen.push(r.id), resync: () => undefined });
  bus.publishRun(run({ id: 'a' }));
  bus.publishRun(run({ id: 'b', tenant: 't2' }));
  assert.equal(feed.followers('t1'), 1);
  off();
  bus.publishRun(run({ id: 'c' }));
  assert.deepEqual(seen, ['a']);
  assert.equal(feed.followers('t1'), 0);
});

test('another node\'s change read back by the cluster link reaches the followers; a gap asks for a resync', () => {
  const bus = new RunBus();
  const feed = new RunFeed(bus);
  const seen: Run[] = [];
  let resyncs = 0;
  const off = feed.follow('t1', { run: (r) => seen.push(r), resync: () => resyncs++ });
  assert.equal(bus.followsTenant('t1'), true, 'the cluster link sees that the tenant is followed');
  bus.publishRemote(run({ id: 'far', rev: 7, status: 'succeeded' }));
  bus.publishRemote(run({ id: 'other', tenant: 't2', rev: 1 }));
  assert.deepEqual(seen.map((r) => [r.id, r.rev]), [['far', 7]]);
  bus.announceGap();
  assert.equal(resyncs, 1);
  off();
  assert.equal(bus.followsTenant('t1'), false, 'nothing left subscribed once nobody follows');
  bus.announceGap();
  assert.equal(resyncs, 1);
});

test('revisions: a change already shown is skipped; the previous status is known; finished runs are forgotten', () => {
  const revs = new RunRevisions(2);
  assert.deepEqual(revs.showNewer(run({ rev: 1, status: 'queued' })), { newer: true, previous: undefined });
  assert.deepEqual(revs.showNewer(run({ rev: 2, status: 'waiting' })), { newer: true, previous: 'queued' });
  assert.deepEqual(revs.showNewer(run({ rev: 2, status: 'waiting' })), { newer: false, previous: 'waiting' });
  assert.deepEqual(revs.showNewer(run({ rev: 3, status: 'succeeded' })), { newer: true, previous: 'waiting' });
  assert.deepEqual(revs.showNewer(run({ rev: 3, status: 'succeeded' })), { newer: true, previous: undefined }, 'forgotten once finished');
  revs.showNewer(run({ id: 'x' }));
  revs.showNewer(run({ id: 'y' }));
  revs.showNewer(run({ id: 'z' }));
  assert.equal(revs.showNewer(run({ id: 'x' })).newer, true, 'past the bound the oldest entry went');
});
