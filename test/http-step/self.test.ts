/**
 * Requests to this server itself (docs/spec.md §6): a POST to the run's own callback URL goes through the
 * engine without a network call; other URLs under the server's own base reach its own socket even
 * with an empty allow-list (the SSRF guard is on in every test here).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { workflowTools } from '../helpers/workflows.js';

let s: TestServer;

before(async () => {
  s = await startTestServer({ FLOWGATE_HTTP_ALLOW: '' });
});
after(async () => {
  await s.close();
});

const { put, stepsOf } = workflowTools(() => s);

test('a POST to $run.callback_url becomes the reply at once, without the network; the run goes on', async () => {
  await put('self-reply', `id: self-reply
steps:
  - id: answer-early
    type: http
    method: POST
    url: "{{ $run.callback_url }}"
    body: { answer: "{{ question * 2 }}" }
    save_as: delivered
  - id: later
    type: delay
    for: 1s
  - id: again
    type: http
    method: POST
    url: "{{ $run.callback_url }}"
    body: { too: late }
    expect: 409
`);
  const t0 = Date.now();
  const r = await s.trigger('self-reply', { question: 21 }, 'wait=5');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { answer: 42 });
  assert.ok(Date.now() - t0 < 900, 'the reply came before the run finished its delay');
  const id = r.headers.get('flowgate-run-id')!;
  const done = await s.waitRun(id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  assert.deepEqual(done.reply.data, { answer: 42 }, 'a reply is set once');
  assert.deepEqual(done.data.delivered.body, { run_id: id, accepted: 'replied' });
  const [first, , second] = await stepsOf(id);
  assert.equal(first.attempts[0].request.internal, true);
  assert.equal(first.attempts[0].response.status, 202);
  assert.equal(second.attempts[0].response.status, 409, 'the second POST finds the reply already set');
});

test("URLs under the server's own base reach its API despite the guard (here: another run's callback URL and a trigger)", async () => {
  await put('parked', `id: parked
steps:
  - id: hold
    type: wait
    timeout: 1m
  - id: resumed
    type: set
    set: { resumed: true }
`);
  await put('child', `id: child
steps:
  - id: answer
    type: reply
    data: { doubled: "{{ n * 2 }}" }
`);
  await put('self-api', `id: self-api
params:
  callback: { type: string, required: true }
steps:
  - id: release
    type: http
    method: POST
    url: "{{ callback }}"
    body: { note: released }
  - id: start-child
    type: http
    method: POST
    url: "${s.url}/v1/workflows/child/runs?wait=5"
    headers: { Authorization: "Bearer ${ADMIN}" }
    body: { n: 4 }
    save_as: child
`);
  const held = await s.trigger('parked', {});
  const heldRun = await s.waitRun(held.body.id, (r) => r.status === 'waiting');
  const r = await s.trigger('self-api', { callback: heldRun.callback_url }, 'wait=10');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.child.status, 200);
  assert.deepEqual(r.body.child.body, { doubled: 8 });
  const resumed = await s.waitRun(held.body.id);
  assert.equal(resumed.status, 'succeeded');
  assert.equal(resumed.data.note, 'released');
  assert.equal(resumed.data.resumed, true);
});
