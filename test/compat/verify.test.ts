// trigger.verify on the compatibility surfaces, with a real server: Corezoid direct URLs (JSON, XML, NVP) and CSI
// execute/executepolling need no Flowgate key, so a workflow that declares a signature must not start from its hash
// or GUID alone; the signed ops API and the Luma trigger check it too. Signatures are made by each provider's own
// code; every refusal is 401 in the surface's own envelope and creates nothing.
import assert from 'node:assert/strict';
import { XMLParser } from 'fast-xml-parser';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { forge, forgeries, putSchemeWorkflows, runsOf, SCHEMES, withQuery, type Signature } from '../helpers/signing.js';
import { newLogin, sign as corezoidUrlSignature, type Login } from './corezoid-client.js';

let s: TestServer;
let triggers: Record<string, any>;
let login: Login;
let triggerKey: string;

before(async () => {
  s = await startTestServer();
  triggers = await putSchemeWorkflows(s);
  login = await newLogin(s);
  triggerKey = (await s.call('POST', '/v1/keys', { json: { name: 'luma', role: 'trigger' } })).body.token;
});
after(() => s.close());

interface Answer { status: number; type: string; text: string; headers: Headers }

async function post(url: string, body: string, type: string, sig: Signature, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(withQuery(url, sig.query), { method: 'POST', headers: { 'content-type': type, ...sig.headers, ...headers }, body });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text(), headers: res.headers };
}

const xml = (text: string): any => new XMLParser({ parseTagValue: false }).parse(text);

/** Each direct format: its URL, a body holding amount 42, and how to read its envelope. */
const DIRECT = [
  { format: 'json', type: 'application/json', body: '{"amount":42}', read: (a: Answer) => JSON.parse(a.text) },
  { format: 'xml', type: 'application/xml', body: '<task><amount>42</amount></task>', read: (a: Answer) => xml(a.text).response },
  { format: 'nvp', type: 'application/x-www-form-urlencoded', body: 'amount=42', read: (a: Answer) => JSON.parse(a.text) },
] as const;

describe('Corezoid direct URLs', () => {
  for (const c of SCHEMES) {
    for (const d of DIRECT) {
      it(`${c.scheme}, ${d.format}: signed → the task is created; ${forgeries(c).join(', ')} → 401 Corezoid envelope, nothing created`, async () => {
        const url = triggers[c.scheme].urls[`direct_${d.format}`];
        const before = await runsOf(s, `v-${c.scheme}`);
        for (const how of forgeries(c)) {
          const f = await forge(c, d.body, how);
          const r = await post(url, f.body, d.type, f.sig);
          assert.equal(r.status, 401, `${how}: ${r.text}`);
          assert.match(r.type, d.format === 'xml' ? /^application\/xml/ : /^application\/json/, how);
          const env = d.read(r);
          assert.equal(env.request_proc, 'error', how);
          const op = Array.isArray(env.ops) ? env.ops[0] : env.ops;
          assert.equal(op.proc, 'error', how);
          assert.match(op.description, new RegExp(`${c.scheme} signature is not valid`), how);
        }
        assert.equal(await runsOf(s, `v-${c.scheme}`), before, 'a refused request created nothing');
        const sig = await c.sign(d.body);
        const ok = await post(url, d.body, d.type, sig);
        assert.equal(ok.status, 200, ok.text);
        const env = d.read(ok);
        assert.equal(env.request_proc, 'ok');
        const op = Array.isArray(env.ops) ? env.ops[0] : env.ops;
        assert.equal(op.proc, 'ok', ok.text);
        const run = await s.waitRun(op.obj_id);
        // The signature's own query parameters (corezoid) are not the task's data.
        assert.deepEqual(run.input, d.format === 'json' ? { amount: 42 } : { amount: '42' });
      });
    }
  }
});

describe('CSI execute and executepolling', () => {
  const BODY = '{"QueryParameters":{"amount":42}}';
  for (const c of SCHEMES) {
    for (const path of ['execute', 'executepolling'] as const) {
      it(`${c.scheme}, ${path}: signed → started; ${forgeries(c).join(', ')} → 401 problem+json, nothing created`, async () => {
        const url = `${s.url}/task/${path}/${triggers[c.scheme].guid}`;
        const before = await runsOf(s, `v-${c.scheme}`);
        for (const how of forgeries(c)) {
          const f = await forge(c, BODY, how);
          const r = await post(url, f.body, 'application/json', f.sig);
          assert.equal(r.status, 401, `${how}: ${r.text}`);
          assert.match(r.type, /^application\/problem\+json/, how);
          assert.equal(JSON.parse(r.text).type, 'https://flowgate.dev/problems/signature-invalid', how);
        }
        assert.equal(await runsOf(s, `v-${c.scheme}`), before);
        const sig = await c.sign(BODY);
        const ok = await post(url, BODY, 'application/json', sig);
        assert.equal(ok.status, path === 'execute' ? 200 : 202, ok.text);
        const run = await s.waitRun(JSON.parse(ok.text).runId);
        assert.deepEqual(run.input, { amount: 42 });
      });
    }
  }

  it('an empty body must be signed too (the signature covers the empty string)', async () => {
    const c = SCHEMES.find((x) => x.scheme === 'standard-webhooks')!;
    const url = `${s.url}/task/execute/${triggers['standard-webhooks'].guid}`;
    const unsigned = await fetch(url, { method: 'POST', body: '' });
    assert.equal(unsigned.status, 401);
    // A required param is missing, so a signed empty body passes the check and then fails params: 422, not 401.
    const sig = await c.sign('');
    const signed = await fetch(url, { method: 'POST', headers: sig.headers, body: '' });
    assert.equal(signed.status, 422, await signed.text());
  });
});

describe('Corezoid signed ops API', () => {
  it('a create op for a workflow that declares a signature needs it over the raw body, beside the login\'s', async () => {
    const c = SCHEMES.find((x) => x.scheme === 'github')!;
    const body = JSON.stringify({ ops: [{ type: 'create', obj: 'task', conv_id: triggers.github.conv_id, data: { amount: 42 } }] });
    const call = async (headers: Record<string, string>) => {
      const time = String(Math.floor(Date.now() / 1000));
      const url = `${s.url}/api/2/json/${login.login}/${time}/${corezoidUrlSignature(time, login.secret, body)}`;
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      return { status: res.status, body: await res.json() as any };
    };
    const before = await runsOf(s, 'v-github');
    const unsigned = await call({});
    assert.equal(unsigned.status, 401);
    assert.equal(unsigned.body.request_proc, 'error');
    assert.match(unsigned.body.ops[0].description, /github signature is not valid/);
    const wrong = await call((await c.sign(body, Date.now(), 'nope')).headers);
    assert.equal(wrong.status, 401);
    assert.equal(await runsOf(s, 'v-github'), before);
    const ok = await call((await c.sign(body)).headers);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.ops[0].proc, 'ok');
    assert.equal(await runsOf(s, 'v-github'), before + 1);
  });
});

describe('Luma trigger', () => {
  it('a trigger key needs the signature; the refusal is a Luma envelope 401', async () => {
    const c = SCHEMES.find((x) => x.scheme === 'stripe')!;
    const body = JSON.stringify({ workflowIdentifier: 'v-stripe', variables: { amount: 42 } });
    const url = `${s.url}/gateway/api/v1/workflow/trigger`;
    const auth = { authorization: `Bearer ${triggerKey}` };
    const before = await runsOf(s, 'v-stripe');
    const unsigned = await post(url, body, 'application/json', { headers: {}, query: '' }, auth);
    assert.equal(unsigned.status, 401, unsigned.text);
    const env = JSON.parse(unsigned.text);
    assert.equal(env.statusCode, 401);
    assert.equal(env.reasonPhrase, 'Unauthorized');
    const old = await forge(c, body, 'old timestamp');
    assert.equal((await post(url, old.body, 'application/json', old.sig, auth)).status, 401);
    assert.equal(await runsOf(s, 'v-stripe'), before);
    const ok = await post(url, body, 'application/json', await c.sign(body), auth);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(await runsOf(s, 'v-stripe'), before + 1);
  });
});
