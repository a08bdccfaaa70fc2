import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EchoGuard } from './echo.js';

test('a render that brings back an older reported text is an echo, not a replacement', () => {
  const g = new EchoGuard();
  // Select all and delete, then paste: the editor reports '' and then the pasted text.
  g.reported('');
  g.reported('name: Orders');
  // React renders with '' first (the paste already happened in the editor): not the owner's text.
  assert.equal(g.isOwnersText(''), false);
  assert.equal(g.isOwnersText('name: Orders'), false);
});

test('echoes skipped by batching are dropped with the one that comes back', () => {
  const g = new EchoGuard();
  for (const t of ['a', 'ab', 'abc']) g.reported(t);
  assert.equal(g.isOwnersText('abc'), false);
  // Nothing is pending any more: an older text now comes from the owner (e.g. a version loaded).
  assert.equal(g.isOwnersText('ab'), true);
});

test('a text typed twice is matched in order', () => {
  const g = new EchoGuard();
  for (const t of ['', 'X', '']) g.reported(t);
  assert.equal(g.isOwnersText(''), false);
  assert.equal(g.isOwnersText('X'), false);
  assert.equal(g.isOwnersText(''), false);
  assert.equal(g.isOwnersText('X'), true, 'all echoes were consumed');
});

test("the owner's own text is shown and forgets what was pending", () => {
  const g = new EchoGuard();
  g.reported('draft');
  assert.equal(g.isOwnersText('{"converted": true}'), true);
  assert.equal(g.isOwnersText('draft'), true);
});

test('at most `limit` texts are remembered', () => {
  const g = new EchoGuard(3);
  for (const t of ['1', '2', '3', '4']) g.reported(t);
  assert.equal(g.isOwnersText('1'), true, 'the oldest was forgotten');
});
