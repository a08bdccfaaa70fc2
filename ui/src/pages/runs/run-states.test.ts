import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childCounts, definitionStepIds, edgeKey, formatDuration, runDuration, runStates } from './run-states.js';

const ids = ['prepare', 'route', 'approve', 'publish', 'reject'];
const rec = (seq: number, step_id: string, status: string, type = 'set') => ({ seq, step_id, status, type });

test('each step takes the state of its latest record; steps without one are not reached', () => {
  const s = runStates(ids, [rec(2, 'route', 'succeeded', 'condition'), rec(1, 'prepare', 'succeeded'), rec(3, 'approve', 'waiting', 'wait')], 'waiting');
  assert.deepEqual(s.states, { prepare: 'succeeded', route: 'succeeded', approve: 'parked', publish: 'not_reached', reject: 'not_reached' });
  assert.deepEqual(s.path, ['prepare', 'route', 'approve'], 'execution order, whatever order the records came in');
});

test('running, failed and skipped are shown as recorded; a delay waiting is parked too', () => {
  const s = runStates(['a', 'b', 'c', 'd'], [rec(1, 'a', 'skipped'), rec(2, 'b', 'failed', 'http'), rec(3, 'c', 'running', 'http'), rec(4, 'd', 'waiting', 'delay')], 'running');
  assert.deepEqual(s.states, { a: 'skipped', b: 'failed', c: 'running', d: 'parked' });
});

test('the path taken is each record to the next, from the start node, to the end node only when the run succeeded', () => {
  const records = [rec(1, 'prepare', 'succeeded'), rec(2, 'route', 'succeeded'), rec(3, 'approve', 'succeeded'), rec(4, 'publish', 'succeeded')];
  const done = runStates(ids, records, 'succeeded', { startNode: '__start', endNode: '__end' });
  assert.deepEqual([...done.taken], ['__start→prepare', 'prepare→route', 'route→approve', 'approve→publish', 'publish→__end']);
  assert.ok(!done.taken.has(edgeKey('route', 'reject')), 'the branch not taken is not on the path');
  const failed = runStates(ids, records.slice(0, 2), 'failed', { startNode: '__start', endNode: '__end' });
  assert.ok(!failed.taken.has(edgeKey('route', '__end')));
  assert.equal(runStates(ids, [], 'queued', { startNode: '__start' }).taken.size, 0, 'a run that has not started took no edge');
});

test('a step that ran twice (a loop, a retry) counts both, keeps both records and shows the latest', () => {
  const s = runStates(['call', 'check'], [rec(1, 'call', 'failed', 'http'), rec(2, 'check', 'succeeded'), rec(3, 'call', 'succeeded', 'http')], 'succeeded');
  assert.equal(s.states.call, 'succeeded');
  assert.equal(s.times.call, 2);
  assert.deepEqual(s.records.call.map((r) => r.seq), [1, 3]);
  assert.ok(s.taken.has('check→call'), 'the loop back is on the path');
});

test('a cancelled run shows the step it stopped in as cancelled, finished steps as they ended', () => {
  const s = runStates(['a', 'wait'], [rec(1, 'a', 'succeeded'), rec(2, 'wait', 'waiting', 'wait')], 'cancelled');
  assert.deepEqual(s.states, { a: 'succeeded', wait: 'cancelled' });
});

test('a record of a step the definition does not name is still shown', () => {
  const s = runStates(['a'], [rec(1, 'a', 'succeeded'), rec(2, 'gone', 'failed')], 'failed');
  assert.equal(s.states.gone, 'failed');
});

test('definition step ids, foreach counts, durations', () => {
  assert.deepEqual(definitionStepIds({ steps: [{ id: 'a' }, { nope: 1 }, null, { id: 'b' }] }), ['a', 'b']);
  assert.deepEqual(definitionStepIds(null), []);
  assert.deepEqual(childCounts({ total: 3, succeeded: 2, failed: 1, items: [] }), { total: 3, succeeded: 2, failed: 1 });
  assert.equal(childCounts({ total: '3' }), null);
  assert.equal(formatDuration(850), '850 ms');
  assert.equal(formatDuration(2400), '2.4 s');
  assert.equal(formatDuration(185_000), '3 min 5 s');
  assert.equal(formatDuration(null), '—');
  assert.equal(runDuration({ started_at: '2026-01-01T00:00:00Z', finished_at: '2026-01-01T00:00:02.500Z' }, 0), 2500);
  assert.equal(runDuration({ created_at: '2026-01-01T00:00:00Z', finished_at: null }, Date.parse('2026-01-01T00:00:01Z')), 1000);
});
