// Rate limits (docs/spec.md §4 limits, §8.14): off by default; per key and per workflow when set; the admin
// token is exempt; a refused trigger creates nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let token = '';

before(async () => {
  s = await startTestServer({ FLOWGATE_RATE_LIMIT_PER_KEY: '3' });
  assert.equal((await s.putWorkflow('limited', 'id: limited\nsteps:\n  - { id: a, type: set, set: { x: 1 } }\n')).status, 201);
  const k = await s.call('POST', '/v1/keys', { json: { name: 'caller', role: 'trigger' } });
  token = k.body.token;
});
after(() => s.close());

test('a key over its rate gets 429 with Retry-After and starts nothing; the admin token is exempt', async () => {
  const before = await s.runCount();
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await s.trigger('limited', { i }, undefined, { token }));
  const statuses = answers.map((a) => a.status);
  assert.deepEqual(statuses.slice(0, 3), [202, 202, 202]);
  const refused = answers.filter((a) => a.status === 429);
  assert.ok(refused.length >= 1, `expected a 429 among ${statuses}`);
  for (const a of refused) {
    assert.match(a.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal(a.body.status, 429);
    assert.match(a.headers.get('content-type') ?? '', /problem\+json/);
  }
  assert.equal(await s.runCount(), before + 5 - refused.length, 'refused triggers created nothing');
  for (let i = 0; i < 5; i++) assert.equal((await s.trigger('limited', { admin: i })).status, 202, 'the admin token is exempt');
});
