// The drift check every integration answer goes through (helpers/api-document.ts) reports what it must:
// an undocumented status, content type or path, and a body that does not match its schema.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiDocument } from '../helpers/api-document.js';

const doc = new ApiDocument();
const RUN = { id: '0196a000-0000-7000-8000-000000000001', workflow: 'w', version: 1, status: 'queued' };

test('an answer that agrees with the document passes', () => {
  assert.deepEqual(doc.check('GET', '/v1/runs/0196a000-0000-7000-8000-000000000001', 200, 'application/json', JSON.stringify(RUN)), []);
  assert.deepEqual(doc.check('DELETE', '/v1/workflows/w', 204, null, ''), []);
  assert.deepEqual(doc.check('GET', '/gateway/api/v1/anything', 500, 'text/html', '<p>'), [], 'compatibility surfaces are not in the document');
});

test('an undocumented status, content type or path, or a body off its schema, is reported', () => {
  assert.match(doc.check('DELETE', '/v1/workflows/w', 200, 'application/json', '{}')[0], /status 200 is not documented/);
  assert.match(doc.check('GET', '/v1/runs/x', 200, 'text/html', '<p>')[0], /content type text\/html is not documented/);
  assert.match(doc.check('GET', '/v1/runs/x', 200, 'application/json', JSON.stringify({ ...RUN, status: 'sleeping' }))[0], /body\/status must be equal to one of the allowed values/);
  assert.match(doc.check('GET', '/v1/runs/x', 200, 'application/json', JSON.stringify({ id: RUN.id }))[0], /must have required property/);
  assert.match(doc.check('PATCH', '/v1/runs', 200, 'application/json', '{}')[0], /the document has no PATCH/);
});
