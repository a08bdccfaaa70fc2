// Luma Automation gateway API (docs/spec.md §5.2, §8.18) against a real server, following the documentation's own
// examples: the trigger request body as the documentation shows it (with its leading space in
// workflowIdentifier), the success and DataValidationError bodies exactly, both header styles,
// workflow history with Luma statuses and epoch-ms times, step history with filter / orderBy /
// skip / top, the detailed step record, and tenant isolation.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN, startTestServer, until, type TestServer } from '../helpers/server.js';

let s: TestServer;
let triggerKey: string;
let readKey: string;
let acmeKey: string;

const ENVELOPE_KEYS = ['status', 'statusCode', 'statusLine', 'errors', 'resultData', 'warnings', 'timestamp', 'reasonPhrase', 'metaInfo'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The documented request body. */
const seedBody = (): Record<string, unknown> => ({
  workflowIdentifier: ' sample_workflow',
  variables: { sample_workflow_input_parameter1: 'sample_input_value1', sample_workflow_input_parameter2: 'sample_input_value2' },
  initiatorContactId: 1,
  initiatorApplicationId: -2,
  initiationInfo: { lumaChannelAccountId: 'e54b080f-b306-4946-b9cc-4eb58034618f', ticketIdentifier: '100-1' },
});

/** A Luma call: `auth` is a header object (Bearer or itas-api-access-key), none by default. */
async function luma(method: string, path: string, body?: unknown, auth: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(s.url + path, {
    method,
    headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}
const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
const itas = (t: string): Record<string, string> => ({ 'itas-api-access-key': t });

const G = '/gateway/api/v1';

before(async () => {
  s = await startTestServer();
  const put = async (id: string, yaml: string, tenant?: string): Promise<void> => {
    const r = await s.putWorkflow(id, yaml, tenant ? { tenant } : {});
    assert.equal(r.status, 201, r.text);
  };
  await put('sample_workflow', `id: sample_workflow
name: Name of the Sample Workflow
params:
  sample_workflow_input_parameter1: { type: string, required: true, description: First input }
  sample_workflow_input_parameter2: { type: string, required: true }
  count: { type: integer, minimum: 1 }
steps:
  - id: greet
    name: Build greeting
    type: set
    set: { greeting: "{{ sample_workflow_input_parameter1 & '/' & sample_workflow_input_parameter2 }}" }
`);
  await put('approval', `id: approval
name: Approval
steps:
  - id: ask
    name: Wait for approval
    type: wait
    timeout: 1h
  - id: done
    type: set
    set: { approved: true }
`);
  await put('sleepy', `id: sleepy
steps:
  - id: nap
    type: delay
    for: 1h
`);
  await put('broken', `id: broken
name: Broken
steps:
  - id: fail
    type: end
    status: failed
    error: nothing to do
`);
  // Six records in execution order: prepare, fan-out (FAILED), pause, route, again (FAILED), finish.
  await put('steps-demo', `id: steps-demo
name: Steps demo
steps:
  - id: prepare
    name: Prepare
    type: set
    set: { ready: true }
  - id: fanout
    name: Fan out
    type: foreach
    items: "'not a list'"
    workflow: sample_workflow
    on_error: pause
  - id: pause
    name: Pause
    type: delay
    for: 30ms
  - id: route
    type: condition
    cases:
      - when: ready = false
        next: finish
    default: again
  - id: again
    name: Fan out again
    type: foreach
    items: "'still not a list'"
    workflow: sample_workflow
    on_error: finish
  - id: finish
    name: Finish
    type: set
    set: { finished: true }
`);
  const key = async (name: string, role: string, tenant = 'default'): Promise<string> => {
    const r = await s.call('POST', '/v1/keys', { json: { name, role, tenant } });
    assert.equal(r.status, 201, r.text);
    return r.body.token;
  };
  triggerKey = await key('luma-trigger', 'trigger');
  readKey = await key('luma-read', 'read');
  acmeKey = await key('acme-trigger', 'trigger', 'acme');
  await put('sample_workflow', `id: sample_workflow
name: Acme sample
steps:
  - id: one
    type: set
    set: { acme: true }
`, 'acme');
});
after(() => s.close());

const runsOf = async (tenant = 'default'): Promise<number> => s.runCount({ tenant });

// ---------------------------------------------------------------- trigger

test('trigger: the seed\'s request answers the seed\'s success body, with triggerId = the run id', async () => {
  const t0 = Date.now();
  const r = await luma('POST', `${G}/workflow/trigger`, seedBody(), bearer(triggerKey));
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(Object.keys(r.body), ENVELOPE_KEYS, 'the envelope fields in the seed\'s order');
  const triggerId = r.body.resultData.executionConfig.triggerId;
  assert.match(triggerId, UUID);
  assert.deepEqual(r.body, {
    status: 'Success',
    statusCode: 0,
    statusLine: 'Successfully submitted workflow trigger request.',
    errors: null,
    resultData: {
      executionConfig: { triggerId, identifier: 'sample_workflow', name: 'Name of the Sample Workflow' },
      statusInfo: { status: 'SUBMITTED' },
    },
    warnings: null,
    timestamp: r.body.timestamp,
    reasonPhrase: null,
    metaInfo: null,
  });
  assert.ok(Number.isInteger(r.body.timestamp) && r.body.timestamp >= t0 && r.body.timestamp <= Date.now(), 'timestamp is epoch ms');
  const run = await s.waitRun(triggerId);
  assert.equal(run.status, 'succeeded');
  assert.equal(run.workflow, 'sample_workflow');
  assert.deepEqual(run.input, seedBody().variables, 'variables are the params');
  assert.equal(run.data.greeting, 'sample_input_value1/sample_input_value2');
  assert.equal(run.data.initiatorContactId, undefined, 'initiator fields are not data');
});

test('trigger: itas-api-access-key works like Bearer; the admin token too (tenant from Flowgate-Tenant)', async () => {
  const a = await luma('POST', `${G}/workflow/trigger`, seedBody(), itas(triggerKey));
  assert.equal(a.status, 200);
  assert.equal(a.body.status, 'Success');
  const b = await luma('POST', `${G}/workflow/trigger`, seedBody(), bearer(ADMIN));
  assert.equal(b.status, 200);
  const c = await luma('POST', `${G}/workflow/trigger`, seedBody(), { ...itas(ADMIN), 'flowgate-tenant': 'acme' });
  assert.equal(c.status, 200);
  assert.equal(c.body.resultData.executionConfig.name, 'Acme sample');
  assert.equal((await s.call('GET', `/v1/runs/${c.body.resultData.executionConfig.triggerId}`, { tenant: 'acme' })).status, 200);
});

test('DataValidationError: every missing or invalid variable is listed, no trigger id, and no run is created', async () => {
  const before = await runsOf();
  const body = { ...seedBody(), variables: { sample_workflow_input_parameter2: 'ok', count: 'many' } };
  const r = await luma('POST', `${G}/workflow/trigger`, body, bearer(triggerKey));
  assert.equal(r.status, 400);
  assert.deepEqual(Object.keys(r.body), ENVELOPE_KEYS);
  assert.deepEqual(r.body, {
    status: 'DataValidationError',
    statusCode: 1,
    statusLine: 'Failed to submit workflow trigger request due to validation errors.',
    errors: r.body.errors,
    resultData: { executionConfig: { identifier: 'sample_workflow', name: 'Name of the Sample Workflow' } },
    warnings: null,
    timestamp: r.body.timestamp,
    reasonPhrase: null,
    metaInfo: null,
  });
  assert.equal(r.body.errors.length, 2, JSON.stringify(r.body.errors));
  assert.ok(r.body.errors.some((e: string) => e.includes('sample_workflow_input_parameter1') && /required/.test(e)), JSON.stringify(r.body.errors));
  assert.ok(r.body.errors.some((e: string) => e.includes('count') && /integer/.test(e)), JSON.stringify(r.body.errors));
  assert.equal('triggerId' in r.body.resultData.executionConfig, false);

  const none = await luma('POST', `${G}/workflow/trigger`, { workflowIdentifier: 'sample_workflow' }, bearer(triggerKey));
  assert.equal(none.status, 400);
  assert.equal(none.body.errors.length, 2, 'both required variables are listed when variables is missing');
  const badShape = await luma('POST', `${G}/workflow/trigger`, { workflowIdentifier: 'sample_workflow', variables: [1], initiationInfo: 'x' }, bearer(triggerKey));
  assert.equal(badShape.status, 400);
  assert.ok(badShape.body.errors.some((e: string) => /variables/.test(e)));
  assert.ok(badShape.body.errors.some((e: string) => /initiationInfo/.test(e)));
  const noIdent = await luma('POST', `${G}/workflow/trigger`, { variables: {} }, bearer(triggerKey));
  assert.equal(noIdent.status, 400);
  assert.equal(noIdent.body.status, 'DataValidationError');
  assert.deepEqual(noIdent.body.errors, ['workflowIdentifier is required']);
  const malformed = await luma('POST', `${G}/workflow/trigger`, '{"workflowIdentifier": ', bearer(triggerKey));
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.status, 'DataValidationError');
  assert.equal(await runsOf(), before, 'nothing was created by a refused trigger');
});

test('trigger auth and lookup: no token 401, unknown token 401, read role 403, unknown or other tenant\'s workflow 404 — all in the envelope', async () => {
  const before = await runsOf();
  const none = await luma('POST', `${G}/workflow/trigger`, seedBody());
  assert.equal(none.status, 401);
  assert.equal(none.body.status, 'Unauthorized');
  assert.equal(none.body.reasonPhrase, 'Unauthorized');
  assert.match(none.headers.get('www-authenticate') ?? '', /Bearer/);
  assert.equal((await luma('POST', `${G}/workflow/trigger`, seedBody(), bearer('nope'))).status, 401);
  assert.equal((await luma('POST', `${G}/workflow/trigger`, seedBody(), itas('nope'))).status, 401);
  const low = await luma('POST', `${G}/workflow/trigger`, seedBody(), bearer(readKey));
  assert.equal(low.status, 403);
  assert.equal(low.body.status, 'Forbidden');
  const missing = await luma('POST', `${G}/workflow/trigger`, { ...seedBody(), workflowIdentifier: 'no_such_flow' }, bearer(triggerKey));
  assert.equal(missing.status, 404);
  assert.equal(missing.body.status, 'NotFound');
  assert.equal(missing.body.statusCode, 404);
  // `approval` exists only in the default tenant: acme's key does not see it.
  const other = await luma('POST', `${G}/workflow/trigger`, { workflowIdentifier: 'approval' }, itas(acmeKey));
  assert.equal(other.status, 404);
  assert.equal(await runsOf(), before);
});

test('an Idempotency-Key header makes a repeated trigger return the same trigger id', async () => {
  const h = { ...bearer(triggerKey), 'idempotency-key': 'ticket-100-1' };
  const a = await luma('POST', `${G}/workflow/trigger`, seedBody(), h);
  const b = await luma('POST', `${G}/workflow/trigger`, seedBody(), h);
  assert.equal(a.body.resultData.executionConfig.triggerId, b.body.resultData.executionConfig.triggerId);
});

// ---------------------------------------------------------------- history

test('workflow history: COMPLETED, inputParameters as a JSON string, epoch-ms times, timeSpent, initiator fields', async () => {
  const t0 = Date.now();
  const r = await luma('POST', `${G}/workflow/trigger`, seedBody(), bearer(triggerKey));
  const id = r.body.resultData.executionConfig.triggerId;
  await s.waitRun(id);
  const h = await luma('GET', `${G}/workflowhistory/${id}`, undefined, itas(readKey));
  assert.equal(h.status, 200);
  assert.deepEqual(Object.keys(h.body), ENVELOPE_KEYS);
  assert.equal(h.body.status, 'Success');
  assert.equal(h.body.statusCode, 0);
  assert.equal(h.body.statusLine, 'Successfully retrieved workflow history record.');
  const d = h.body.resultData;
  assert.equal(d.id, id);
  assert.equal(d.status, 'COMPLETED');
  assert.equal(d.initiatorContactId, 1);
  assert.equal(d.initiatorApplicationId, -2);
  assert.deepEqual(d.initiationInfo, seedBody().initiationInfo);
  assert.equal(typeof d.inputParameters, 'string');
  assert.deepEqual(JSON.parse(d.inputParameters), {
    inputParameters: [
      { value: 'sample_input_value1', caption: null, dataType: 'TEXT', parameter: 'sample_workflow_input_parameter1', description: 'First input' },
      { value: 'sample_input_value2', caption: null, dataType: 'TEXT', parameter: 'sample_workflow_input_parameter2', description: null },
    ],
  });
  for (const k of ['startTime', 'endTime', 'timeSpent']) assert.ok(Number.isInteger(d[k]), `${k} is an integer`);
  assert.ok(d.startTime >= t0 - 5 && d.endTime <= Date.now() && d.startTime <= d.endTime, 'epoch milliseconds');
  assert.equal(d.timeSpent, d.endTime - d.startTime);
});

test('history statuses: SUSPENDED (waiting for a callback), RUNNING (a timer), FAILED, TERMINATED (cancelled)', async () => {
  const start = async (wf: string): Promise<string> => {
    const r = await luma('POST', `${G}/workflow/trigger`, { workflowIdentifier: wf }, bearer(triggerKey));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.resultData.executionConfig.triggerId;
  };
  const status = async (id: string): Promise<any> => (await luma('GET', `${G}/workflowhistory/${id}`, undefined, bearer(readKey))).body.resultData;

  const waiting = await start('approval');
  await s.waitRun(waiting, (r) => r.status === 'waiting');
  const w = await status(waiting);
  assert.equal(w.status, 'SUSPENDED');
  assert.equal(w.endTime, null);
  assert.ok(w.timeSpent >= 0);
  assert.equal(w.initiatorContactId, null, 'no initiator fields were sent');

  const napping = await start('sleepy');
  await s.waitRun(napping, (r) => r.status === 'waiting');
  assert.equal((await status(napping)).status, 'RUNNING');

  const failed = await start('broken');
  await s.waitRun(failed);
  assert.equal((await status(failed)).status, 'FAILED');

  assert.equal((await s.call('POST', `/v1/runs/${napping}/cancel`)).status, 200);
  assert.equal((await status(napping)).status, 'TERMINATED');

  const run = await s.waitRun(waiting, (x) => x.status === 'waiting');
  await s.call('POST', new URL(run.callback_url).pathname, { json: {}, token: null });
  await until(async () => (await status(waiting)).status === 'COMPLETED', 'the approval run to complete');
});

// ---------------------------------------------------------------- step history

let demo: string;
const steps = async (query = '', auth = bearer(readKey)): Promise<{ status: number; body: any }> =>
  luma('GET', `${G}/workflowhistory/${demo}/stephistory${query}`, undefined, auth);

test('step history: items in execution order with Luma fields, statuses and epoch-ms times', async () => {
  const r = await luma('POST', `${G}/workflow/trigger`, { workflowIdentifier: 'steps-demo' }, bearer(triggerKey));
  demo = r.body.resultData.executionConfig.triggerId;
  await s.waitRun(demo);
  const all = await steps();
  assert.equal(all.status, 200);
  assert.deepEqual(Object.keys(all.body), ENVELOPE_KEYS);
  assert.equal(all.body.statusLine, 'Successfully retrieved workflow step history records.');
  const items = all.body.resultData;
  assert.ok(Array.isArray(items));
  assert.deepEqual(items.map((i: any) => i.activityId), ['prepare', 'fanout', 'pause', 'route', 'again', 'finish']);
  assert.deepEqual(items.map((i: any) => i.activityName), ['Prepare', 'Fan out', 'Pause', 'route', 'Fan out again', 'Finish'], 'the step name, else its id');
  assert.deepEqual(items.map((i: any) => i.status), ['COMPLETED', 'FAILED', 'COMPLETED', 'COMPLETED', 'FAILED', 'COMPLETED']);
  assert.deepEqual(items.map((i: any) => i.activityType), ['set', 'foreach', 'delay', 'condition', 'foreach', 'set']);
  for (const it of items) {
    assert.deepEqual(Object.keys(it).sort(), ['activityId', 'activityName', 'activityType', 'endTime', 'id', 'startTime', 'status', 'timeSpent', 'totalAttempts']);
    assert.ok(Number.isInteger(it.startTime) && Number.isInteger(it.endTime) && it.startTime > 1.6e12);
    assert.equal(it.timeSpent, it.endTime - it.startTime);
    assert.equal(it.totalAttempts, 1);
  }
  assert.ok(items[2].timeSpent >= 25, 'the delay step took its time');
  assert.deepEqual(all.body.metaInfo, { totalCount: 6, skip: 0, top: null });
});

test('step history: filter=status==FAILED (also the docs\' "status ==FAILED"), orderBy with ties in execution order, skip and top', async () => {
  const failed = await steps('?filter=status==FAILED');
  assert.equal(failed.status, 200);
  assert.deepEqual(failed.body.resultData.map((i: any) => i.activityId), ['fanout', 'again']);
  assert.equal(failed.body.metaInfo.totalCount, 2);
  const spaced = await steps(`?filter=${encodeURIComponent('status ==FAILED')}`);
  assert.deepEqual(spaced.body.resultData.map((i: any) => i.activityId), ['fanout', 'again']);
  const completed = await steps('?filter=status==completed');
  assert.equal(completed.body.resultData.length, 4);

  const byIdDesc = await steps(`?orderBy=${encodeURIComponent('activityId desc')}`);
  assert.deepEqual(byIdDesc.body.resultData.map((i: any) => i.activityId), ['route', 'prepare', 'pause', 'finish', 'fanout', 'again']);
  const byStatus = await steps(`?orderBy=${encodeURIComponent('status asc')}`);
  assert.deepEqual(byStatus.body.resultData.map((i: any) => i.activityId), ['prepare', 'pause', 'route', 'finish', 'fanout', 'again'], 'ties keep execution order');
  const byStatusDesc = await steps(`?orderBy=${encodeURIComponent('status desc')}`);
  assert.deepEqual(byStatusDesc.body.resultData.map((i: any) => i.activityId), ['fanout', 'again', 'prepare', 'pause', 'route', 'finish'], 'ties keep execution order in desc too');
  const byStart = await steps(`?orderBy=${encodeURIComponent('startTime desc')}`);
  const starts = byStart.body.resultData.map((i: any) => i.startTime);
  assert.deepEqual(starts, [...starts].sort((a: number, b: number) => b - a));
  const timeAsc = await steps('?orderBy=timeSpent+asc');
  const spent = timeAsc.body.resultData.map((i: any) => i.timeSpent);
  assert.deepEqual(spent, [...spent].sort((a: number, b: number) => a - b));

  const page = await steps('?skip=1&top=2');
  assert.deepEqual(page.body.resultData.map((i: any) => i.activityId), ['fanout', 'pause']);
  assert.deepEqual(page.body.metaInfo, { totalCount: 6, skip: 1, top: 2 });
  const combined = await steps(`?filter=status==FAILED&orderBy=${encodeURIComponent('startTime desc')}&skip=0&top=1`);
  assert.deepEqual(combined.body.resultData.map((i: any) => i.activityId), ['again']);
  const beyond = await steps('?skip=10&top=10');
  assert.deepEqual(beyond.body.resultData, []);
});

test('step history: bad filter, orderBy, skip or top is a DataValidationError listing each problem', async () => {
  const bad = await steps(`?filter=colour==red&orderBy=${encodeURIComponent('shoeSize up')}&skip=-1&top=x`);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.status, 'DataValidationError');
  assert.equal(bad.body.errors.length, 4, JSON.stringify(bad.body.errors));
  const badStatus = await steps('?filter=status==BROKEN');
  assert.equal(badStatus.status, 400);
});

test('detailed step history record: the item plus what happened inside; unknown ids 404', async () => {
  const list = await steps('?filter=status==FAILED');
  const failedItem = list.body.resultData[0];
  const one = await luma('GET', `${G}/workflowhistory/${demo}/stephistory/${failedItem.id}`, undefined, itas(readKey));
  assert.equal(one.status, 200);
  assert.equal(one.body.statusLine, 'Successfully retrieved workflow step history record.');
  const d = one.body.resultData;
  for (const k of Object.keys(failedItem)) assert.deepEqual(d[k], failedItem[k], `detail keeps ${k}`);
  assert.equal(d.status, 'FAILED');
  assert.equal(d.activityRuntimeAttributes.error.code, 'bad_items');
  assert.match(d.activityRuntimeAttributes.error.message, /array/);
  for (const bad of ['999', 'abc', '0']) {
    const r = await luma('GET', `${G}/workflowhistory/${demo}/stephistory/${bad}`, undefined, itas(readKey));
    assert.equal(r.status, 404, bad);
    assert.equal(r.body.status, 'NotFound');
  }
});

test('another tenant\'s trigger ids answer 404 on every history URL and launch generation; unknown ids too', async () => {
  const acme = itas(acmeKey);
  for (const path of [`${G}/workflowhistory/${demo}`, `${G}/workflowhistory/${demo}/stephistory`, `${G}/workflowhistory/${demo}/stephistory/1`]) {
    const r = await luma('GET', path, undefined, acme);
    assert.equal(r.status, 404, path);
    assert.equal(r.body.status, 'NotFound');
    assert.deepEqual(Object.keys(r.body), ENVELOPE_KEYS);
  }
  const gen = await luma('POST', `${G}/launchincontexturl/generate`, { launchContext: 'WORKFLOW_EXECUTION_STATUS', contextInfo: { triggerId: demo } }, acme);
  assert.equal(gen.status, 404);
  assert.equal((await luma('GET', `${G}/workflowhistory/00000000-0000-7000-8000-000000000000`, undefined, bearer(readKey))).status, 404);
  assert.equal((await luma('GET', `${G}/workflowhistory/d9bf533e-cc29-4efe-a0e7-df4aef85cbc0`, undefined, bearer(readKey))).status, 404);
  assert.equal((await luma('GET', `${G}/workflowhistory/${demo}`)).status, 401, 'history needs a token');
});

test('Regenerate Tenant Access Token: a new token of the same role, returned once in the envelope; the old one stops at once', async () => {
  const created = await s.call('POST', '/v1/keys', { json: { name: 'luma-rotate', role: 'trigger' } });
  assert.equal(created.status, 201, created.text);
  const oldToken = created.body.token as string;
  assert.equal((await luma('POST', `${G}/workflow/trigger`, seedBody(), bearer(oldToken))).status, 200, 'the old token works before');

  const r = await luma('POST', `${G}/tenantaccesstoken/regenerate`, {}, itas(oldToken));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body), ENVELOPE_KEYS);
  assert.equal(r.body.status, 'Success');
  assert.equal(r.body.statusCode, 0);
  const fresh = r.body.resultData.tenantAccessToken as string;
  assert.match(fresh, /^fg_/);
  assert.notEqual(fresh, oldToken);
  assert.equal(r.body.resultData.role, 'trigger');

  const refused = await luma('POST', `${G}/workflow/trigger`, seedBody(), bearer(oldToken));
  assert.equal(refused.status, 401, 'the old token stops at once');
  assert.equal(refused.body.statusCode, 401);
  assert.equal((await luma('POST', `${G}/workflow/trigger`, seedBody(), bearer(fresh))).status, 200, 'the new token triggers');
  const keys = (await s.call('GET', '/v1/keys')).body.items.filter((k: { name: string }) => k.name === 'luma-rotate');
  assert.equal(keys.length, 1, 'the old key is gone, the new one keeps its name');
  assert.equal(keys[0].id, r.body.resultData.keyId);

  const admin = await luma('POST', `${G}/tenantaccesstoken/regenerate`, {}, bearer(ADMIN));
  assert.equal(admin.status, 403, 'the admin token is not a tenant access token');
  const none = await luma('POST', `${G}/tenantaccesstoken/regenerate`, {});
  assert.equal(none.status, 401);
  assert.equal((await s.call('GET', '/v1/keys')).body.items.filter((k: { name: string }) => k.name === 'luma-rotate').length, 1, 'refusals change nothing');
});
