import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Run } from '../../api/index.js';
import { applyRunChange, matchesFilters, readQuery, writeQuery } from './runs-list.js';

const run = (id: string, created: string, extra: Partial<Run> = {}): Run =>
  ({ id, workflow: 'w', status: 'running', progress: 0, created_at: created, updated_at: created, ...extra }) as Run;

test('filters round-trip through the URL query', () => {
  const q = readQuery('workflow=orders&status=failed&ref=A-1&since=2026-01-01T00%3A00%3A00.000Z&cursor=abc&junk=1');
  assert.deepEqual(q, { workflow: 'orders', status: 'failed', ref: 'A-1', since: '2026-01-01T00:00:00.000Z', cursor: 'abc' });
  assert.deepEqual(readQuery(writeQuery(q).slice(1)), q);
  assert.equal(writeQuery({}), '');
});

test('a new run enters the first page at its place, newest first, keeping the page size', () => {
  const rows = [run('b', '2026-01-01T00:00:02Z'), run('a', '2026-01-01T00:00:01Z')];
  const out = applyRunChange(rows, run('c', '2026-01-01T00:00:03Z'), {}, true, 2);
  assert.deepEqual(out.map((r) => r.id), ['c', 'b']);
  assert.equal(applyRunChange(rows, run('c', '2026-01-01T00:00:03Z'), {}, false), rows, 'an older page gains nothing');
  assert.equal(applyRunChange(rows, run('c', '2026-01-01T00:00:03Z', { workflow: 'other' }), { workflow: 'w' }, true), rows, 'another workflow stays out');
});

test('a change replaces the row, or drops it when it leaves the filter; an older state is ignored', () => {
  const rows = [run('a', '2026-01-01T00:00:01Z', { status: 'waiting' })];
  const done = run('a', '2026-01-01T00:00:01Z', { status: 'succeeded', updated_at: '2026-01-01T00:00:05Z' });
  assert.equal(applyRunChange(rows, done, {}, true)[0].status, 'succeeded');
  assert.deepEqual(applyRunChange(rows, done, { status: 'waiting' }, true), []);
  const stale = run('a', '2026-01-01T00:00:01Z', { status: 'running', updated_at: '2025-12-31T00:00:00Z' });
  const later = applyRunChange(rows, done, {}, true);
  assert.equal(applyRunChange(later, stale, {}, true)[0].status, 'succeeded');
});

test('ref and time range filters apply to live runs too', () => {
  const r = run('a', '2026-01-01T00:00:10Z', { ref: 'X' });
  assert.ok(matchesFilters(r, { ref: 'X', since: '2026-01-01T00:00:00Z', until: '2026-01-02T00:00:00Z' }));
  assert.ok(!matchesFilters(r, { ref: 'Y' }));
  assert.ok(!matchesFilters(r, { since: '2026-01-01T00:00:11Z' }));
  assert.ok(!matchesFilters(r, { until: '2026-01-01T00:00:10Z' }));
});
