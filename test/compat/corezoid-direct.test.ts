// Corezoid / MPO direct URLs (docs/spec.md §5.1, §8.1, §8.7): POST /api/{1|2}/{json|xml|nvp}/public/{conv_id}/{hash},
// no Authorization; the hash is the credential.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { XMLParser } from 'fast-xml-parser';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let triggers: any;

const ORDER = `id: order
params:
  amount: { type: number, required: true }
  city: { type: string }
steps:
  - id: park
    type: wait
    timeout: 1h
`;

before(async () => {
  s = await startTestServer();
  const r = await s.putWorkflow('order', ORDER);
  assert.equal(r.status, 201, r.text);
  triggers = r.body.triggers;
});
after(() => s.close());

const post = async (url: string, body: string, type?: string): Promise<{ status: number; type: string; text: string; body: any }> => {
  const res = await fetch(url, { method: 'POST', headers: type ? { 'content-type': type } : {}, body });
  const text = await res.text();
  const ct = res.headers.get('content-type') ?? '';
  return { status: res.status, type: ct, text, body: ct.includes('json') ? JSON.parse(text) : text };
};

const xml = (text: string): any => new XMLParser({ parseTagValue: false }).parse(text);

test('the workflow lists its direct JSON, XML and NVP URLs; they follow conv_id and hash', async () => {
  const { urls, conv_id, hash } = triggers;
  assert.match(hash, /^[0-9a-f]{40}$/);
  assert.equal(urls.direct_json, `${s.url}/api/1/json/public/${conv_id}/${hash}`);
  assert.equal(urls.direct_xml, `${s.url}/api/1/xml/public/${conv_id}/${hash}`);
  assert.equal(urls.direct_nvp, `${s.url}/api/1/nvp/public/${conv_id}/${hash}`);
});

test('JSON body becomes the run\'s data; 200 with the envelope of one create op, obj_id = run id', async () => {
  const r = await post(triggers.urls.direct_json, JSON.stringify({ amount: 12.5, city: 'Kyiv' }), 'application/json');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.request_proc, 'ok');
  assert.equal(r.body.ops.length, 1);
  const op = r.body.ops[0];
  assert.deepEqual({ id: op.id, proc: op.proc, obj: op.obj, ref: op.ref }, { id: '', proc: 'ok', obj: 'task', ref: null });
  const run = await s.waitRun(op.obj_id, (x) => x.status === 'waiting');
  assert.deepEqual(run.input, { amount: 12.5, city: 'Kyiv' });
  // /api/2 works too, and a body without a Content-Type is read as the URL's format.
  const v2 = await post(triggers.urls.direct_json.replace('/api/1/', '/api/2/'), '{"amount": 1}');
  assert.equal(v2.body.ops[0].proc, 'ok');
});

test('XML body: the root element is the object; the xml URL answers in XML', async () => {
  const r = await post(triggers.urls.direct_xml, '<?xml version="1.0"?><task><amount>7</amount><city>Lviv</city></task>', 'application/xml');
  assert.equal(r.status, 200, r.text);
  assert.match(r.type, /^application\/xml/);
  const doc = xml(r.text);
  assert.equal(doc.response.request_proc, 'ok');
  assert.equal(doc.response.ops.proc, 'ok');
  assert.equal(doc.response.ops.obj, 'task');
  const run = await s.waitRun(doc.response.ops.obj_id, (x) => x.status === 'waiting');
  assert.deepEqual(run.input, { amount: '7', city: 'Lviv' });
  assert.equal(run.data.amount, 7, 'coerced by params');
});

test('NVP body (form-encoded, also from the query string) answers JSON', async () => {
  const r = await post(`${triggers.urls.direct_nvp}?city=Odesa`, 'amount=3&note=a+b%26c', 'application/x-www-form-urlencoded');
  assert.equal(r.status, 200, r.text);
  assert.match(r.type, /json/);
  const run = await s.waitRun(r.body.ops[0].obj_id, (x) => x.status === 'waiting');
  assert.deepEqual(run.input, { city: 'Odesa', amount: '3', note: 'a b&c' });
  // Without a Content-Type the nvp URL reads a form.
  const bare = await post(triggers.urls.direct_nvp, 'amount=4');
  assert.equal(bare.body.ops[0].proc, 'ok');
});

test('?ref= names the task; an active ref answers not_unical_ref with the run\'s obj_id', async () => {
  const url = `${triggers.urls.direct_json}?ref=inv-1`;
  const first = await post(url, '{"amount": 1}', 'application/json');
  assert.equal(first.body.ops[0].proc, 'ok');
  assert.equal(first.body.ops[0].ref, 'inv-1');
  const second = await post(url, '{"amount": 2}', 'application/json');
  assert.equal(second.status, 400, 'a not_unical_ref op is not ok');
  assert.equal(second.body.request_proc, 'error');
  assert.equal(second.body.ops[0].proc, 'not_unical_ref');
  assert.equal(second.body.ops[0].obj_id, first.body.ops[0].obj_id);
});

test('a full ops envelope is honoured (create, modify, show) within this process only', async () => {
  const create = await post(triggers.urls.direct_json, JSON.stringify({ ops: [
    { id: 'c', type: 'create', obj: 'task', ref: 'env-1', data: { amount: 5 } },
    { id: 'other', type: 'create', obj: 'task', conv_id: 1, data: { amount: 5 } },
  ] }), 'application/json');
  assert.equal(create.status, 400, create.text);
  assert.equal(create.body.request_proc, 'error');
  assert.equal(create.body.ops[0].proc, 'ok');
  assert.equal(create.body.ops[1].proc, 'error');
  const objId = create.body.ops[0].obj_id;
  await s.waitRun(objId, (x) => x.status === 'waiting');
  const modify = await post(triggers.urls.direct_json, JSON.stringify({ ops: [{ type: 'modify', obj: 'task', ref: 'env-1', data: { ok: true } }] }), 'application/json');
  assert.equal(modify.body.ops[0].proc, 'ok');
  const done = await s.waitRun(objId);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.data.ok, true);
  const show = await post(triggers.urls.direct_json, JSON.stringify({ ops: [{ type: 'show', obj: 'task', obj_id: objId }] }), 'application/json');
  assert.equal(show.body.ops[0].status, 'processed');
  // The same envelope as XML: one <ops> element is one op.
  const x = await post(triggers.urls.direct_xml, '<request><ops><type>create</type><obj>task</obj><data><amount>9</amount></data></ops></request>', 'text/xml');
  const doc = xml(x.text);
  assert.equal(doc.response.ops.proc, 'ok', x.text);
});

test('bad op data at a direct URL is a 400 envelope (request_proc error) with a per-op error; nothing is created', async () => {
  const before = await s.runCount();
  const r = await post(triggers.urls.direct_json, '{"city": "Dnipro"}', 'application/json');
  assert.equal(r.status, 400);
  assert.equal(r.body.request_proc, 'error');
  assert.equal(r.body.ops[0].proc, 'error');
  assert.match(r.body.ops[0].description, /amount/);
  const malformed = await post(triggers.urls.direct_json, '{"amount": ', 'application/json');
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.request_proc, 'error');
  const badXml = await post(triggers.urls.direct_xml, '<task><amount>1</task>', 'application/xml');
  assert.equal(badXml.status, 400);
  assert.equal(xml(badXml.text).response.request_proc, 'error');
  assert.equal(await s.runCount(), before);
});

test('wrong hash, unknown conv_id, non-public or archived workflow: 400 callback_hash_error; nothing created', async () => {
  const before = await s.runCount();
  const { conv_id, hash } = triggers;
  const wrong = hash.replace(/^./, (c: string) => (c === 'a' ? 'b' : 'a'));
  const cases = [
    `/api/1/json/public/${conv_id}/${wrong}`,
    `/api/1/json/public/${conv_id}/${hash.slice(0, 39)}`,
    `/api/1/json/public/999999/${hash}`,
    `/api/1/json/public/abc/${hash}`,
  ];
  for (const path of cases) {
    const r = await post(s.url + path, '{"amount": 1}', 'application/json');
    assert.equal(r.status, 400, path);
    assert.deepEqual(r.body, { request_proc: 'error', ops: [{ proc: 'callback_hash_error', description: 'Bad request. Reason: callback_hash_error' }] });
  }
  const x = await post(`${s.url}/api/1/xml/public/${conv_id}/${wrong}`, '<task><amount>1</amount></task>', 'application/xml');
  assert.equal(x.status, 400);
  assert.equal(xml(x.text).response.ops.proc, 'callback_hash_error');
  // Upper-case hex of the right hash is the same hash.
  const upper = await post(`${s.url}/api/1/json/public/${conv_id}/${hash.toUpperCase()}`, '{"amount": 1}', 'application/json');
  assert.equal(upper.status, 200);

  const priv = await s.putWorkflow('private', { id: 'private', trigger: { public: false }, steps: [{ id: 'a', type: 'set', set: { a: 1 } }] });
  assert.equal(priv.status, 201, priv.text);
  assert.equal(priv.body.triggers.urls.direct_json, undefined, 'no direct URL is listed for a non-public workflow');
  const p = await post(`${s.url}/api/1/json/public/${priv.body.triggers.conv_id}/${priv.body.triggers.hash}`, '{}', 'application/json');
  assert.equal(p.status, 400);
  assert.equal(p.body.ops[0].proc, 'callback_hash_error');

  const gone = await s.putWorkflow('gone', { id: 'gone', steps: [{ id: 'a', type: 'set', set: { a: 1 } }] });
  assert.equal((await s.call('DELETE', '/v1/workflows/gone')).status, 204);
  const g = await post(gone.body.triggers.urls.direct_json, '{}', 'application/json');
  assert.equal(g.status, 400);
  assert.equal(await s.runCount(), before + 1, 'only the upper-case request created a run');
});

test('rotating the hash stops the old URL at once', async () => {
  const wf = await s.putWorkflow('rotating', { id: 'rotating', steps: [{ id: 'a', type: 'set', set: { a: 1 } }] });
  const old = wf.body.triggers.urls.direct_json;
  assert.equal((await post(old, '{}', 'application/json')).status, 200);
  const rotated = await s.call('POST', '/v1/workflows/rotating/hash/rotate');
  assert.equal(rotated.status, 200);
  assert.notEqual(rotated.body.triggers.hash, wf.body.triggers.hash);
  assert.equal((await post(old, '{}', 'application/json')).status, 400);
  assert.equal((await post(rotated.body.triggers.urls.direct_json, '{}', 'application/json')).status, 200);
});

test('direct URLs need no Authorization and ignore one', async () => {
  const res = await fetch(triggers.urls.direct_json, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer nonsense' }, body: '{"amount": 1}' });
  assert.equal(res.status, 200);
});

test('JSON sent with curl\'s default form Content-Type is refused with the likely cause, natively and on a direct URL', async () => {
  const before = await s.runCount();
  const r = await post(triggers.urls.direct_json, '{"amount": 5}', 'application/x-www-form-urlencoded');
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.request_proc, 'error');
  assert.match(r.body.ops[0].description, /looks like JSON but was sent as application\/x-www-form-urlencoded \(curl's default with -d\)/);
  const native = await s.call('POST', '/v1/workflows/order/runs', { raw: '{"amount": 5}', type: 'application/x-www-form-urlencoded' });
  assert.equal(native.status, 400, native.text);
  assert.match(native.body.detail, /Content-Type: application\/json/);
  assert.equal(await s.runCount(), before);
  const form = await post(triggers.urls.direct_nvp, 'amount=5', 'application/x-www-form-urlencoded');
  assert.equal(form.status, 200, 'a real form still works');
});
