import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../api/problem.js';
import { refusalOf } from './refusal.js';

const problem = (status: number, extra: Record<string, unknown> = {}) => new ApiError({ title: 'x', status, ...extra });

test('a refused launch key says whether it expired or is not valid; a missing run says so; other errors are not refusals', () => {
  assert.equal(refusalOf(problem(403, { reason: 'expired' }))?.title, 'This link has expired');
  assert.equal(refusalOf(problem(403, { reason: 'invalid' }))?.title, 'This link is not valid');
  assert.equal(refusalOf(problem(403))?.reason, 'invalid');
  assert.equal(refusalOf(problem(404))?.reason, 'gone');
  assert.equal(refusalOf(problem(500)), null);
  assert.equal(refusalOf(new Error('network')), null);
  assert.equal(refusalOf(null), null);
});
