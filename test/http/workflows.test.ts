// Workflow definitions over the native API (docs/spec.md §2, §4, §8.1, §8.2, §8.19): formats, versions,
// archive, and validation that reports every problem at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(() => s.close());

const simple = (id: string, value = 1): string => `id: ${id}
name: Simple ${id}
steps:
  - id: answer
    type: reply
    data: { value: ${value} }
`;

/** A workflow that parks in `wait` and then replies with `tag`. */
const parked = (id: string, tag: string): string => `id: ${id}
steps:
  - id: hold
    type: wait
    timeout: 1h
  - id: answer
    type: reply
    data: { tag: ${tag}, got: "{{ got }}" }
`;

function assertCreated(body: any, id: string, version: number): void {
  assert.equal(body.id, id);
  assert.equal(body.version, version);
  const t = body.triggers;
  assert.ok(t, 'the answer holds triggers');
  assert.equal(typeof t.conv_id, 'number');
  assert.match(t.hash, /^[0-9a-f]{40}$/);
  assert.match(t.guid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(t.urls.native, `${s.url}/v1/workflows/${id}/runs`);
}

test('PUT accepts YAML under every YAML media type, and JSON: 201 with id, version and triggers', async () => {
  for (const [i, type] of ['application/yaml', 'text/yaml', 'application/x-yaml'].entries()) {
    const id = `yaml-${i}`;
    const r = await s.call('PUT', `/v1/workflows/${id}`, { raw: simple(id), type });
    assert.equal(r.status, 201, `${type}: ${r.text}`);
    assertCreated(r.body, id, 1);
    assert.equal(r.body.name, `Simple ${id}`);
  }
  const r = await s.putWorkflow('json-1', { id: 'json-1', steps: [{ id: 'a', type: 'set', set: { x: 1 } }] });
  assert.equal(r.status, 201, r.text);
  assertCreated(r.body, 'json-1', 1);
  // Every workflow gets its own conv_id, hash and guid.
  const all = await s.call('GET', '/v1/workflows');
  assert.equal(all.status, 200);
  assert.equal(all.body.next_cursor, null);
  const ids = all.body.items.map((w: any) => w.id).sort();
  assert.deepEqual(ids, ['json-1', 'yaml-0', 'yaml-1', 'yaml-2']);
  for (const key of ['conv_id', 'hash', 'guid']) {
    assert.equal(new Set(all.body.items.map((w: any) => w.triggers[key])).size, 4, `${key} is unique`);
  }
});

test('an identical PUT answers 200 with the same version; a changed one creates version 2 (201)', async () => {
  const first = await s.putWorkflow('versions', simple('versions', 1));
  assert.equal(first.status, 201);
  const again = await s.putWorkflow('versions', simple('versions', 1));
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.version, 1);
  assert.equal(again.body.triggers.hash, first.body.triggers.hash, 'an identical PUT keeps the hash');
  const changed = await s.putWorkflow('versions', simple('versions', 2));
  // A new version is a new resource state: 201, as the CLI's `apply` reads it ("created" vs "unchanged").
  assert.equal(changed.status, 201, changed.text);
  assert.equal(changed.body.version, 2);
  assert.equal(changed.body.triggers.conv_id, first.body.triggers.conv_id, 'conv_id stays with the workflow');

  const current = await s.call('GET', '/v1/workflows/versions');
  assert.equal(current.status, 200);
  assert.equal(current.body.version, 2);
  assert.equal(current.body.definition.steps[0].data.value, 2);
  const v1 = await s.call('GET', '/v1/workflows/versions?version=1');
  assert.equal(v1.status, 200);
  assert.equal(v1.body.version, 1);
  assert.equal(v1.body.definition.steps[0].data.value, 1);
  assert.equal((await s.call('GET', '/v1/workflows/versions?version=9')).status, 404);
  const bad = await s.call('GET', '/v1/workflows/versions?version=abc');
  assert.equal(bad.status, 422);
  assert.equal(bad.body.errors[0].path, 'version');
});

test('the same definition sent as JSON after YAML is not a new version', async () => {
  assert.equal((await s.putWorkflow('same-doc', simple('same-doc', 7))).status, 201);
  const asJson = await s.putWorkflow('same-doc', { id: 'same-doc', name: 'Simple same-doc', steps: [{ id: 'answer', type: 'reply', data: { value: 7 } }] });
  assert.equal(asJson.status, 200, asJson.text);
  assert.equal(asJson.body.version, 1);
});

test('a run keeps the version it started with after the workflow is updated', async () => {
  assert.equal((await s.putWorkflow('keeps', parked('keeps', 'one'))).status, 201);
  const started = await s.trigger('keeps', {});
  assert.equal(started.status, 202, started.text);
  const run = await s.waitRun(started.body.id, (r) => r.status === 'waiting');
  assert.equal(run.version, 1);
  const v2 = await s.putWorkflow('keeps', parked('keeps', 'two'));
  assert.equal(v2.body.version, 2);

  const cb = await s.call('POST', new URL(run.callback_url).pathname, { json: { got: 'x' }, token: null });
  assert.equal(cb.status, 202, cb.text);
  const done = await s.waitRun(run.id);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.version, 1);
  assert.deepEqual(done.reply.data, { tag: 'one', got: 'x' });

  // A new run takes the new version.
  const fresh = await s.trigger('keeps', {});
  const parkedNew = await s.waitRun(fresh.body.id, (r) => r.status === 'waiting');
  assert.equal(parkedNew.version, 2);
  await s.call('POST', `/v1/runs/${fresh.body.id}/cancel`);
});

test('DELETE archives: the trigger answers 404 and runs in flight still finish', async () => {
  assert.equal((await s.putWorkflow('doomed', parked('doomed', 'last'))).status, 201);
  const started = await s.trigger('doomed', {});
  const run = await s.waitRun(started.body.id, (r) => r.status === 'waiting');

  const del = await s.call('DELETE', '/v1/workflows/doomed');
  assert.equal(del.status, 204, del.text);
  const refused = await s.trigger('doomed', {});
  assert.equal(refused.status, 404);
  assert.match(refused.headers.get('content-type') ?? '', /application\/problem\+json/);
  assert.equal((await s.call('DELETE', '/v1/workflows/nope')).status, 404);

  const cb = await s.call('POST', new URL(run.callback_url).pathname, { json: { got: 'late' }, token: null });
  assert.equal(cb.status, 202, cb.text);
  const done = await s.waitRun(run.id);
  assert.equal(done.status, 'succeeded');
  assert.deepEqual(done.reply.data, { tag: 'last', got: 'late' });
});

test('422 invalid_definition lists every problem with its path, and nothing is created', async () => {
  const r = await s.putWorkflow('broken', `id: broken
steps:
  - id: first
    type: teleport
  - id: first
    type: set
    set: { a: 1 }
    next: nowhere
  - id: check
    type: condition
    cases:
      - when: "amount >"
        next: first
  - id: pause
    type: delay
    for: 5 parsecs
`);
  assert.equal(r.status, 422, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.match(r.body.type, /invalid-definition$/);
  assert.equal(r.body.status, 422);
  const paths = r.body.errors.map((e: any) => e.path);
  for (const p of ['steps[0].type', 'steps[1].id', 'steps[1].next', 'steps[2].cases[0].when', 'steps[3].for']) {
    assert.ok(paths.includes(p), `${p} is reported; got ${JSON.stringify(r.body.errors)}`);
  }
  for (const e of r.body.errors) assert.equal(typeof e.message, 'string');
  assert.equal((await s.call('GET', '/v1/workflows/broken')).status, 404);
});

test('malformed YAML or JSON is a problem answer and creates nothing', async () => {
  const yaml = await s.call('PUT', '/v1/workflows/mangled', { raw: 'id: [oops\nsteps: {', type: 'application/yaml' });
  assert.ok(yaml.status === 400 || yaml.status === 422, `status ${yaml.status}`);
  assert.match(yaml.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.ok(yaml.body.detail);
  const json = await s.call('PUT', '/v1/workflows/mangled', { raw: '{"id": "mangled", "steps": [', type: 'application/json' });
  assert.ok(json.status === 400 || json.status === 422, `status ${json.status}`);
  assert.match(json.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const notObject = await s.call('PUT', '/v1/workflows/mangled', { raw: '[1, 2]', type: 'application/json' });
  assert.ok(notObject.status === 400 || notObject.status === 422, `status ${notObject.status}`);
  assert.equal((await s.call('GET', '/v1/workflows/mangled')).status, 404);
});

test('an id that differs from the URL is 422 on path id; a missing id takes the URL', async () => {
  const r = await s.putWorkflow('url-id', { id: 'other-id', steps: [{ id: 'a', type: 'set', set: { x: 1 } }] });
  assert.equal(r.status, 422, r.text);
  assert.ok(r.body.errors.some((e: any) => e.path === 'id'));
  assert.equal((await s.call('GET', '/v1/workflows/url-id')).status, 404);
  assert.equal((await s.call('GET', '/v1/workflows/other-id')).status, 404);

  const noId = await s.putWorkflow('from-url', { steps: [{ id: 'a', type: 'set', set: { x: 1 } }] });
  assert.equal(noId.status, 201, noId.text);
  assert.equal(noId.body.id, 'from-url');
});

test('a definition sent with an unsupported media type is 415', async () => {
  const r = await s.call('PUT', '/v1/workflows/img', { raw: 'GIF89a', type: 'image/gif' });
  assert.equal(r.status, 415);
  assert.equal((await s.call('GET', '/v1/workflows/img')).status, 404);
});

test('triggers list every public URL (direct JSON/XML/NVP, CSI execute and executepolling)', async () => {
  const r = await s.putWorkflow('urls', simple('urls'));
  const { conv_id, hash, guid, urls } = r.body.triggers;
  const all = JSON.stringify(urls);
  for (const fmt of ['json', 'xml', 'nvp']) assert.ok(all.includes(`/public/${conv_id}/${hash}`) && all.includes(`/${fmt}/public/`), fmt);
  assert.ok(all.includes(`${s.url}/task/execute/${guid}`));
  assert.ok(all.includes(`${s.url}/task/executepolling/${guid}`));
});

test('triggers name every identifier a client needs: signed and Sync API bases, the Luma trigger and its workflowIdentifier', async () => {
  const r = await s.putWorkflow('ids', simple('ids'));
  const t = r.body.triggers;
  assert.equal(t.luma_workflow_identifier, 'ids');
  assert.equal(t.urls.corezoid_api, `${s.url}/api/2/json`);
  assert.equal(t.urls.corezoid_sync_api, `${s.url}/sync/api/2/json`);
  assert.equal(t.urls.luma_trigger, `${s.url}/gateway/api/v1/workflow/trigger`);
  assert.equal(t.urls.native, `${s.url}/v1/workflows/ids/runs`);
});
