import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { json, problem, runCli, startFakeApi, type FakeApi } from './harness.js';

let api: FakeApi;
before(async () => {
  api = await startFakeApi();
});
after(() => api.close());

const ID = '0190a000-0000-7000-8000-0000000000aa';
const T0 = Date.parse('2025-03-01T12:00:00Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();
const run = (status: string, progress: number, extra: object = {}) => ({
  id: ID, workflow: 'loan-check', version: 3, status, progress, created_at: at(0), started_at: at(100),
  finished_at: ['succeeded', 'failed', 'cancelled'].includes(status) ? at(2600) : null, ...extra,
});
const step = (step_id: string, type: string, status: string, extra: object = {}) => ({
  step_id, type, name: null, status, attempts: [{ n: 1 }], started_at: at(200),
  finished_at: status === 'running' || status === 'waiting' ? null : at(212), error: null, ...extra,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens an SSE answer and sends the given events with a pause between them; the stream stays open unless `end`. */
function sse(events: { event?: string; id?: string; data: unknown }[], opts: { end?: boolean; gapMs?: number } = {}) {
  return async (_q: unknown, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': connected\n\n');
    for (const e of events) {
      await sleep(opts.gapMs ?? 5);
      res.write(`${e.event ? `event: ${e.event}\n` : ''}${e.id ? `id: ${e.id}\n` : ''}data: ${JSON.stringify(e.data)}\n\n`);
    }
    if (opts.end) res.end();
  };
}

const watch = (...extra: string[]) => runCli(['--url', api.url, '--token', 'tok', ...extra, 'runs', 'watch', ID]);
const eventsPath = `GET /v1/runs/${ID}/events`;

test('watch prints run and step changes and ends on a terminal status while the stream stays open', async () => {
  api.on(eventsPath, sse([
    { event: 'run', data: run('running', 0) },
    { event: 'step', data: step('check', 'condition', 'succeeded') },
    { event: 'step', data: step('manual', 'http', 'running') },
    { event: 'step', data: step('manual', 'http', 'running') },
    { event: 'run', data: run('running', 50) },
    { event: 'step', data: step('manual', 'http', 'succeeded', { attempts: [{ n: 1 }, { n: 2 }], finished_at: at(1300) }) },
    { event: 'run', data: run('succeeded', 100) },
  ]));
  const r = await watch();
  assert.equal(r.code, 0, r.stderr);
  const req = api.requests.find((q) => q.path === `/v1/runs/${ID}/events`);
  assert.equal(req?.headers.accept, 'text/event-stream');
  assert.equal(req?.headers.authorization, 'Bearer tok');
  const lines = r.stdout.trimEnd().split('\n').map((l) => l.replace(/^\S+ {2}/, '<t>  '));
  assert.deepEqual(lines, [
    '<t>  run   running  0%',
    '<t>  step  check (condition)  succeeded  12ms',
    '<t>  step  manual (http)  running',
    '<t>  run   running  50%',
    '<t>  step  manual (http)  succeeded  attempt 2  1.1s',
    '<t>  run   succeeded  100%',
    `run ${ID} succeeded in 2.5s`,
  ]);
});

test('watch of a run that fails exits 1 and names the error', async () => {
  api.on(eventsPath, sse([
    { event: 'run', data: run('running', 0) },
    { event: 'step', data: step('manual', 'http', 'failed', { error: { code: 'http_status', message: 'HTTP 503' } }) },
    { event: 'run', data: run('failed', 0, { error: { step: 'manual', code: 'http_status', message: 'HTTP 503' } }) },
  ]));
  const r = await watch();
  assert.equal(r.code, 1);
  assert.match(r.stdout, /step {2}manual \(http\) {2}failed {2}12ms {2}http_status: HTTP 503/);
  assert.match(r.stdout, new RegExp(`run ${ID} failed in 2\\.5s: at step manual: http_status: HTTP 503\\n$`));
});

test('watch reads { run, step } envelopes on unnamed events, and ends at once on an already finished run', async () => {
  api.on(eventsPath, sse([
    { data: { run: run('waiting', 10), step: step('pause', 'delay', 'waiting') } },
    { data: { run: run('cancelled', 10) } },
  ]));
  const r = await watch();
  assert.equal(r.code, 1);
  assert.match(r.stdout, /step {2}pause \(delay\) {2}waiting\n.*run {3}waiting {2}10%\n.*run {3}cancelled {2}10%\nrun \S+ cancelled/);

  api.on(eventsPath, sse([{ event: 'run', data: run('succeeded', 100) }]));
  const done = await watch();
  assert.equal(done.code, 0);
  assert.equal(done.stdout.trimEnd().split('\n').length, 2);
});

test('watch reopens a stream that closes early, with Last-Event-ID, and does not repeat states', async () => {
  let connections = 0;
  api.on(`GET /v1/runs/${ID}`, (_q, res) => json(res, 200, run('running', 20)));
  api.on(eventsPath, async (q, res) => {
    connections++;
    if (connections === 1) {
      return sse([{ event: 'run', id: '7', data: run('running', 20) }], { end: true })(q, res);
    }
    assert.equal(q.headers['last-event-id'], '7');
    return sse([{ event: 'run', id: '8', data: run('running', 20) }, { event: 'run', id: '9', data: run('succeeded', 100) }])(q, res);
  });
  const r = await watch();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(connections, 2);
  assert.equal((r.stdout.match(/running/g) ?? []).length, 1, r.stdout);
  assert.match(r.stdout, /run {3}succeeded {2}100%/);
});

test('watch --json prints one JSON line per event', async () => {
  api.on(eventsPath, sse([
    { event: 'run', id: '1', data: run('running', 0) },
    { event: 'run', id: '2', data: run('succeeded', 100) },
  ]));
  const r = await watch('--json');
  assert.equal(r.code, 0);
  const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { event: string; id: string; data: { status: string } });
  assert.deepEqual(lines.map((l) => [l.event, l.id, l.data.status]), [['run', '1', 'running'], ['run', '2', 'succeeded']]);
});

test('watch of an unknown run: the 404 problem, exit 1', async () => {
  api.on(eventsPath, (_q, res) => problem(res, 404, 'Not found', `run ${ID} not found`));
  const r = await watch();
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `error: 404 Not found: run ${ID} not found\n`);
});
