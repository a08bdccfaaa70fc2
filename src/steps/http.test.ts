/**
 * The http step against a fake HttpPort: templates, idempotency headers, expect, save_as/merge,
 * and the retry policy (`nextAttemptAt`, Retry-After). No sockets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileWorkflow } from '../core/definition.js';
import type { JsonObject, Run } from '../core/types.js';
import { decodeBody, httpStep, nextAttemptAt, stepExecutionKey } from './http.js';
import type { HttpPort, HttpResponse, Outcome, StepContext } from './types.js';
import { FakeHttp, T0, testWorkflow } from '../../test/helpers/steps.js';

const RUN_ID = '01900000-0000-7000-8000-000000000001';

const answer = (status: number, body: unknown = '', headers: Record<string, string> = {}): HttpResponse => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    status, body: Buffer.from(text), truncated: false,
    headers: typeof body === 'string' ? headers : { 'content-type': 'application/json', ...headers },
  };
};

function ctxFor(step: Record<string, unknown>, data: JsonObject, http: HttpPort, opts: { attempt?: number; seq?: number; now?: number } = {}): StepContext {
  const compiled = compileWorkflow(testWorkflow({ steps: [{ id: 'h', type: 'http', ...step }] }));
  const s = compiled.steps.get('h')!;
  const now = opts.now ?? T0;
  return {
    run: { id: RUN_ID, data } as unknown as Run, workflow: compiled, step: s, seq: opts.seq ?? 3, attempt: opts.attempt ?? 1,
    now: () => now, http,
    scope: { data, vars: { run: { id: RUN_ID, callback_url: 'https://flowgate.test/v1/callbacks/tok' }, steps: {}, secrets: {}, error: null } },
    children: { start: async () => { throw new Error('no child runs in this test'); } }, record: null,
  } as StepContext;
}

const run = (step: Record<string, unknown>, data: JsonObject, http: HttpPort, opts?: { attempt?: number; seq?: number; now?: number }): Promise<Outcome> =>
  httpStep.execute(ctxFor(step, data, http, opts));

describe('http: the request', () => {
  test('url, query, headers and JSON body come from templates; idempotency headers are the execution key', async () => {
    const http = new FakeHttp([answer(200, { ok: true })]);
    await run({
      method: 'POST', url: 'https://api.example.com/loans/{{ id }}',
      query: { page: '{{ page }}', skip: null, tag: 'x y' },
      headers: { 'X-Trace': 'run-{{ $run.id }}', Accept: 'application/json' },
      body: { amount: '{{ amount }}', cb: '{{ $run.callback_url }}' },
    }, { id: 'L1', page: 2, amount: 10 }, http);
    const req = http.requests[0];
    assert.equal(req.method, 'POST');
    assert.equal(req.url, 'https://api.example.com/loans/L1?page=2&tag=x+y');
    assert.equal(req.headers['x-trace'], `run-${RUN_ID}`);
    assert.equal(req.headers.accept, 'application/json');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(String(req.body)), { amount: 10, cb: 'https://flowgate.test/v1/callbacks/tok' });
    const key = stepExecutionKey(RUN_ID, 3);
    assert.equal(req.headers['idempotency-key'], key);
    assert.equal(req.headers['x-http-task-guid'], key);
    assert.equal(req.timeoutMs, 30_000);
    assert.equal(req.tlsVerify, true);
  });

  test('GET sends no body; method defaults to GET; form and raw bodies', async () => {
    const http = new FakeHttp([answer(200), answer(200), answer(200)]);
    await run({ url: 'https://a.example/x', body: { a: 1 } }, {}, http);
    assert.equal(http.requests[0].method, 'GET');
    assert.equal(http.requests[0].body, undefined);
    await run({ method: 'POST', url: 'https://a.example/x', format: 'form', body: { a: 'b c', n: 1 } }, {}, http);
    assert.equal(http.requests[1].body, 'a=b+c&n=1');
    assert.equal(http.requests[1].headers['content-type'], 'application/x-www-form-urlencoded');
    await run({ method: 'PUT', url: 'https://a.example/x', body: 'hello {{ who }}', timeout: '2s', tls_verify: false }, { who: 'w' }, http);
    assert.equal(http.requests[2].body, 'hello w');
    assert.equal(http.requests[2].headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(http.requests[2].timeoutMs, 2000);
    assert.equal(http.requests[2].tlsVerify, false);
  });

  test('the execution key is the same on every attempt and differs per step execution', async () => {
    const http = new FakeHttp([answer(200), answer(200), answer(200)]);
    await run({ url: 'https://a.example/' }, {}, http, { seq: 5, attempt: 1 });
    await run({ url: 'https://a.example/' }, {}, http, { seq: 5, attempt: 2 });
    await run({ url: 'https://a.example/' }, {}, http, { seq: 6, attempt: 1 });
    const keys = http.requests.map((r) => r.headers['idempotency-key']);
    assert.equal(keys[0], keys[1]);
    assert.notEqual(keys[0], keys[2]);
    assert.match(keys[0], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(stepExecutionKey(RUN_ID, 5), keys[0], 'stable across processes: a pure function of run id and seq');
    assert.notEqual(stepExecutionKey('other-run', 5), keys[0]);
  });

  test('a caller-given Idempotency-Key header is kept', async () => {
    const http = new FakeHttp([answer(200)]);
    await run({ url: 'https://a.example/', headers: { 'Idempotency-Key': 'mine-{{ k }}' } }, { k: 1 }, http);
    assert.equal(http.requests[0].headers['idempotency-key'], 'mine-1');
  });
});

describe('http: the answer', () => {
  test('2xx continues with the response as output; data unchanged without save_as/merge', async () => {
    const out = await run({ url: 'https://a.example/' }, { a: 1 }, new FakeHttp([answer(201, { id: 7 })]));
    assert.equal(out.kind, 'continue');
    if (out.kind !== 'continue') return;
    assert.deepEqual(out.data, { a: 1 });
    assert.deepEqual(out.output, { status: 201, headers: { 'content-type': 'application/json' }, body: { id: 7 } });
    assert.equal((out.attempt?.response as JsonObject).status, 201);
    assert.equal((out.attempt?.request as JsonObject).method, 'GET');
  });

  test('save_as stores { status, headers, body }; merge merges a JSON object body', async () => {
    const saved = await run({ url: 'https://a.example/', save_as: 'review' }, { a: 1 }, new FakeHttp([answer(200, { score: 9 })]));
    assert.deepEqual(saved.kind === 'continue' && saved.data, { a: 1, review: { status: 200, headers: { 'content-type': 'application/json' }, body: { score: 9 } } });
    const merged = await run({ url: 'https://a.example/', merge: true }, { a: 1, score: 0 }, new FakeHttp([answer(200, { score: 9, b: 'x' })]));
    assert.deepEqual(merged.kind === 'continue' && merged.data, { a: 1, score: 9, b: 'x' });
    const notObject = await run({ url: 'https://a.example/', merge: true }, { a: 1 }, new FakeHttp([answer(200, [1, 2])]));
    assert.deepEqual(notObject.kind === 'continue' && notObject.data, { a: 1 });
  });

  test('a status outside expect fails with http_status (no retry policy: one attempt)', async () => {
    const out = await run({ url: 'https://a.example/p' }, {}, new FakeHttp([answer(503, 'down')]));
    assert.equal(out.kind, 'fail');
    if (out.kind !== 'fail') return;
    assert.equal(out.error.code, 'http_status');
    assert.match(out.error.message, /503/);
    assert.deepEqual(out.output, { status: 503, headers: {}, body: 'down' });
    assert.equal(out.attempt?.error?.class, 'status_503');
  });

  test('expect: a list of statuses and ranges', async () => {
    const step = { url: 'https://a.example/', expect: [404, '200-299'] };
    assert.equal((await run(step, {}, new FakeHttp([answer(404)]))).kind, 'continue');
    assert.equal((await run(step, {}, new FakeHttp([answer(204)]))).kind, 'continue');
    assert.equal((await run(step, {}, new FakeHttp([answer(400)]))).kind, 'fail');
  });

  test('expect: a single status or range (not in a list) is honoured too', async () => {
    assert.equal((await run({ url: 'https://a.example/', expect: 404 }, {}, new FakeHttp([answer(404)]))).kind, 'continue');
    assert.equal((await run({ url: 'https://a.example/', expect: 404 }, {}, new FakeHttp([answer(200)]))).kind, 'fail');
    assert.equal((await run({ url: 'https://a.example/', expect: '300-399' }, {}, new FakeHttp([answer(302)]))).kind, 'continue');
    assert.equal((await run({ url: 'https://a.example/', expect: '300-399' }, {}, new FakeHttp([answer(200)]))).kind, 'fail');
  });

  test('a network error fails with its code, or asks for a retry under a policy', async () => {
    const refused = Object.assign(new Error('ECONNREFUSED'), { code: 'network' });
    const once = await run({ url: 'https://a.example/' }, {}, new FakeHttp([refused]));
    assert.equal(once.kind === 'fail' && once.error.code, 'network');
    const retried = await run({ url: 'https://a.example/', retry: { max_attempts: 3 } }, {}, new FakeHttp([refused]));
    assert.equal(retried.kind, 'retry');
    assert.ok(retried.kind === 'retry' && retried.at >= T0 + 1000 && retried.at <= T0 + 1200);
    const tls = Object.assign(new Error('bad cert'), { code: 'tls', retryable: false });
    const never = await run({ url: 'https://a.example/', retry: { max_attempts: 3 } }, {}, new FakeHttp([tls]));
    assert.equal(never.kind === 'fail' && never.error.code, 'tls', 'TLS failures are never retried');
  });

  test('5xx under a policy retries until max_attempts, then fails', async () => {
    const step = { url: 'https://a.example/', retry: { max_attempts: 2, initial: '100ms' } };
    const first = await run(step, {}, new FakeHttp([answer(502)]), { attempt: 1 });
    assert.equal(first.kind, 'retry');
    const last = await run(step, {}, new FakeHttp([answer(502)]), { attempt: 2 });
    assert.equal(last.kind, 'fail');
  });

  test('Retry-After on a 429 answer is honoured (seconds and HTTP date)', async () => {
    const step = { url: 'https://a.example/', retry: { max_attempts: 5, initial: '100ms' } };
    const secs = await run(step, {}, new FakeHttp([answer(429, '', { 'retry-after': '7' })]));
    assert.equal(secs.kind === 'retry' && secs.at, T0 + 7000);
    const date = new Date(T0 + 12_000).toUTCString();
    const dated = await run(step, {}, new FakeHttp([answer(503, '', { 'retry-after': date })]));
    assert.equal(dated.kind === 'retry' && dated.at, T0 + 12_000);
  });

  test('decodeBody: JSON by content type or shape, else text', () => {
    assert.deepEqual(decodeBody(answer(200, { a: 1 })), { a: 1 });
    assert.deepEqual(decodeBody({ status: 200, headers: {}, body: Buffer.from(' [1]'), truncated: false }), [1]);
    assert.equal(decodeBody({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{bad'), truncated: false }), '{bad');
    assert.equal(decodeBody({ status: 200, headers: {}, body: Buffer.from('plain'), truncated: false }), 'plain');
  });
});

describe('nextAttemptAt', () => {
  const within = (at: number | null, base: number): void => {
    assert.ok(at !== null, 'a retry');
    assert.ok(at >= T0 + base && at <= T0 + base * 1.2, `${at - T0} should be in [${base}, ${base * 1.2}] (jitter only adds)`);
  };

  test('no policy, or the last attempt: no retry', () => {
    assert.equal(nextAttemptAt(undefined, 1, { status: 503 }, T0), null);
    assert.equal(nextAttemptAt({}, 1, { status: 503 }, T0), null, 'max_attempts defaults to 1');
    assert.equal(nextAttemptAt({ max_attempts: 3 }, 3, { status: 503 }, T0), null);
  });

  test('exponential backoff from initial, capped by max', () => {
    const p = { max_attempts: 10, initial: '1s', max: '5s' };
    within(nextAttemptAt(p, 1, { status: 500 }, T0), 1000);
    within(nextAttemptAt(p, 2, { status: 500 }, T0), 2000);
    within(nextAttemptAt(p, 3, { status: 500 }, T0), 4000);
    within(nextAttemptAt(p, 4, { status: 500 }, T0), 5000);
    within(nextAttemptAt(p, 9, { status: 500 }, T0), 5000);
  });

  test('fixed backoff', () => {
    const p = { max_attempts: 10, backoff: 'fixed' as const, initial: '250ms' };
    within(nextAttemptAt(p, 1, { network: true }, T0), 250);
    within(nextAttemptAt(p, 5, { network: true }, T0), 250);
  });

  test('on: the default is network, 5xx and 429; a list narrows or names statuses', () => {
    const dflt = { max_attempts: 3 };
    assert.notEqual(nextAttemptAt(dflt, 1, { network: true }, T0), null);
    assert.notEqual(nextAttemptAt(dflt, 1, { status: 500 }, T0), null);
    assert.notEqual(nextAttemptAt(dflt, 1, { status: 429 }, T0), null);
    assert.equal(nextAttemptAt(dflt, 1, { status: 404 }, T0), null);
    assert.equal(nextAttemptAt(dflt, 1, { status: 400 }, T0), null);
    const only5xx = { max_attempts: 3, on: ['5xx'] };
    assert.equal(nextAttemptAt(only5xx, 1, { network: true }, T0), null);
    assert.equal(nextAttemptAt(only5xx, 1, { status: 429 }, T0), null);
    const named = { max_attempts: 3, on: [409, '404'] };
    assert.notEqual(nextAttemptAt(named, 1, { status: 409 }, T0), null);
    assert.notEqual(nextAttemptAt(named, 1, { status: 404 }, T0), null);
    assert.equal(nextAttemptAt(named, 1, { status: 500 }, T0), null);
  });

  test('a retry never comes before Retry-After; a shorter Retry-After does not shorten the backoff', () => {
    const p = { max_attempts: 3, initial: '1s' };
    assert.equal(nextAttemptAt(p, 1, { status: 429, retryAfterMs: 30_000 }, T0), T0 + 30_000);
    within(nextAttemptAt(p, 1, { status: 429, retryAfterMs: 10 }, T0), 1000);
  });
});
