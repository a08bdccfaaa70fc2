/**
 * The http step against a fake HttpPort, beyond the basics of http.test.ts: follow_async (execute
 * parks, resume polls), the self-callback port, request settings (connect timeout, redirects), XML
 * bodies and secrets. No sockets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileWorkflow } from '../core/definition.js';
import type { JsonObject, Run, StepRecord } from '../core/types.js';
import { httpStep } from './http.js';
import { xmlBody } from './http-request.js';
import { HttpFailure, type HttpPort, type HttpResponse, type Outcome, type StepContext } from './types.js';
import { FakeHttp, T0, testWorkflow } from '../../test/helpers/steps.js';

const RUN_ID = '01900000-0000-7000-8000-000000000002';

const answer = (status: number, body: unknown = {}, headers: Record<string, string> = {}): HttpResponse => ({
  status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(body)), truncated: false,
});

interface Opts {
  now?: number;
  record?: StepRecord | null;
  secrets?: Record<string, string>;
  selfCallback?: StepContext['selfCallback'];
}

function ctxFor(step: Record<string, unknown>, data: JsonObject, http: HttpPort, o: Opts = {}): StepContext {
  const compiled = compileWorkflow(testWorkflow({ steps: [{ id: 'h', type: 'http', ...step }] }));
  return {
    run: { id: RUN_ID, data } as unknown as Run, workflow: compiled, step: compiled.steps.get('h')!, seq: 2, attempt: 1,
    now: () => o.now ?? T0, http, record: o.record ?? null, selfCallback: o.selfCallback,
    scope: { data, vars: { run: { id: RUN_ID, callback_url: 'https://flowgate.test/v1/callbacks/tok123' }, steps: {}, secrets: o.secrets ?? {}, error: null } },
    children: { start: async () => { throw new Error('no children'); } },
  };
}

/** The record the engine keeps after a `sleep` outcome (what resume receives). */
function parkedRecord(out: Outcome): StepRecord {
  assert.equal(out.kind, 'sleep');
  if (out.kind !== 'sleep') throw new Error('not parked');
  return {
    run_id: RUN_ID, seq: 2, step_id: 'h', type: 'http', name: null, status: 'waiting', attempts: [],
    input: out.input ?? null, output: out.output ?? null, error: null, started_at: T0, finished_at: null,
  };
}

describe('follow_async', () => {
  const step = {
    method: 'POST', url: 'https://api.example.com/jobs', headers: { Authorization: 'Bearer t' }, body: { a: 1 },
    follow_async: { timeout: '1m' }, save_as: 'job',
  };

  test('a 202 with Location parks until Retry-After, keeping the absolute Location on the record', async () => {
    const http = new FakeHttp([answer(202, { id: 'j1' }, { location: '/jobs/j1', 'retry-after': '5' })]);
    const out = await httpStep.execute(ctxFor(step, {}, http));
    assert.equal(out.kind, 'sleep');
    if (out.kind !== 'sleep') return;
    assert.equal(out.until, T0 + 5000);
    const follow = (out.output as JsonObject).follow as JsonObject;
    assert.deepEqual(follow, { location: 'https://api.example.com/jobs/j1', deadline: T0 + 60_000, polls: 0, failures: 0, interval: 0 });
    assert.equal((out.attempt?.response as JsonObject).status, 202);
  });

  test('resume polls the Location with the execution key and step headers, and the final answer settles the step', async () => {
    const first = await httpStep.execute(ctxFor(step, {}, new FakeHttp([answer(202, {}, { location: '/jobs/j1' })])));
    assert.equal(first.kind === 'sleep' && first.until, T0 + 1000, 'without Retry-After the first poll comes after 1 s');
    const http = new FakeHttp([answer(202, {}, { location: 'https://api.example.com/jobs/j1' }), answer(200, { done: true })]);
    const second = await httpStep.resume!(ctxFor(step, {}, http, { now: T0 + 1000, record: parkedRecord(first) }), { kind: 'timer' });
    assert.equal(second.kind === 'sleep' && second.until, T0 + 1000 + 2000, 'the interval doubles without Retry-After');
    const third = await httpStep.resume!(ctxFor(step, { x: 1 }, http, { now: T0 + 3000, record: parkedRecord(second) }), { kind: 'timer' });
    assert.equal(third.kind, 'continue');
    assert.deepEqual(third.kind === 'continue' && third.data, { x: 1, job: { status: 200, headers: { 'content-type': 'application/json' }, body: { done: true } } });
    for (const r of http.requests) {
      assert.equal(r.method, 'GET');
      assert.equal(r.body, undefined);
      assert.equal(r.headers.authorization, 'Bearer t');
      assert.equal(r.headers['content-type'], undefined);
      assert.match(r.headers['idempotency-key'], /^[0-9a-f-]{36}$/);
    }
  });

  test('a Location on another origin gets no credentials', async () => {
    const first = await httpStep.execute(ctxFor(step, {}, new FakeHttp([answer(202, {}, { location: 'https://status.example.net/j1' })])));
    const http = new FakeHttp([answer(200, {})]);
    await httpStep.resume!(ctxFor(step, {}, http, { now: T0 + 1000, record: parkedRecord(first) }), { kind: 'timer' });
    assert.equal(http.requests[0].url, 'https://status.example.net/j1');
    assert.equal(http.requests[0].headers.authorization, undefined);
  });

  test('still 202 at the deadline: async_timeout', async () => {
    const first = await httpStep.execute(ctxFor(step, {}, new FakeHttp([answer(202, {}, { location: '/j', 'retry-after': '3600' })])));
    assert.equal(first.kind === 'sleep' && first.until, T0 + 60_000, 'a poll never waits past the deadline');
    const out = await httpStep.resume!(ctxFor(step, {}, new FakeHttp([answer(202, {}, { location: '/j' })]), { now: T0 + 60_000, record: parkedRecord(first) }), { kind: 'timer' });
    assert.equal(out.kind === 'fail' && out.error.code, 'async_timeout');
  });

  test('transient poll failures are polled again, a few times, then fail', async () => {
    let out = await httpStep.execute(ctxFor(step, {}, new FakeHttp([answer(202, {}, { location: '/j' })])));
    const down = new HttpFailure('network', 'ECONNRESET');
    for (let i = 0; i < 2; i++) {
      out = await httpStep.resume!(ctxFor(step, {}, new FakeHttp([down]), { now: T0 + 1000 * (i + 1), record: parkedRecord(out) }), { kind: 'timer' });
      assert.equal(out.kind, 'sleep', `failure ${i + 1} is polled again`);
      assert.equal((out.kind === 'sleep' && out.attempt?.error?.class), 'network');
    }
    out = await httpStep.resume!(ctxFor(step, {}, new FakeHttp([answer(503)]), { now: T0 + 5000, record: parkedRecord(out) }), { kind: 'timer' });
    assert.equal(out.kind === 'fail' && out.error.code, 'http_status', 'the third failure in a row ends it');
  });

  test('a wake-up without follow state fails clearly', async () => {
    const out = await httpStep.resume!(ctxFor(step, {}, new FakeHttp([])), { kind: 'timer' });
    assert.equal(out.kind === 'fail' && out.error.code, 'follow_state_lost');
  });
});

describe('requests', () => {
  test('a POST to the run\'s own callback URL goes to selfCallback with the body as data, not to the network', async () => {
    const got: JsonObject[] = [];
    const http = new FakeHttp([]);
    const out = await httpStep.execute(ctxFor({ method: 'POST', url: '{{ $run.callback_url }}', body: { answer: '{{ n }}' }, save_as: 'r' }, { n: 7 }, http, {
      selfCallback: async (body) => (got.push(body), { status: 202, body: { accepted: 'replied' } }),
    }));
    assert.deepEqual(got, [{ answer: 7 }]);
    assert.equal(http.requests.length, 0);
    assert.equal(out.kind, 'continue');
    assert.equal(((out.kind === 'continue' && out.attempt?.request) as JsonObject).internal, true);
    // A GET, or another URL, is an ordinary request.
    const http2 = new FakeHttp([answer(200)]);
    await httpStep.execute(ctxFor({ url: '{{ $run.callback_url }}' }, {}, http2, { selfCallback: async () => assert.fail('GET is not a callback') }));
    assert.equal(http2.requests.length, 1);
  });

  test('connect timeout defaults to 10 s and never exceeds the timeout; expecting a 3xx turns redirects off', async () => {
    const http = new FakeHttp([answer(200), answer(200), answer(302)]);
    await httpStep.execute(ctxFor({ url: 'https://a.example/' }, {}, http));
    await httpStep.execute(ctxFor({ url: 'https://a.example/', timeout: '2s', connect_timeout: '5s' }, {}, http));
    await httpStep.execute(ctxFor({ url: 'https://a.example/', expect: [200, '300-399'] }, {}, http));
    assert.deepEqual(http.requests.map((r) => [r.timeoutMs, r.connectTimeoutMs, r.followRedirects]), [[30_000, 10_000, true], [2000, 2000, true], [30_000, 10_000, false]]);
  });

  test('format: xml', async () => {
    assert.equal(xmlBody({ task: { a: 1, b: [1, 2] } }), '<?xml version="1.0" encoding="UTF-8"?><task><a>1</a><b>1</b><b>2</b></task>');
    assert.equal(xmlBody({ a: 1, b: 2 }), '<?xml version="1.0" encoding="UTF-8"?><root><a>1</a><b>2</b></root>');
    assert.equal(xmlBody('<raw/>'), '<raw/>');
    const http = new FakeHttp([answer(200)]);
    await httpStep.execute(ctxFor({ method: 'POST', url: 'https://a.example/', format: 'xml', body: { t: { v: '{{ v }}' } } }, { v: 'x&y' }, http));
    assert.equal(http.requests[0].body, '<?xml version="1.0" encoding="UTF-8"?><t><v>x&amp;y</v></t>');
    assert.equal(http.requests[0].headers['content-type'], 'application/xml; charset=utf-8');
  });

  test('signing adds the scheme\'s headers; the recorded request redacts credentials', async () => {
    const http = new FakeHttp([answer(200)]);
    const out = await httpStep.execute(ctxFor({
      method: 'POST', url: 'https://a.example/', headers: { Authorization: 'Bearer {{ $secrets.k }}' }, body: { a: 1 }, secret: '{{ $secrets.s }}',
    }, {}, http, { secrets: { k: 'tok', s: 'whsec_c2VjcmV0' } }));
    const sent = http.requests[0].headers;
    assert.equal(sent.authorization, 'Bearer tok');
    assert.equal(sent['webhook-id'], sent['idempotency-key']);
    assert.match(sent['webhook-signature'], /^v1,/);
    assert.equal(sent['webhook-timestamp'], String(T0 / 1000));
    const recorded = (out.kind === 'continue' && out.attempt?.request) as JsonObject;
    assert.equal((recorded.headers as JsonObject).authorization, 'Bearer [redacted]');
  });

  test('a bad URL or an empty secret fails with a clear code', async () => {
    await assert.rejects(httpStep.execute(ctxFor({ url: '{{ u }}' }, { u: 'not a url' }, new FakeHttp([]))), /bad_url|not an absolute URL/);
    await assert.rejects(httpStep.execute(ctxFor({ url: '{{ u }}' }, { u: 'ftp://x/' }, new FakeHttp([]))), /http or https/);
    await assert.rejects(httpStep.execute(ctxFor({ url: 'https://a.example/', secret: '{{ $secrets.none }}' }, {}, new FakeHttp([]))), (e: any) => e.code === 'missing_secret');
  });
});
