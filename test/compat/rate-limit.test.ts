// Rate limits on the compatibility surfaces (docs/spec.md §4 limits, §8.14; docs/compatibility.md): the
// same buckets as the native API. A workflow's bucket is shared by its native trigger, its direct URLs
// and its CSI GUID; an API login and a Luma key have a key bucket each. A refused request answers 429
// in its surface's own format, with an integer Retry-After, and creates nothing.
//
// Requests that must land in one bucket are sent together (rates are per second, so sequential
// requests on a slow machine could see a token come back in between).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { corezoid, newLogin, type Login } from './corezoid-client.js';

let s: TestServer;
let shared: any; // triggers of the workflow whose bucket several surfaces share
let login: Login;
let lumaKey = '';

const WF = (id: string): string => `id: ${id}
params:
  n: { type: number }
steps:
  - { id: a, type: set, set: { done: true } }
`;

before(async () => {
  // One start per second per workflow; three calls per second per key or login.
  s = await startTestServer({ FLOWGATE_RATE_LIMIT_PER_WORKFLOW: '1', FLOWGATE_RATE_LIMIT_PER_KEY: '3' });
  shared = (await s.createWorkflow('shared', WF('shared'))).body.triggers;
  for (const id of ['cz-a', 'cz-b', 'luma-wf']) await s.createWorkflow(id, WF(id));
  login = await newLogin(s);
  const k = await s.call('POST', '/v1/keys', { json: { name: 'luma', role: 'trigger' } });
  assert.equal(k.status, 201, k.text);
  lumaKey = k.body.token;
});
after(() => s.close());

const runsOf = async (workflow: string): Promise<number> => {
  const r = await s.call('GET', `/v1/runs?workflow=${workflow}&limit=1000`);
  assert.equal(r.status, 200, r.text);
  return r.body.items.length;
};

const post = async (url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
};

test('a workflow has one bucket whatever starts it: direct URL, CSI GUID and native trigger draw from it', async () => {
  const answers = await Promise.all([
    post(shared.urls.direct_json, { n: 1 }),
    post(shared.urls.csi_execute, { QueryParameters: { n: 2 } }),
    post(shared.urls.csi_executepolling, { QueryParameters: { n: 3 } }),
    post(`${s.url}/v1/workflows/shared/runs`, { n: 4 }, { authorization: `Bearer ${lumaKey}` }),
  ]);
  const accepted = answers.filter((a) => a.status < 300);
  const refused = answers.filter((a) => a.status === 429);
  assert.equal(accepted.length + refused.length, 4, `only 2xx or 429: ${answers.map((a) => a.status)}`);
  assert.ok(refused.length >= 2, `one token a second cannot start four runs at once: ${answers.map((a) => a.status)}`);
  for (const a of refused) assert.match(a.headers.get('retry-after') ?? '', /^\d+$/);
  // Each surface answers in its own format.
  const [direct, csi, , native] = answers;
  if (direct.status === 429) {
    assert.equal(direct.body.request_proc, 'error');
    assert.match(direct.body.ops[0].description, /over its trigger rate/);
  }
  if (csi.status === 429 || native.status === 429) {
    const problem = csi.status === 429 ? csi : native;
    assert.equal(problem.body.status, 429);
    assert.equal(problem.body.type.endsWith('rate-limited'), true, problem.body.type);
  }
  assert.equal(await runsOf('shared'), accepted.length, 'a refused request created nothing');
});

test('an API login has a key bucket, and an envelope takes a token from every workflow it creates tasks in', async () => {
  const [convA, convB] = await Promise.all(['cz-a', 'cz-b'].map(async (id) => (await s.call('GET', `/v1/workflows/${id}`)).body.triggers.conv_id));
  const envelope = { ops: [
    { type: 'create', obj: 'task', conv_id: convA, data: { n: 1 } },
    { type: 'create', obj: 'task', conv_id: convA, data: { n: 2 } },
    { type: 'create', obj: 'task', conv_id: convB, data: { n: 3 } },
  ] };
  const first = await corezoid(s, login, envelope);
  assert.equal(first.status, 200, first.text);
  assert.deepEqual(first.body.ops.map((o: any) => o.proc), ['ok', 'ok', 'ok'], 'one request, one token per workflow, however many tasks');
  const again = await corezoid(s, login, { ops: [{ type: 'create', obj: 'task', conv_id: convB, data: { n: 4 } }] });
  if (again.status === 429) {
    assert.equal(again.body.request_proc, 'error');
    assert.match(again.headers.get('retry-after') ?? '', /^\d+$/);
  }
  // `show` starts nothing: only the login's bucket (3 a second) limits it.
  const shows = await Promise.all(Array.from({ length: 6 }, () => corezoid(s, login, { ops: [{ type: 'show', obj: 'task', obj_id: first.body.ops[0].obj_id }] })));
  const refused = shows.filter((a) => a.status === 429);
  assert.ok(refused.length >= 2, `a login's 3 calls a second cannot answer six at once: ${shows.map((a) => a.status)}`);
  for (const a of refused) assert.match(a.body.ops[0].description, /API key is over its request rate/);
  assert.equal(await runsOf('cz-a'), 2);
  assert.equal(await runsOf('cz-b'), again.status === 200 ? 2 : 1, 'a refused envelope created nothing');
});

test('a Luma key has a key bucket on every call; a refused trigger is a TooManyRequests envelope and starts nothing', async () => {
  const trigger = (n: number): Promise<{ status: number; headers: Headers; body: any }> =>
    post(`${s.url}/gateway/api/v1/workflow/trigger`, { workflowIdentifier: 'luma-wf', variables: { n } }, { authorization: `Bearer ${lumaKey}` });
  await new Promise((r) => setTimeout(r, 1100)); // the key spent tokens in the first test
  const answers = await Promise.all([1, 2, 3, 4, 5].map(trigger));
  const accepted = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status === 429);
  assert.equal(accepted.length + refused.length, 5, `${answers.map((a) => a.status)}`);
  assert.ok(refused.length >= 3, `luma-wf starts one run a second: ${answers.map((a) => a.status)}`);
  for (const a of refused) {
    assert.equal(a.body.status, 'TooManyRequests');
    assert.equal(a.body.statusCode, 429);
    assert.match(a.headers.get('retry-after') ?? '', /^\d+$/);
  }
  assert.equal(await runsOf('luma-wf'), accepted.length);
  // The admin token is exempt, as on the native API.
  const admin = await post(`${s.url}/gateway/api/v1/workflow/trigger`, { workflowIdentifier: 'luma-wf', variables: { n: 9 } }, { authorization: 'Bearer test-admin' });
  assert.equal(admin.status, 200, JSON.stringify(admin.body));
});
