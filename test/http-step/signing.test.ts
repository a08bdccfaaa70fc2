/**
 * Signed outgoing requests (docs/spec.md §6, §8.12). Standard Webhooks signatures are verified with the
 * official `standardwebhooks` package, not with Flowgate's code; the Trifacta and Corezoid formulas
 * are recomputed here with node:crypto from their written definitions. Secrets come from $secrets
 * and never appear in step records, run errors or the step test answer.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { workflowTools } from '../helpers/workflows.js';
import { json, startLocalTarget, type Got, type LocalTarget } from './targets.js';

const WHSEC = `whsec_${randomBytes(24).toString('base64')}`;
const PLAIN = 'plain-shared-secret-42';
const TRIFACTA = 'trifacta-key-7';
const COREZOID = 'corezoid-api-secret-9';

let s: TestServer;
let target: LocalTarget;
let flaky = 0;

before(async () => {
  s = await startTestServer({ FLOWGATE_HTTP_ALLOW: '127.0.0.1' });
  for (const [name, value] of [['hooks', WHSEC], ['plain', PLAIN], ['trifacta', TRIFACTA], ['corezoid', COREZOID]]) {
    const r = await s.call('PUT', `/v1/secrets/${name}`, { json: { value } });
    assert.equal(r.status, 201, r.text);
  }
  target = await startLocalTarget((r, res) => {
    if (r.url.startsWith('/flaky') && ++flaky <= 2) return json(res, 503, { busy: true, echo: r.headers['webhook-signature'] });
    json(res, 200, { ok: true });
  });
});
after(async () => {
  await s.close();
  await target.close();
});

const { put } = workflowTools(() => s);
const headersOf = (g: Got): Record<string, string> => Object.fromEntries(Object.entries(g.headers).map(([k, v]) => [k, String(v)]));
const noSecretIn = (text: string, where: string): void => {
  for (const secret of [WHSEC, WHSEC.slice(6), PLAIN, TRIFACTA, COREZOID]) assert.ok(!text.includes(secret), `a secret leaked into ${where}: ${text.slice(0, 400)}`);
};

test('standard-webhooks (the default) with a whsec_ secret verifies with the official package', async () => {
  await put('signed', `id: signed
steps:
  - id: call
    type: http
    method: POST
    url: ${target.url}/signed
    body: { amount: "{{ amount }}", note: "héllo" }
    secret: "{{ $secrets.hooks }}"
`);
  const r = await s.trigger('signed', { amount: 5 }, 'wait=5');
  assert.equal(r.status, 200, r.text);
  const got = target.to('/signed').at(-1)!;
  const h = headersOf(got);
  assert.match(h['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
  assert.ok(Math.abs(Number(h['webhook-timestamp']) - Date.now() / 1000) < 10);
  const payload = new Webhook(WHSEC).verify(got.body, h);
  assert.deepEqual(payload, { amount: 5, note: 'héllo' });
  assert.equal(h['webhook-id'], h['idempotency-key'], 'webhook-id is the execution key');
  assert.equal(h['webhook-id'], h['x-http-task-guid']);
  assert.throws(() => new Webhook(`whsec_${randomBytes(24).toString('base64')}`).verify(got.body, h), 'another key does not verify');
});

test('a secret without the whsec_ prefix is used as its UTF-8 bytes', async () => {
  await put('signed-plain', `id: signed-plain
steps:
  - id: call
    type: http
    method: PUT
    url: ${target.url}/plain
    body: { x: 1 }
    secret: "{{ $secrets.plain }}"
    signature: standard-webhooks
`);
  const r = await s.trigger('signed-plain', {}, 'wait=5');
  assert.equal(r.status, 200, r.text);
  const got = target.to('/plain').at(-1)!;
  assert.deepEqual(new Webhook(Buffer.from(PLAIN, 'utf8').toString('base64')).verify(got.body, headersOf(got)), { x: 1 });
  assert.deepEqual(new Webhook(PLAIN, { format: 'raw' }).verify(got.body, headersOf(got)), { x: 1 });
});

test('every attempt carries the same webhook-id, Idempotency-Key and X-Http-Task-Guid, each freshly signed', async () => {
  flaky = 0;
  await put('signed-retry', `id: signed-retry
steps:
  - id: call
    type: http
    method: POST
    url: ${target.url}/flaky
    body: { n: 1 }
    secret: "{{ $secrets.hooks }}"
    retry: { max_attempts: 3, initial: 1100ms, backoff: fixed }
`);
  const r = await s.trigger('signed-retry', {}, 'wait=10');
  assert.equal(r.status, 200, r.text);
  const attempts = target.to('/flaky');
  assert.equal(attempts.length, 3);
  const ids = new Set(attempts.map((g) => `${g.headers['webhook-id']}|${g.headers['idempotency-key']}|${g.headers['x-http-task-guid']}`));
  assert.equal(ids.size, 1, 'one key on every attempt');
  for (const g of attempts) new Webhook(WHSEC).verify(g.body, headersOf(g));
  const stamps = attempts.map((g) => Number(g.headers['webhook-timestamp']));
  assert.ok(stamps[2] > stamps[0], `each attempt is signed at its own time: ${stamps}`);
});

test('signature: trifacta sends X-Webhook-Signature t=<s>,sha256=<hex HMAC of "t:body">', async () => {
  await put('trifacta', `id: trifacta
steps:
  - id: call
    type: http
    method: POST
    url: ${target.url}/trifacta
    headers: { Content-Type: application/json }
    body: { recipe: 4 }
    secret: "{{ $secrets.trifacta }}"
    signature: trifacta
`);
  const r = await s.trigger('trifacta', {}, 'wait=5');
  assert.equal(r.status, 200, r.text);
  const got = target.to('/trifacta').at(-1)!;
  const m = /^t=(\d+),sha256=([0-9a-f]{64})$/.exec(String(got.headers['x-webhook-signature']));
  assert.ok(m, `header: ${got.headers['x-webhook-signature']}`);
  assert.equal(m[2], createHmac('sha256', TRIFACTA).update(`${m[1]}:${got.body}`).digest('hex'));
  assert.ok(Math.abs(Number(m[1]) - Date.now() / 1000) < 10);
  assert.equal(got.headers['webhook-signature'], undefined, 'only the chosen scheme signs');
  assert.ok(got.headers['x-http-task-guid'], 'the Trifacta retry header is always sent');
});

test('signature: corezoid adds conv_time and conv_signature = hex(sha1(time + secret + body + secret))', async () => {
  await put('corezoid-signed', `id: corezoid-signed
steps:
  - id: call
    type: http
    method: POST
    url: ${target.url}/api/2/json/1234?keep=1
    body: { ops: [{ type: create, obj: task, conv_id: 7, data: { a: 1 } }] }
    secret: "{{ $secrets.corezoid }}"
    signature: corezoid
`);
  const r = await s.trigger('corezoid-signed', {}, 'wait=5');
  assert.equal(r.status, 200, r.text);
  const got = target.to('/api/2/json/1234').at(-1)!;
  const q = new URLSearchParams(got.url.split('?')[1]);
  assert.equal(q.get('keep'), '1');
  const time = q.get('conv_time')!;
  assert.match(time, /^\d+$/);
  assert.equal(q.get('conv_signature'), createHash('sha1').update(time + COREZOID + got.body + COREZOID).digest('hex'));
});

test('secrets never appear in step records, run errors or the step test answer', async () => {
  await put('secret-everywhere', `id: secret-everywhere
steps:
  - id: call
    type: http
    method: POST
    url: ${target.url}/echo?key={{ $secrets.plain }}
    headers: { Authorization: "Bearer {{ $secrets.plain }}", X-Other: "{{ $secrets.trifacta }}" }
    body: { token: "{{ $secrets.corezoid }}" }
    secret: "{{ $secrets.hooks }}"
    expect: 299
`);
  const r = await s.trigger('secret-everywhere', {}, 'wait=5');
  assert.equal(r.status, 500, r.text);
  const got = target.to('/echo').at(-1)!;
  assert.equal(got.headers.authorization, `Bearer ${PLAIN}`, 'the target gets the real values');
  const runId = r.headers.get('flowgate-run-id')!;
  const steps = await s.call('GET', `/v1/runs/${runId}/steps`);
  noSecretIn(steps.text, 'step records');
  assert.match(steps.body.items[0].attempts[0].request.url, /key=%5Bredacted%5D|key=\[redacted\]/);
  noSecretIn(r.text, 'the run failure answer');
  noSecretIn((await s.call('GET', `/v1/runs/${runId}`)).text, 'the run');
  const tested = await s.call('POST', '/v1/workflows/secret-everywhere/steps/call/test', { json: { data: {} } });
  assert.equal(tested.status, 200, tested.text);
  noSecretIn(tested.text, 'the step test answer');
  assert.equal(tested.body.request.headers.authorization, 'Bearer [redacted]');
});

test('a URL kept in $secrets (its path is the credential) is redacted from the run error too', async () => {
  const hookUrl = `${target.url}/hooks/T0001/B0002/sekret-path-token-77`;
  assert.equal((await s.call('PUT', '/v1/secrets/hook_url', { json: { value: hookUrl } })).status, 201);
  await put('secret-url', `id: secret-url
steps:
  - id: call
    type: http
    method: POST
    url: "{{ $secrets.hook_url }}"
    body: { text: hi }
    expect: 299
`);
  const r = await s.trigger('secret-url', {}, 'wait=5');
  assert.equal(r.status, 500, r.text);
  assert.ok(!r.text.includes('sekret-path-token-77'), r.text);
  assert.match(r.body.error.message, /\[redacted\]/);
  const runText = (await s.call('GET', `/v1/runs/${r.headers.get('flowgate-run-id')}`)).text;
  assert.ok(!runText.includes('sekret-path-token-77'));
});

test('a secret that evaluates to nothing fails the step instead of signing with an empty key', async () => {
  await put('no-secret', `id: no-secret
steps:
  - id: call
    type: http
    url: ${target.url}/never
    secret: "{{ $secrets.missing }}"
`);
  const r = await s.trigger('no-secret', {}, 'wait=5');
  assert.equal(r.status, 500, r.text);
  assert.equal(r.body.error.code, 'missing_secret');
  assert.equal(target.to('/never').length, 0);
});
