// Secrets stay secret through a run (docs/workflow-format.md "Secrets"): a value that came from $secrets
// is redacted wherever the run is stored or shown (its data, reply, error, step records, exchanges,
// the data of its child runs), whether a step copied it or an upstream echoed it back, while the step
// that names $secrets still sends the real value.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { reply, startTarget, startTestServer, type Target, type TestServer } from '../helpers/server.js';

const SECRET = 'sk_live_5f3b9c1e7a2d4c68';
let s: TestServer;
let target: Target;

before(async () => {
  // Echoes what it was sent: a careless upstream that returns the caller's credentials.
  target = await startTarget((req, res) => reply(res, 200, { echoed: req.headers.authorization, token: req.headers['x-token'] ?? null }));
  s = await startTestServer();
  assert.equal((await s.call('PUT', '/v1/secrets/api_key', { json: { value: SECRET } })).status, 201);
  const put = async (id: string, yaml: string): Promise<void> => {
    const r = await s.putWorkflow(id, yaml);
    assert.equal(r.status, 201, r.text);
  };
  await put('copier', 'id: copier\nsteps:\n  - id: copy\n    type: set\n    set: { token: "{{ $secrets.api_key }}", note: "key {{ $secrets.api_key }} used" }\n  - id: answer\n    type: reply\n');
  await put('echo', `id: echo\nsteps:\n  - id: call\n    type: http\n    url: "${target.url}/echo"\n    headers: { Authorization: "Bearer {{ $secrets.api_key }}", X-Token: "{{ $secrets.api_key }}" }\n    save_as: upstream\n  - id: answer\n    type: reply\n`);
  await put('child', 'id: child\nsteps:\n  - id: done\n    type: set\n    set: { seen: true }\n');
  await put('parent', 'id: parent\nsteps:\n  - id: sub\n    type: call\n    workflow: child\n    data: { handed: "{{ $secrets.api_key }}" }\n  - id: answer\n    type: reply\n');
});
after(async () => {
  await s?.close();
  await target?.close();
});

/** Everything a reader of the run can get: the run, its step records, its answer. */
async function everything(runId: string): Promise<string> {
  const run = await s.call('GET', `/v1/runs/${runId}`);
  const steps = await s.call('GET', `/v1/runs/${runId}/steps`);
  const result = await s.call('GET', `/v1/runs/${runId}/result`);
  return run.text + steps.text + result.text;
}

test('a secret a step copied into data is redacted in the data, the reply and the step records', async () => {
  const r = await s.call('POST', '/v1/workflows/copier/runs?wait=5', { json: {} });
  assert.equal(r.status, 200, r.text);
  assert.ok(!r.text.includes(SECRET), `the caller's answer: ${r.text}`);
  assert.equal(r.body.token, '[redacted]');
  assert.equal(r.body.note, 'key [redacted] used');
  const all = await everything(r.headers.get('flowgate-run-id')!);
  assert.ok(!all.includes(SECRET), 'nothing a reader can get holds the value');
});

test('an upstream that echoes the secret back: redacted in the saved answer; the request itself carried the real value', async () => {
  const r = await s.call('POST', '/v1/workflows/echo/runs?wait=5', { json: {} });
  assert.equal(r.status, 200, r.text);
  assert.equal(target.requests.at(-1)?.headers['x-token'], SECRET, 'the step that names $secrets sends the real value');
  assert.ok(!r.text.includes(SECRET), r.text);
  assert.deepEqual(r.body.upstream.body, { echoed: 'Bearer [redacted]', token: '[redacted]' });
  assert.ok(!(await everything(r.headers.get('flowgate-run-id')!)).includes(SECRET));
});

test('a secret handed to a child run is redacted in the child too', async () => {
  const r = await s.call('POST', '/v1/workflows/parent/runs?wait=10', { json: {} });
  assert.equal(r.status, 200, r.text);
  const parentId = r.headers.get('flowgate-run-id')!;
  const children = await s.call('GET', `/v1/runs?parent=${parentId}`);
  const child = children.body.items[0];
  assert.equal(child.input.handed, '[redacted]');
  assert.ok(!(await everything(child.id)).includes(SECRET));
  assert.ok(!(await everything(parentId)).includes(SECRET));
});
