// Fields that take an expression (`when`, `items`, `progress`) also take it wrapped in `{{ }}`, as
// users of other tools write it (docs/workflow-format.md "Expressions").
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  await s.createWorkflow('square', `id: square
steps:
  - { id: answer, type: reply, data: { square: "{{ item * item }}" } }
`);
});
after(() => s.close());

test('items, when and progress wrapped in {{ }} mean the bare expression', async () => {
  const put = await s.putWorkflow('wrapped', `id: wrapped
params:
  count: { type: integer, required: true }
steps:
  - id: check
    type: condition
    cases:
      - when: "{{ count > 2 }}"
        next: fan
    default: small
  - id: fan
    type: foreach
    workflow: square
    items: "{{ [1..count] }}"
    progress: "{{ 50 }}"
    save_as: squares
    next: answer
  - { id: small, type: reply, data: { small: true } }
  - { id: answer, type: reply, data: { squares: "{{ squares.square }}" } }
`);
  assert.equal(put.status, 201, put.text);
  const big = await s.trigger('wrapped', { count: 3 }, 'wait=10');
  assert.equal(big.status, 200, big.text);
  assert.deepEqual(big.body, { squares: [1, 4, 9] });
  const small = await s.trigger('wrapped', { count: 1 }, 'wait=10');
  assert.deepEqual(small.body, { small: true });
});

test('a wrapped expression with a syntax error is still refused at its path', async () => {
  const r = await s.putWorkflow('broken', `id: broken
steps:
  - id: check
    type: condition
    cases: [{ when: "{{ count > }}", next: done }]
    default: done
  - { id: done, type: set, set: { x: 1 } }
`);
  assert.equal(r.status, 422, r.text);
  assert.ok(r.body.errors.some((e: { path: string }) => e.path === 'steps[0].cases[0].when'), JSON.stringify(r.body.errors));
});
