/**
 * follow_async (docs/spec.md §6): a 202 + Location (+ Retry-After) is polled as a durable wait until a
 * non-202 answer, which is what expect, save_as and merge see; an overall deadline ends it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { workflowTools } from '../helpers/workflows.js';
import { json, startLocalTarget, type LocalTarget } from './targets.js';

let s: TestServer;
let target: LocalTarget;
const jobs = new Map<string, number>();

before(async () => {
  s = await startTestServer({ FLOWGATE_HTTP_ALLOW: '127.0.0.1' });
  target = await startLocalTarget((r, res) => {
    const [path, query] = r.url.split('?');
    const q = new URLSearchParams(query);
    if (path === '/jobs' && r.method === 'POST') {
      const id = `j${jobs.size + 1}`;
      jobs.set(id, 0);
      // A relative Location first; the status document then names an absolute one.
      return json(res, 202, { id, status: 'queued' }, { location: `/jobs/${id}/status?polls=${q.get('polls') ?? '2'}`, 'retry-after': q.get('wait') ?? '0' });
    }
    const m = /^\/jobs\/(j\d+)\/status$/.exec(path);
    if (m) {
      const n = (jobs.get(m[1]) ?? 0) + 1;
      jobs.set(m[1], n);
      if (n < Number(q.get('polls'))) return json(res, 202, { id: m[1], status: 'running', n }, { location: `${target.url}${r.url}`, 'retry-after': '0' });
      return json(res, 200, { id: m[1], status: 'done', result: 42, polls: n });
    }
    if (path === '/forever') return json(res, 202, { status: 'running' }, { location: '/forever', 'retry-after': '0' });
    if (path === '/fails-later') return json(res, 202, {}, { location: '/broken' });
    if (path === '/broken') return json(res, 404, { error: 'gone' });
    if (path === '/no-location') return json(res, 202, { accepted: true });
    json(res, 404, {});
  });
});
after(async () => {
  await s.close();
  await target.close();
});

const { put, stepsOf } = workflowTools(() => s);

test('a 202 chain is followed (relative and absolute Location) until the final answer, which save_as and merge see', async () => {
  await put('follows', `id: follows
steps:
  - id: start
    type: http
    method: POST
    url: ${target.url}/jobs?polls=3
    headers: { Authorization: "Bearer abc" }
    body: { work: true }
    follow_async: true
    save_as: job
    merge: true
`);
  const r = await s.trigger('follows', {}, 'wait=10');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.job.status, 200);
  assert.deepEqual(r.body.job.body, { id: r.body.id, status: 'done', result: 42, polls: 3 });
  assert.equal(r.body.result, 42, 'merge saw the final answer');
  const polls = target.requests.filter((g) => g.url.startsWith(`/jobs/${r.body.id}/status`));
  assert.equal(polls.length, 3);
  const first = target.requests.find((g) => g.url.startsWith('/jobs?'))!;
  for (const p of polls) {
    assert.equal(p.method, 'GET');
    assert.equal(p.headers['idempotency-key'], first.headers['idempotency-key'], 'polls carry the execution key');
    assert.equal(p.headers.authorization, 'Bearer abc', 'same-origin polls keep the step headers');
    assert.equal(p.headers['content-type'], undefined);
  }
  const [rec] = await stepsOf(r.headers.get('flowgate-run-id')!);
  assert.equal(rec.status, 'succeeded');
  assert.deepEqual(rec.attempts.map((a: any) => [a.request.method, a.response.status]), [['POST', 202], ['GET', 202], ['GET', 202], ['GET', 200]]);
  assert.equal(rec.output.status, 200);
  assert.equal(rec.output.follow, undefined, 'the final output is the answer, not the polling state');
});

test('between polls the run is parked (waiting) with the polling state on its step record', async () => {
  await put('follows-slowly', `id: follows-slowly
steps:
  - id: start
    type: http
    method: POST
    url: ${target.url}/jobs?polls=2&wait=1
    follow_async: { timeout: 1m }
`);
  const accepted = await s.trigger('follows-slowly', {});
  const id = accepted.body.id;
  const parked = await s.waitRun(id, (run) => run.status === 'waiting');
  assert.equal(parked.status, 'waiting');
  const [mid] = await stepsOf(id);
  assert.equal(mid.status, 'waiting');
  assert.equal(mid.output.status, 202);
  assert.match(mid.output.follow.location, new RegExp(`^${target.url}/jobs/j\\d+/status\\?polls=2$`));
  assert.ok(Date.parse(mid.output.next_poll_at) - Date.parse(mid.attempts[0].finished_at) >= 990, 'Retry-After: 1 is honoured');
  const done = await s.waitRun(id);
  assert.equal(done.status, 'succeeded');
  const [rec] = await stepsOf(id);
  assert.equal(rec.attempts.length, 3);
});

test('the overall deadline ends a 202 chain that never finishes (class timeout)', async () => {
  await put('never-done', `id: never-done
steps:
  - id: start
    type: http
    url: ${target.url}/forever
    follow_async: { timeout: 1500ms }
`);
  const t0 = Date.now();
  const r = await s.trigger('never-done', {}, 'wait=10');
  const took = Date.now() - t0;
  assert.equal(r.status, 500, r.text);
  assert.equal(r.body.error.code, 'async_timeout');
  assert.ok(took >= 1400 && took < 5000, `gave up after ${took} ms`);
  const [rec] = await stepsOf(r.headers.get('flowgate-run-id')!);
  assert.equal(rec.attempts.at(-1).error.class, 'timeout');
  assert.ok(rec.attempts.length >= 2);
});

test('a non-202 final answer outside expect fails the step; a 202 without Location is a plain success', async () => {
  await put('fails-later', `id: fails-later
steps:
  - id: start
    type: http
    url: ${target.url}/fails-later
    follow_async: true
`);
  const r = await s.trigger('fails-later', {}, 'wait=10');
  assert.equal(r.status, 500, r.text);
  assert.equal(r.body.error.code, 'http_status');
  assert.match(r.body.error.message, /404/);

  await put('no-location', `id: no-location
steps:
  - id: start
    type: http
    url: ${target.url}/no-location
    follow_async: true
    save_as: resp
`);
  const ok = await s.trigger('no-location', {}, 'wait=5');
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.resp.status, 202);
});

test('without follow_async a 202 is the answer', async () => {
  await put('no-follow', `id: no-follow
steps:
  - id: start
    type: http
    method: POST
    url: ${target.url}/jobs
    save_as: resp
`);
  const r = await s.trigger('no-follow', {}, 'wait=5');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.resp.status, 202);
  assert.match(r.body.resp.headers.location, /^\/jobs\/j\d+\/status/);
});
