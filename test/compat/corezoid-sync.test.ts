// Corezoid / MPO Sync API (docs/spec.md §5.1, §8.9) and sub-workflows through `call` (Call a Process, Copy
// Task, Reply to Process with an exception), against a real server; requests signed by the test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, until, type TestServer } from '../helpers/server.js';
import { corezoid, newLogin, type Login } from './corezoid-client.js';

let s: TestServer;
let login: Login;
const conv: Record<string, number> = {};

const DEFS: Record<string, string> = {
  answer: `id: answer
params:
  param: { type: integer, required: true }
steps:
  - id: work
    type: set
    set: { doubled: "{{ param * 2 }}" }
  - id: reply
    type: reply
    data: { param_1: "{{ param }}", param_2: "{{ doubled }}" }
  - id: later
    type: delay
    for: 1h
`,
  quiet: `id: quiet
steps:
  - id: work
    type: set
    set: { done: true }
`,
  broken: `id: broken
steps:
  - id: stop
    type: end
    status: failed
    error: "the ledger is closed"
`,
  refuses: `id: refuses
steps:
  - id: no
    type: reply
    status: error
    data: { description: "limit exceeded", code: 42 }
`,
  slow: `id: slow
steps:
  - id: nap
    type: delay
    for: 1h
`,
  selfcall: `id: selfcall
steps:
  - id: post
    type: http
    method: POST
    url: "{{ __callback_url }}"
    body: { via: http-step, run: "{{ $run.id }}" }
  - id: nap
    type: delay
    for: 1h
`,
  child: `id: child
params:
  n: { type: integer, required: true }
steps:
  - id: check
    type: condition
    cases:
      - when: n < 0
        next: refuse
    default: ok
  - id: ok
    type: reply
    data: { squared: "{{ n * n }}" }
  - id: tail
    type: end
    status: succeeded
  - id: refuse
    type: reply
    status: error
    data: { reason: negative }
`,
  parent: `id: parent
params:
  n: { type: integer, required: true }
steps:
  - id: ask
    type: call
    workflow: child
    data: { n: "{{ n }}" }
    on_error: failed
  - id: done
    type: reply
    data: { n: "{{ n }}", squared: "{{ squared }}", via: child }
  - id: end
    type: end
    status: succeeded
  - id: failed
    type: reply
    data: { routed: on_error, code: "{{ $error.code }}" }
`,
  copier: `id: copier
steps:
  - id: copy
    type: call
    workflow: slow
    wait: false
    save_as: copied
  - id: done
    type: reply
    data: { copied: "{{ copied.run_id }}" }
`,
};

before(async () => {
  s = await startTestServer({ FLOWGATE_COREZOID_SYNC_MAX_SECONDS: '2' });
  for (const [id, yaml] of Object.entries(DEFS)) {
    const r = await s.putWorkflow(id, yaml);
    assert.equal(r.status, 201, `${id}: ${r.text}`);
    conv[id] = r.body.triggers.conv_id;
  }
  login = await newLogin(s);
});
after(() => s.close());

const sync = (body: unknown) => corezoid(s, login, body, { sync: true });

test('the seed\'s Sync API request: the reply comes back as ops[0].data.info', async () => {
  const r = await sync({ timeout: 30, ops: [{ processID: conv.answer, type: 'create', obj: 'task', data: { param: 1 } }] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { ops: [{ proc: 'ok', data: { info: { param_1: 1, param_2: 2 } } }], request_proc: 'ok' });
});

test('the run gets __callback_url (its own callback URL) in its data; an op id is echoed', async () => {
  const r = await sync({ ops: [{ id: 'x1', type: 'create', obj: 'task', conv_id: conv.answer, company_id: 'default', ref: 'sync-cb', data: { param: 3 } }] });
  assert.deepEqual(r.body.ops[0], { id: 'x1', proc: 'ok', data: { info: { param_1: 3, param_2: 6 } } });
  const runs = await s.call('GET', '/v1/runs?workflow=answer&ref=sync-cb');
  const run = runs.body.items[0];
  assert.equal(run.data.__callback_url, run.callback_url);
  assert.match(run.data.__callback_url, /\/v1\/callbacks\/[A-Za-z0-9_-]{20,}$/);
});

test('a POST to __callback_url answers the sync caller (the run is not parked in wait)', async () => {
  const pending = sync({ timeout: 10, ops: [{ type: 'create', obj: 'task', conv_id: conv.slow, ref: 'poke-me', data: {} }] });
  const run = await until(async () => {
    const list = await s.call('GET', '/v1/runs?workflow=slow&ref=poke-me');
    const item = list.body.items[0];
    return item && item.status === 'waiting' ? item : null;
  }, 'the slow run to park');
  const cb = await fetch(run.data.__callback_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ answered: 'from outside' }) });
  assert.equal(cb.status, 202);
  const r = await pending;
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { ops: [{ proc: 'ok', data: { info: { answered: 'from outside' } } }], request_proc: 'ok' });
});

test('an http step of the same run POSTing to __callback_url answers the sync caller', async () => {
  const r = await sync({ timeout: 10, ops: [{ type: 'create', obj: 'task', conv_id: conv.selfcall, data: {} }] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.request_proc, 'ok');
  assert.equal(r.body.ops[0].proc, 'ok', r.text);
  assert.equal(r.body.ops[0].data.info.via, 'http-step');
});

test('a run that ends without replying answers its final data (succeeded) or proc error (failed)', async () => {
  const ok = await sync({ ops: [{ type: 'create', obj: 'task', conv_id: conv.quiet, data: { given: 'x' } }] });
  assert.deepEqual(ok.body, { ops: [{ proc: 'ok', data: { info: { given: 'x', done: true } } }], request_proc: 'ok' });
  const failed = await sync({ ops: [{ type: 'create', obj: 'task', conv_id: conv.broken, data: {} }] });
  assert.equal(failed.status, 400, 'a task that ended with an error is not ok');
  assert.equal(failed.body.request_proc, 'error');
  assert.equal(failed.body.ops[0].proc, 'error');
  assert.match(failed.body.ops[0].description, /the ledger is closed/);
});

test('a reply with status error answers proc error with the reply as info', async () => {
  const r = await sync({ ops: [{ type: 'create', obj: 'task', conv_id: conv.refuses, data: {} }] });
  assert.deepEqual(r.body.ops[0], { proc: 'error', description: 'limit exceeded', data: { info: { description: 'limit exceeded', code: 42 } } });
});

test('timeout given: 200 with "Timeout for create task"; the run goes on', async () => {
  const started = Date.now();
  const r = await sync({ timeout: 1, ops: [{ type: 'create', obj: 'task', conv_id: conv.slow, ref: 'sync-timeout', data: {} }] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { request_proc: 'ok', ops: [{ proc: 'error', description: 'Timeout for create task' }] });
  assert.ok(Date.now() - started >= 900, 'it waited the second');
  const run = (await s.call('GET', '/v1/runs?workflow=slow&ref=sync-timeout')).body.items[0];
  assert.equal(run.status, 'waiting');
});

test('no timeout given: the default wait (capped by FLOWGATE_COREZOID_SYNC_MAX_SECONDS) ends in 504', async () => {
  const started = Date.now();
  const r = await sync({ ops: [{ type: 'create', obj: 'task', conv_id: conv.slow, data: {} }] });
  assert.equal(r.status, 504, r.text);
  assert.equal(r.body.request_proc, 'error');
  assert.deepEqual(r.body.ops, [{ proc: 'error', description: 'Timeout for create task' }]);
  const waited = Date.now() - started;
  assert.ok(waited >= 1900 && waited < 10_000, `waited ${waited} ms (cap 2 s)`);
  // A timeout above the cap is capped too, but answers 200 because the caller chose a timeout.
  const capped = await sync({ timeout: 600, ops: [{ type: 'create', obj: 'task', conv_id: conv.slow, data: {} }] });
  assert.equal(capped.status, 200);
  assert.equal(capped.body.ops[0].description, 'Timeout for create task');
});

test('sync refusals are the same as the ops API\'s; per-op errors are answered at once, with id exactly when the op had one', async () => {
  const before = await s.runCount();
  const bad = await corezoid(s, login, { ops: [{ type: 'create', obj: 'task', conv_id: conv.answer, data: { param: 1 } }] }, { sync: true, signature: '0'.repeat(40) });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.request_proc, 'error');
  assert.equal(bad.body.ops[0].proc, 'callback_hash_error');
  const malformed = await sync({ timeout: 'soon', ops: [] });
  assert.equal(malformed.status, 400);
  assert.match(malformed.body.ops[0].description, /timeout/);
  assert.equal(await s.runCount(), before);
  const invalid = await sync({ timeout: 5, ops: [
    { type: 'create', obj: 'task', conv_id: conv.answer, data: {} },
    { id: 'mine', type: 'create', obj: 'task', conv_id: conv.answer, data: {} },
    { type: 'show', obj: 'task', obj_id: 'nobody' },
  ] });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.body.request_proc, 'error');
  assert.equal(invalid.body.ops[0].proc, 'error');
  assert.match(invalid.body.ops[0].description, /param/);
  assert.equal('id' in invalid.body.ops[0], false, 'an op sent without id is answered without id, errors too');
  assert.equal(invalid.body.ops[1].id, 'mine');
  assert.equal('id' in invalid.body.ops[2], false);
});

test('several creates in one sync request each get their own answer', async () => {
  const r = await sync({ timeout: 5, ops: [
    { type: 'create', obj: 'task', conv_id: conv.answer, data: { param: 4 } },
    { type: 'create', obj: 'task', conv_id: conv.quiet, data: {} },
  ] });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.ops[0].data.info, { param_1: 4, param_2: 8 });
  assert.deepEqual(r.body.ops[1].data.info, { done: true });
});

// ---------------------------------------------------------------- a chain of two processes through `call`

test('Call a Process: the parent parks until the child replies and merges its reply; the sync caller gets the parent\'s reply', async () => {
  const r = await sync({ timeout: 10, ops: [{ type: 'create', obj: 'task', conv_id: conv.parent, ref: 'chain-1', data: { n: 7 } }] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.ops[0], { proc: 'ok', data: { info: { n: 7, squared: 49, via: 'child' } } });
  const parent = (await s.call('GET', '/v1/runs?workflow=parent&ref=chain-1')).body.items[0];
  const final = await s.waitRun(parent.id);
  assert.equal(final.status, 'succeeded');
  const children = await s.call('GET', `/v1/runs?parent=${parent.id}`);
  assert.equal(children.body.items.length, 1);
  assert.equal(children.body.items[0].workflow, 'child');
  const steps = await s.call('GET', `/v1/runs/${parent.id}/steps`);
  const ask = steps.body.items.find((x: any) => x.step_id === 'ask');
  assert.equal(ask.status, 'succeeded');
  assert.equal(ask.output.run_id, children.body.items[0].id);
});

test('Reply to Process with an exception: a child reply with status error routes the parent to on_error', async () => {
  const r = await sync({ timeout: 10, ops: [{ type: 'create', obj: 'task', conv_id: conv.parent, ref: 'chain-2', data: { n: -1 } }] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.ops[0], { proc: 'ok', data: { info: { routed: 'on_error', code: 'child_replied_error' } } });
});

test('Copy Task (call with wait: false) continues at once while the child runs on', async () => {
  const r = await sync({ timeout: 10, ops: [{ type: 'create', obj: 'task', conv_id: conv.copier, data: {} }] });
  assert.equal(r.status, 200, r.text);
  const childId = r.body.ops[0].data.info.copied;
  assert.equal(typeof childId, 'string');
  const child = await s.call('GET', `/v1/runs/${childId}`);
  assert.equal(child.body.workflow, 'slow');
  assert.ok(['queued', 'running', 'waiting'].includes(child.body.status));
});
