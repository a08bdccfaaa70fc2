/**
 * Result delivery through the real server (docs/spec.md §4 `?callback_url=`, §8.13): a run's result is
 * POSTed to a local target when it ends, signed with the tenant's webhook secret (verified with the
 * official `standardwebhooks` package, not Flowgate's own code), retried on 5xx / 429 / network
 * failures, each attempt visible at GET /v1/runs/{id}/deliveries.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { reply, startTarget, startTestServer, sleep, until, type Received, type Target, type TestServer } from '../helpers/server.js';

const ENV = {
  FLOWGATE_HTTP_ALLOW: '127.0.0.1',
  FLOWGATE_DELIVERY_BACKOFF_MS: '100',
  FLOWGATE_DELIVERY_MAX_BACKOFF_MS: '400',
  FLOWGATE_DELIVERY_MAX_ATTEMPTS: '4',
};

const ANSWERING = `
steps:
  - id: calc
    type: set
    set: { total: "{{ amount * 2 }}" }
  - id: answer
    type: reply
    data: { total: "{{ total }}" }
`;

const SILENT = `
steps:
  - id: calc
    type: set
    set: { total: "{{ amount * 2 }}" }
`;

const FAILING = `
steps:
  - id: boom
    type: end
    status: failed
    error: "amount {{ amount }} refused"
`;

const PARKED = `
steps:
  - id: hold
    type: wait
    timeout: 1h
`;

function verify(secret: string, got: Received): unknown {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(got.headers)) if (typeof v === 'string') headers[k] = v;
  return new Webhook(secret).verify(got.body, headers);
}

describe('result delivery to callback_url', () => {
  let srv: TestServer;
  let target: Target;
  /** Status answered per request path: a list is consumed in order, its last entry then repeats. */
  const plan = new Map<string, { status: number; headers?: Record<string, string> }[]>();

  before(async () => {
    srv = await startTestServer(ENV);
    target = await startTarget((req, res) => {
      const path = req.url.split('?')[0];
      const steps = plan.get(path) ?? [{ status: 200 }];
      const step = steps.length > 1 ? steps.shift()! : steps[0];
      reply(res, step.status, { received: true }, step.headers);
    });
    for (const [id, def] of [['answering', ANSWERING], ['silent', SILENT], ['failing', FAILING], ['parked', PARKED]]) {
      const r = await srv.putWorkflow(id, def);
      assert.equal(r.status, 201, r.text);
    }
  });
  after(async () => {
    await srv?.close();
    await target?.close();
  });

  const requestsTo = (path: string): Received[] => target.requests.filter((r) => r.url.split('?')[0] === path);
  const deliveries = async (runId: string): Promise<any[]> => {
    const r = await srv.call('GET', `/v1/runs/${runId}/deliveries`);
    assert.equal(r.status, 200, r.text);
    return r.body.items;
  };
  const settledDelivery = (runId: string): Promise<any> =>
    until(async () => {
      const [d] = await deliveries(runId);
      return d && d.status !== 'pending' ? d : undefined;
    }, `the delivery of run ${runId} to finish`, 15_000);

  it('POSTs { run_id, workflow, status, result } signed with the tenant secret, verifiable with standardwebhooks', async () => {
    const secret = await srv.call('GET', '/v1/webhook-secret');
    assert.equal(secret.status, 200, secret.text);
    assert.match(secret.body.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.ok(Buffer.from(secret.body.secret.slice(6), 'base64').length >= 24);
    assert.deepEqual(await srv.call('GET', '/v1/webhook-secret').then((r) => r.body.secret), secret.body.secret, 'stable until rotated');

    const trig = await srv.trigger('answering', { amount: 21 }, `callback_url=${encodeURIComponent(`${target.url}/hooks/answer?x=1`)}`);
    assert.equal(trig.status, 202, trig.text);
    const runId = trig.body.id;
    const d = await settledDelivery(runId);
    assert.equal(d.status, 'delivered');

    const [got] = requestsTo('/hooks/answer');
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/hooks/answer?x=1', 'the URL is used as given, query included');
    assert.match(String(got.headers['content-type']), /application\/json/);
    const payload = verify(secret.body.secret, got);
    assert.deepEqual(payload, { run_id: runId, workflow: 'answering', status: 'succeeded', result: { total: 42 } });
    assert.equal(got.headers['webhook-id'], d.id);
    assert.ok(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000) < 30);
    // A forged body does not verify.
    assert.throws(() => verify(secret.body.secret, { ...got, body: got.body.replace('42', '43') }));

    const run = await srv.call('GET', `/v1/runs/${runId}`);
    assert.equal(run.body.result_url, `${target.url}/hooks/answer?x=1`);
    assert.equal(d.attempts.length, 1);
    const [a] = d.attempts;
    assert.equal(a.n, 1);
    assert.equal(a.status, 200);
    assert.equal(a.error, null);
    assert.equal(a.request.method, 'POST');
    assert.equal(a.request.headers['webhook-id'], d.id);
    assert.ok(!JSON.stringify(a).includes(secret.body.secret) && !JSON.stringify(a).includes(secret.body.secret.slice(6)), 'no secret in the attempt log');
    assert.deepEqual(a.response.body, '{"received":true}');
    assert.equal(typeof a.duration_ms, 'number');
  });

  it('the result of a run that did not reply is its final data; of a failed run, its error', async () => {
    const secret = (await srv.call('GET', '/v1/webhook-secret')).body.secret;
    const ok = await srv.trigger('silent', { amount: 5 }, `callback_url=${encodeURIComponent(`${target.url}/hooks/silent`)}`);
    const bad = await srv.trigger('failing', { amount: 7 }, `callback_url=${encodeURIComponent(`${target.url}/hooks/failing`)}`);
    await settledDelivery(ok.body.id);
    await settledDelivery(bad.body.id);
    assert.deepEqual(verify(secret, requestsTo('/hooks/silent')[0]), {
      run_id: ok.body.id, workflow: 'silent', status: 'succeeded', result: { amount: 5, total: 10 },
    });
    const failed = verify(secret, requestsTo('/hooks/failing')[0]) as any;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.result.message, 'amount 7 refused');
    assert.equal(failed.result.step, 'boom');
  });

  it('a cancelled run is delivered too', async () => {
    const secret = (await srv.call('GET', '/v1/webhook-secret')).body.secret;
    const trig = await srv.trigger('parked', {}, `callback_url=${encodeURIComponent(`${target.url}/hooks/cancelled`)}`);
    await srv.waitRun(trig.body.id, (r) => r.status === 'waiting');
    assert.equal(requestsTo('/hooks/cancelled').length, 0, 'nothing is delivered before the run ends');
    assert.equal((await srv.call('POST', `/v1/runs/${trig.body.id}/cancel`)).status, 200);
    await settledDelivery(trig.body.id);
    assert.deepEqual(verify(secret, requestsTo('/hooks/cancelled')[0]), { run_id: trig.body.id, workflow: 'parked', status: 'cancelled', result: null });
  });

  it('a target failing twice then succeeding gets 3 attempts with one webhook-id; Retry-After is honoured', async () => {
    plan.set('/hooks/flaky', [{ status: 503 }, { status: 429, headers: { 'retry-after': '1' } }, { status: 200 }]);
    const trig = await srv.trigger('answering', { amount: 1 }, `callback_url=${encodeURIComponent(`${target.url}/hooks/flaky`)}`);
    const d = await settledDelivery(trig.body.id);
    assert.equal(d.status, 'delivered');
    assert.deepEqual(d.attempts.map((a: any) => [a.n, a.status, a.error?.class ?? null]), [[1, 503, 'status_503'], [2, 429, 'status_429'], [3, 200, null]]);
    const got = requestsTo('/hooks/flaky');
    assert.equal(got.length, 3);
    assert.equal(new Set(got.map((r) => r.headers['webhook-id'])).size, 1, 'the same webhook-id on every attempt');
    assert.equal(new Set(got.map((r) => r.body)).size, 1, 'the same body on every attempt');
    const gap = Date.parse(d.attempts[2].started_at) - Date.parse(d.attempts[1].started_at);
    assert.ok(gap >= 1000, `the third attempt waited for Retry-After: 1 (${gap} ms)`);
  });

  it('a 4xx answer is not retried; 5xx stops after FLOWGATE_DELIVERY_MAX_ATTEMPTS', async () => {
    plan.set('/hooks/gone', [{ status: 410 }]);
    plan.set('/hooks/down', [{ status: 500 }]);
    const gone = await srv.trigger('answering', { amount: 1 }, `callback_url=${encodeURIComponent(`${target.url}/hooks/gone`)}`);
    const down = await srv.trigger('answering', { amount: 1 }, `callback_url=${encodeURIComponent(`${target.url}/hooks/down`)}`);
    const g = await settledDelivery(gone.body.id);
    const dn = await settledDelivery(down.body.id);
    assert.equal(g.status, 'failed');
    assert.equal(g.attempts.length, 1);
    assert.equal(dn.status, 'failed');
    assert.equal(dn.attempts.length, 4);
    assert.equal(requestsTo('/hooks/down').length, 4);
  });

  it('a network failure is retried and recorded with its class', async () => {
    const closed = await startTarget((_req, res) => reply(res, 200, {}));
    const url = `${closed.url}/hooks/nobody`;
    await closed.close();
    const trig = await srv.trigger('answering', { amount: 1 }, `callback_url=${encodeURIComponent(url)}`);
    const d = await settledDelivery(trig.body.id);
    assert.equal(d.status, 'failed');
    assert.equal(d.attempts.length, 4);
    for (const a of d.attempts) {
      assert.equal(a.status, null);
      assert.ok(a.error && a.error.class !== 'ssrf', JSON.stringify(a.error));
    }
  });

  it('rotating the secret: new deliveries verify with the new secret and, for a grace period, the old one', async () => {
    const old = (await srv.call('GET', '/v1/webhook-secret')).body.secret;
    const rotated = await srv.call('POST', '/v1/webhook-secret');
    assert.equal(rotated.status, 200, rotated.text);
    assert.notEqual(rotated.body.secret, old);
    assert.ok(rotated.body.rotated_at);
    assert.ok(Date.parse(rotated.body.previous_valid_until) > Date.now());
    const trig = await srv.trigger('answering', { amount: 2 }, `callback_url=${encodeURIComponent(`${target.url}/hooks/rotated`)}`);
    await settledDelivery(trig.body.id);
    const [got] = requestsTo('/hooks/rotated');
    assert.deepEqual(verify(rotated.body.secret, got), { run_id: trig.body.id, workflow: 'answering', status: 'succeeded', result: { total: 4 } });
    assert.ok(verify(old, got), 'the previous secret still verifies during the grace period');
  });

  it('each tenant has its own secret; only admins read or rotate it', async () => {
    const key = await srv.call('POST', '/v1/keys', { json: { name: 'reader', role: 'read', tenant: 'default' } });
    assert.equal((await srv.call('GET', '/v1/webhook-secret', { token: key.body.token })).status, 403);
    assert.equal((await srv.call('POST', '/v1/webhook-secret', { token: key.body.token })).status, 403);
    assert.equal((await srv.call('GET', '/v1/webhook-secret', { token: null })).status, 401);
    const mine = (await srv.call('GET', '/v1/webhook-secret')).body.secret;
    const acme = await srv.call('POST', '/v1/keys', { json: { name: 'acme-admin', role: 'admin', tenant: 'acme' } });
    assert.equal(acme.status, 201, acme.text);
    const theirs = (await srv.call('GET', '/v1/webhook-secret', { token: acme.body.token })).body.secret;
    assert.equal((await srv.call('GET', '/v1/webhook-secret', { tenant: 'acme' })).body.secret, theirs, 'the admin token acting on acme sees the same');
    assert.match(theirs, /^whsec_/);
    assert.notEqual(mine, theirs);
  });

  it('callback_url is checked at trigger time: 422 and nothing created', async () => {
    const before = await srv.runCount();
    for (const bad of ['ftp://example.com/x', '/relative/path', 'not a url', `https://example.com/${'x'.repeat(2100)}`, 'https://user:pw@example.com/hook']) {
      const r = await srv.trigger('answering', { amount: 1 }, `callback_url=${encodeURIComponent(bad)}`);
      assert.equal(r.status, 422, `${bad}: ${r.text}`);
      assert.equal(r.body.errors[0].path, 'callback_url');
    }
    assert.equal(await srv.runCount(), before);
  });

  it('deliveries of another tenant\'s run answer 404; a run without callback_url has none', async () => {
    const trig = await srv.trigger('answering', { amount: 1 }, '');
    await srv.waitRun(trig.body.id);
    await sleep(100);
    assert.deepEqual(await deliveries(trig.body.id), []);
    assert.equal((await srv.call('GET', `/v1/runs/${trig.body.id}/deliveries`, { tenant: 'acme' })).status, 404);
  });

  it('?wait and callback_url together: the caller gets the answer and the result is delivered as well', async () => {
    const trig = await srv.trigger('answering', { amount: 3 }, `wait=5&callback_url=${encodeURIComponent(`${target.url}/hooks/both`)}`);
    assert.equal(trig.status, 200, trig.text);
    assert.deepEqual(trig.body, { total: 6 });
    await settledDelivery(trig.headers.get('flowgate-run-id')!);
    assert.equal(requestsTo('/hooks/both').length, 1);
  });
});
