/**
 * Retries of the http step over a real server (docs/spec.md §6, §8.12): chosen statuses, backoff shapes,
 * Retry-After as an HTTP date, network failures, parked state between attempts, and the failures
 * that are never retried (SSRF refusals).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, until, type TestServer } from '../helpers/server.js';
import { closedPort } from '../helpers/net.js';
import { workflowTools } from '../helpers/workflows.js';
import { json, startLocalTarget, type LocalTarget } from './targets.js';

let s: TestServer;
let target: LocalTarget;
const counters = new Map<string, number>();
const bump = (k: string): number => {
  const n = (counters.get(k) ?? 0) + 1;
  counters.set(k, n);
  return n;
};

before(async () => {
  s = await startTestServer({ FLOWGATE_HTTP_ALLOW: '127.0.0.1' });
  target = await startLocalTarget((r, res) => {
    const path = r.url.split('?')[0];
    const n = bump(path);
    if (path === '/conflict') return n < 3 ? json(res, 409, { n }) : json(res, 200, { n });
    if (path === '/down') return json(res, 503, { n });
    if (path === '/always-500') return json(res, 500, { n });
    if (path === '/dated') {
      if (n === 1) return json(res, 503, { n }, { 'retry-after': new Date(Date.now() + 2000).toUTCString() });
      return json(res, 200, { n });
    }
    if (path === '/slow-down') return n === 1 ? json(res, 429, { n }, { 'retry-after': '2' }) : json(res, 200, { n });
    json(res, 200, { n });
  });
});
after(async () => {
  await s.close();
  await target.close();
});

const { put, stepsOf } = workflowTools(() => s);
const gaps = (attempts: any[]): number[] => attempts.slice(1).map((a, i) => Date.parse(a.started_at) - Date.parse(attempts[i].finished_at));

test('retry.on may name statuses: 409 is retried when listed, 503 is then not', async () => {
  await put('on-409', `id: on-409
steps:
  - id: call
    type: http
    url: ${target.url}/conflict
    retry: { max_attempts: 5, initial: 50ms, on: [409] }
`);
  await put('on-409-only', `id: on-409-only
steps:
  - id: call
    type: http
    url: ${target.url}/down
    retry: { max_attempts: 5, initial: 50ms, on: ["409"] }
`);
  const ok = await s.trigger('on-409', {}, 'wait=5');
  assert.equal(ok.status, 200, ok.text);
  const [rec] = await stepsOf(ok.headers.get('flowgate-run-id')!);
  assert.deepEqual(rec.attempts.map((a: any) => a.response.status), [409, 409, 200]);
  assert.deepEqual(rec.attempts.map((a: any) => a.error?.class ?? null), ['status_409', 'status_409', null]);
  const no = await s.trigger('on-409-only', {}, 'wait=5');
  assert.equal(no.status, 500);
  assert.equal((await stepsOf(no.headers.get('flowgate-run-id')!))[0].attempts.length, 1);
});

test('exponential backoff doubles from initial; fixed keeps it; jitter only adds', async () => {
  await put('expo', `id: expo
steps:
  - id: call
    type: http
    url: ${target.url}/always-500
    retry: { max_attempts: 4, initial: 150ms, backoff: exponential }
`);
  await put('fixed', `id: fixed
steps:
  - id: call
    type: http
    url: ${target.url}/always-500
    retry: { max_attempts: 4, initial: 150ms, backoff: fixed }
`);
  const [e, f] = await Promise.all([s.trigger('expo', {}, 'wait=10'), s.trigger('fixed', {}, 'wait=10')]);
  assert.equal(e.status, 500);
  assert.equal(f.status, 500);
  const eg = gaps((await stepsOf(e.headers.get('flowgate-run-id')!))[0].attempts);
  const fg = gaps((await stepsOf(f.headers.get('flowgate-run-id')!))[0].attempts);
  assert.equal(eg.length, 3);
  [150, 300, 600].forEach((base, i) => assert.ok(eg[i] >= base - 5 && eg[i] < base * 1.2 + 400, `exponential gap ${i}: ${eg[i]} ms for ${base}`));
  fg.forEach((g, i) => assert.ok(g >= 145 && g < 150 * 1.2 + 400, `fixed gap ${i}: ${g} ms`));
});

test('Retry-After as an HTTP date is honoured, never earlier; the run waits parked in between', async () => {
  await put('dated', `id: dated
steps:
  - id: call
    type: http
    url: ${target.url}/dated
    retry: { max_attempts: 2, initial: 10ms }
`);
  const accepted = await s.trigger('dated', {});
  assert.equal(accepted.status, 202, accepted.text);
  const id = accepted.body.id;
  const parked = await s.waitRun(id, (r) => r.status === 'waiting');
  assert.equal(parked.status, 'waiting');
  const [mid] = await stepsOf(id);
  assert.equal(mid.status, 'waiting');
  assert.equal(mid.attempts.length, 1);
  assert.equal(mid.attempts[0].error.class, 'status_503');
  const done = await s.waitRun(id);
  assert.equal(done.status, 'succeeded');
  const [rec] = await stepsOf(id);
  const asked = Date.parse(rec.attempts[0].response.headers['retry-after']);
  assert.ok(Date.parse(rec.attempts[1].started_at) >= asked, 'the second attempt started at or after the date');
});

test('429 with Retry-After seconds waits that long even when the backoff is shorter', async () => {
  await put('slow-down', `id: slow-down
steps:
  - id: call
    type: http
    url: ${target.url}/slow-down
    retry: { max_attempts: 3, initial: 10ms }
`);
  const r = await s.trigger('slow-down', {}, 'wait=10');
  assert.equal(r.status, 200, r.text);
  const [rec] = await stepsOf(r.headers.get('flowgate-run-id')!);
  assert.ok(gaps(rec.attempts)[0] >= 1990, `gap ${gaps(rec.attempts)[0]} ms`);
});

test('network failures retry under the default on list, up to max_attempts', async () => {
  const closed = await closedPort();
  await put('unreachable', `id: unreachable
steps:
  - id: call
    type: http
    url: http://127.0.0.1:${closed}/
    retry: { max_attempts: 3, initial: 20ms }
`);
  const r = await s.trigger('unreachable', {}, 'wait=5');
  assert.equal(r.status, 500);
  const [rec] = await stepsOf(r.headers.get('flowgate-run-id')!);
  assert.deepEqual(rec.attempts.map((a: any) => a.error.class), ['network', 'network', 'network']);
});

test('SSRF refusals are never retried, whatever the policy', async () => {
  const bare = await startTestServer({ FLOWGATE_HTTP_ALLOW: '' });
  try {
    await bare.putWorkflow('guarded', `id: guarded
steps:
  - id: call
    type: http
    url: ${target.url}/guarded
    retry: { max_attempts: 5, initial: 10ms, on: [network, 5xx, 429] }
`);
    const r = await bare.trigger('guarded', {}, 'wait=5');
    assert.equal(r.status, 500, r.text);
    assert.equal(r.body.error.code, 'ssrf');
    const steps = (await bare.call('GET', `/v1/runs/${r.headers.get('flowgate-run-id')}/steps`)).body.items;
    assert.equal(steps[0].attempts.length, 1);
    assert.equal(steps[0].attempts[0].error.class, 'ssrf');
    assert.equal(target.to('/guarded').length, 0);
  } finally {
    await bare.close();
  }
});

test('without retry there is exactly one attempt', async () => {
  await put('once', `id: once
steps:
  - id: call
    type: http
    url: ${target.url}/always-500
`);
  const before = target.to('/always-500').length;
  const r = await s.trigger('once', {}, 'wait=5');
  assert.equal(r.status, 500);
  await until(async () => target.to('/always-500').length > before, 'the one attempt');
  assert.equal(target.to('/always-500').length, before + 1);
});
