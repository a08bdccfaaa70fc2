// What a launch-in-context key reads (docs/compatibility.md "Launch in context"): sent as
// `Authorization: Launch <key>`, it reads exactly its run (GET /launch/api/run) and follows it
// (GET /launch/api/run/events), without what would act on the run or open more; every other route
// refuses it (403), whatever the run or tenant; altered keys are refused, an expired key is refused
// on every request and ends an open stream at its expiry.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { reply, sleep, startTarget, startTestServer, type Target, type TestServer } from '../helpers/server.js';
import { openSse, sseUntil, type SseStream } from '../helpers/sse.js';

const G = '/gateway/api/v1';
const SECRET = 's3cr3t-launch-token';

let s: TestServer;
let shortLived: TestServer;
let target: Target;
let acmeKey: string;
const streams: SseStream[] = [];

const WORKFLOW = (url: string) => `id: review
name: Review
steps:
  - id: lookup
    name: Look up
    type: http
    url: ${url}/lookup
    headers: { Authorization: "Bearer {{ $secrets.api_token }}" }
    save_as: found
  - id: approve
    name: Wait for approval
    type: wait
    timeout: 1h
  - id: publish
    type: set
    set: { published: true }
`;

before(async () => {
  target = await startTarget((_req, res) => reply(res, 200, { ok: true }));
  s = await startTestServer();
  shortLived = await startTestServer({ FLOWGATE_LAUNCH_TTL_SECONDS: '2' });
  for (const srv of [s, shortLived]) {
    assert.ok((await srv.call('PUT', '/v1/secrets/api_token', { json: { value: SECRET } })).status < 300);
    await srv.createWorkflow('review', WORKFLOW(target.url));
  }
  assert.equal((await s.call('POST', '/v1/tenants', { json: { id: 'acme' } })).status, 201);
  acmeKey = (await s.call('POST', '/v1/keys', { json: { name: 'luma', role: 'admin' }, tenant: 'acme' })).body.token;
  assert.ok((await s.call('PUT', '/v1/secrets/api_token', { json: { value: SECRET }, token: acmeKey })).status < 300);
  assert.equal((await s.putWorkflow('review', WORKFLOW(target.url), { token: acmeKey })).status, 201);
});
after(async () => {
  for (const st of streams) st.close();
  await s?.close();
  await shortLived?.close();
  await target?.close();
});

/** A waiting run of `review` (started with `token`, else the admin token) and the launch key Luma's generate answers for it. */
async function launched(srv = s, token?: string): Promise<{ runId: string; key: string }> {
  const as = token ? { token } : {};
  const r = await srv.trigger('review', {}, '', as);
  assert.equal(r.status, 202, r.text);
  await srv.waitRun(r.body.id, (run) => run.status === 'waiting', as);
  const gen = await fetch(`${srv.url}${G}/launchincontexturl/generate`, {
    method: 'POST', headers: { 'itas-api-access-key': token ?? await readKeyOf(srv), 'content-type': 'application/json' },
    body: JSON.stringify({ launchContext: 'WORKFLOW_EXECUTION_STATUS', contextInfo: { triggerId: r.body.id } }),
  });
  const body = await gen.json();
  assert.equal(gen.status, 200, JSON.stringify(body));
  return { runId: r.body.id, key: body.resultData.slice(body.resultData.lastIndexOf('/') + 1) };
}

const readKeys = new Map<TestServer, string>();
async function readKeyOf(srv: TestServer): Promise<string> {
  if (!readKeys.has(srv)) readKeys.set(srv, (await srv.call('POST', '/v1/keys', { json: { name: 'luma', role: 'read' } })).body.token);
  return readKeys.get(srv)!;
}

const withKey = (key: string, scheme = 'Launch') => ({ authorization: `${scheme} ${key}` });

async function read(key: string, srv = s, path = '/launch/api/run'): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const res = await fetch(srv.url + path, { headers: withKey(key) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : text, text };
}

test('the key reads its run, its step records and its workflow version; nothing that acts on the run or opens more', async () => {
  const { runId, key } = await launched();
  const v = await read(key);
  assert.equal(v.status, 200, v.text);
  assert.equal(v.headers.get('cache-control'), 'no-store');
  assert.equal(v.body.run.id, runId);
  assert.equal(v.body.run.status, 'waiting');
  assert.deepEqual(v.body.steps.map((r: any) => [r.step_id, r.status]), [['lookup', 'succeeded'], ['approve', 'waiting']]);
  assert.equal(v.body.workflow.id, 'review');
  assert.equal(v.body.workflow.version, 1);
  assert.deepEqual(v.body.workflow.definition.steps.map((st: any) => st.id), ['lookup', 'approve', 'publish']);
  assert.ok(Date.parse(v.body.expires_at) > Date.now());
  // Resuming, the result URL, the API's links, the parent, the trigger identifiers and the source are not there.
  for (const k of ['callback_url', 'result_url', 'links', 'parent_run_id']) assert.equal(k in v.body.run, false, k);
  for (const k of ['triggers', 'source', 'hash', 'guid', 'conv_id']) assert.equal(k in v.body.workflow, false, k);
  const native = (await s.call('GET', `/v1/runs/${runId}`)).body;
  const token = new URL(native.callback_url).pathname.split('/').pop()!;
  const wf = (await s.call('GET', '/v1/workflows/review')).body;
  for (const hidden of [token, wf.triggers.hash, wf.triggers.guid]) assert.ok(!v.text.includes(hidden), 'a credential leaked');
  // Secrets stay redacted as on the run page.
  assert.ok(!v.text.includes(SECRET), 'the secret is not shown');
  assert.match(JSON.stringify(v.body.steps[0].attempts), /redacted|\*\*\*/i);
  // A query naming another run changes nothing: the key names the run.
  const other = await launched();
  const again = await read(key, s, `/launch/api/run?id=${other.runId}`);
  assert.equal(again.body.run.id, runId);
});

test('the key follows its run live until it ends: run and step events, then the stream closes', async () => {
  const { runId, key } = await launched();
  const st = await openSse(`${s.url}/launch/api/run/events`, withKey(key));
  streams.push(st);
  assert.equal(st.res.status, 200);
  assert.match(st.res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const first = await st.next();
  assert.equal(first?.event, 'run');
  assert.equal(first?.data.id, runId);
  assert.equal('callback_url' in first!.data, false);
  const native = await s.waitRun(runId, (r) => r.status === 'waiting');
  assert.equal((await fetch(native.callback_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 202);
  const end = await sseUntil(st, (e) => e.event === 'run' && e.data.status === 'succeeded');
  assert.ok(end.hit, `the end arrived: ${JSON.stringify(end.seen.map((e) => e.event))}`);
  assert.ok(end.seen.some((e) => e.event === 'step' && e.data.step_id === 'publish'));
  assert.ok(end.seen.every((e) => !JSON.stringify(e.data).includes('callback')), 'no callback URL in any event');
  assert.equal(await st.next(), null, 'the stream ends with the run');
});

test('every other route refuses the key (403), whichever run or tenant it names; as a Bearer token it is no token (401)', async () => {
  const { runId, key } = await launched();
  const { runId: sibling } = await launched();
  const { runId: theirs } = await launched(s, acmeKey);
  const routes: Array<[string, string, unknown?]> = [
    ['GET', `/v1/runs/${runId}`], ['GET', `/v1/runs/${runId}/steps`], ['GET', `/v1/runs/${runId}/events`], ['GET', `/v1/runs/${runId}/result`],
    ['GET', `/v1/runs/${sibling}`], ['GET', `/v1/runs/${theirs}`], ['GET', '/v1/runs'], ['GET', '/v1/runs/stream'],
    ['GET', '/v1/workflows'], ['GET', '/v1/workflows/review'], ['GET', '/v1/workflows/review?version=1'], ['GET', '/v1/workflows/review/versions'],
    ['GET', '/v1/whoami'], ['GET', `/v1/runs/${runId}/deliveries`],
    ['POST', `/v1/runs/${runId}/cancel`], ['POST', `/v1/runs/${runId}/retry`], ['POST', '/v1/workflows/review/runs', {}],
    ['PUT', '/v1/workflows/other', { id: 'other', steps: [{ id: 'x', type: 'end' }] }], ['DELETE', '/v1/workflows/review'],
    ['GET', '/v1/keys'], ['POST', '/v1/keys', { name: 'x', role: 'admin' }], ['GET', '/v1/secrets'], ['PUT', '/v1/secrets/x', { value: 'y' }],
    ['POST', '/v1/tenants', { id: 'evil' }], ['GET', '/v1/cluster'], ['GET', '/v1/webhook-secret'], ['GET', '/v1/api-logins'],
    ['GET', `${G}/workflowhistory/${runId}`], ['GET', `${G}/workflowhistory/${runId}/stephistory`],
    ['POST', `${G}/launchincontexturl/generate`, { launchContext: 'WORKFLOW_EXECUTION_STATUS', contextInfo: { triggerId: sibling } }],
    ['POST', `${G}/workflow/trigger`, { workflowIdentifier: 'review' }], ['POST', `${G}/tenantaccesstoken/regenerate`, {}],
  ];
  const wrong: string[] = [];
  for (const [method, path, body] of routes) {
    const init = (auth: Record<string, string>) => ({
      method, headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const launch = await fetch(s.url + path, init(withKey(key)));
    if (launch.status !== 403) wrong.push(`${method} ${path} with Launch: ${launch.status}`);
    await launch.arrayBuffer();
    const bearer = await fetch(s.url + path, init(withKey(key, 'Bearer')));
    if (bearer.status !== 401) wrong.push(`${method} ${path} with Bearer: ${bearer.status}`);
    await bearer.arrayBuffer();
  }
  assert.deepEqual(wrong, []);
  // Nothing happened to the run, and no workflow, key or tenant appeared.
  assert.equal((await s.waitRun(runId, () => true)).status, 'waiting');
  assert.equal((await s.call('GET', '/v1/workflows/other')).status, 404);
  assert.equal((await s.call('GET', '/v1/whoami', { tenant: 'evil' })).status, 404, 'no tenant was created');
  // The answer says why, in the API's format.
  const one = await fetch(`${s.url}/v1/runs/${runId}`, { headers: withKey(key) });
  assert.match(one.headers.get('content-type') ?? '', /problem\+json/);
  assert.match((await one.json()).detail, /launch-in-context key reads only its own run/);
});

test('another tenant\'s key reads its own tenant\'s run; a key grafted onto another run or tenant is refused', async () => {
  const mine = await launched();
  const theirs = await launched(s, acmeKey);
  const v = await read(theirs.key);
  assert.equal(v.status, 200);
  assert.equal(v.body.run.id, theirs.runId);
  const [payload, sig] = mine.key.split('.');
  const p = JSON.parse(Buffer.from(payload, 'base64url').toString());
  for (const forged of [{ ...p, r: theirs.runId }, { ...p, t: 'acme', r: theirs.runId }, { ...p, e: p.e + 3600 }]) {
    const k = `${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${sig}`;
    for (const path of ['/launch/api/run', '/launch/api/run/events']) {
      const r = await read(k, s, path);
      assert.equal(r.status, 403, path);
      assert.equal(r.body.reason, 'invalid');
      assert.ok(!r.text.includes(theirs.runId));
    }
  }
});

test('altered, made-up and missing keys: 403 (not valid) and 401 (none sent)', async () => {
  const { runId, key } = await launched();
  const flip = (str: string, i: number): string => str.slice(0, i) + (str[i] === 'A' ? 'B' : 'A') + str.slice(i + 1);
  for (const k of [flip(key, 2), flip(key, key.length - 3), key.slice(0, -1), `${key}x`, 'not-a-key']) {
    for (const path of ['/launch/api/run', '/launch/api/run/events']) {
      const r = await read(k, s, path);
      assert.equal(r.status, 403, `${k} ${path}`);
      assert.match(r.headers.get('content-type') ?? '', /problem\+json/);
      assert.equal(r.body.reason, 'invalid');
      assert.ok(!r.text.includes(runId));
    }
  }
  for (const headers of [{}, { authorization: `Bearer ${key}` }, { authorization: 'Launch' }, { 'itas-api-access-key': key }] as Record<string, string>[]) {
    const res = await fetch(`${s.url}/launch/api/run`, { headers });
    assert.equal(res.status, 401, JSON.stringify(headers));
    assert.equal(res.headers.get('www-authenticate'), 'Launch');
    await res.arrayBuffer();
  }
});

test('an expired key is refused on every request, and an open stream ends at the expiry saying so (FLOWGATE_LAUNCH_TTL_SECONDS=2)', async () => {
  const { key } = await launched(shortLived);
  const st = await openSse(`${shortLived.url}/launch/api/run/events`, withKey(key));
  streams.push(st);
  assert.equal((await st.next())?.event, 'run');
  const v = await read(key, shortLived);
  assert.equal(v.status, 200);
  const expiresAt = Date.parse(v.body.expires_at);
  const end = await sseUntil(st, (e) => e.event === 'expired', 5000);
  assert.ok(end.hit, 'the stream said the key expired');
  assert.equal(end.hit.data.expires_at, v.body.expires_at);
  assert.ok(Date.now() >= expiresAt - 50, 'not before the expiry');
  assert.equal(await st.next(), null, 'and closed');
  await sleep(Math.max(0, expiresAt - Date.now()) + 20);
  for (const path of ['/launch/api/run', '/launch/api/run/events']) {
    const r = await read(key, shortLived, path);
    assert.equal(r.status, 403, path);
    assert.equal(r.body.reason, 'expired');
    assert.match(r.body.detail, /expired/);
  }
});
