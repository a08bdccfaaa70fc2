// /metrics (docs/operations.md "Observing"): what a user needs to run Flowgate, from a real server: runs
// started and finished by workflow and status, run and step durations, outgoing http attempts by
// result class, result deliveries, group commits, HTTP requests by route; process metrics under
// prom-client's usual names; bounded labels (no run id); and `promtool check metrics` finds no
// problem (run under CI=true, where .ci/run installs it; skipped with the reason elsewhere).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { reply, startTarget, startTestServer, type Target, type TestServer } from '../helpers/server.js';

let s: TestServer;
let target: Target;
let text = '';
const runIds: string[] = [];

const CALLS = `id: calls
params:
  path: { type: string, required: true }
steps:
  - id: fetch
    type: http
    url: "{{ $env.target }}/{{ path }}"
    retry: { max_attempts: 1 }
  - id: answer
    type: reply
`;

before(async () => {
  target = await startTarget((req, res) => reply(res, req.url.startsWith('/missing') ? 404 : 200, { ok: true }));
  s = await startTestServer({ FLOWGATE_DELIVERY_BACKOFF_MS: '100', FLOWGATE_METRICS_TOKEN: 'scrape-token-0123456789' });
  const put = async (id: string, yaml: string): Promise<void> => {
    const r = await s.putWorkflow(id, yaml);
    assert.equal(r.status, 201, r.text);
  };
  await put('quick', 'id: quick\nsteps:\n  - id: set\n    type: set\n    set: { a: 1 }\n  - id: answer\n    type: reply\n');
  await put('broken', 'id: broken\nsteps:\n  - id: boom\n    type: end\n    status: failed\n');
  await put('calls', CALLS.replace('{{ $env.target }}', target.url));
  for (let i = 0; i < 3; i++) runIds.push((await s.trigger('quick', {}, 'wait=5')).headers.get('flowgate-run-id')!);
  runIds.push((await s.trigger('broken', {}, 'wait=5')).headers.get('flowgate-run-id')!);
  assert.equal((await s.trigger('calls', { path: 'fine' }, 'wait=5')).status, 200);
  await s.trigger('calls', { path: 'missing' }, 'wait=5');
  const delivered = await s.trigger('quick', {}, `callback_url=${encodeURIComponent(`${target.url}/hook`)}`);
  for (let i = 0; i < 100 && !target.requests.some((r) => r.url === '/hook'); i++) await new Promise((r) => setTimeout(r, 50));
  await s.waitRun(delivered.body.id);
  await new Promise((r) => setTimeout(r, 200)); // the delivery's attempt is recorded after the target answered
  const m = await s.call('GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  text = m.text;
});
after(async () => {
  await s?.close();
  await target?.close();
});

/** The value of one sample line, e.g. sample('flowgate_runs_started_total', { workflow: 'quick' }). */
function sample(name: string, labels: Record<string, string> = {}): number {
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  const hit = lines.find((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  assert.ok(hit, `${name} ${JSON.stringify(labels)} in:\n${lines.join('\n') || '(no such metric)'}`);
  return Number(hit.slice(hit.lastIndexOf(' ') + 1));
}

test('runs started and finished by workflow and status, with their durations', () => {
  assert.equal(sample('flowgate_runs_started_total', { tenant: 'default', workflow: 'quick' }), 4);
  assert.equal(sample('flowgate_runs_finished_total', { workflow: 'quick', status: 'succeeded' }), 4);
  assert.equal(sample('flowgate_runs_finished_total', { workflow: 'broken', status: 'failed' }), 1);
  assert.equal(sample('flowgate_run_duration_seconds_count', { workflow: 'quick', status: 'succeeded' }), 4);
  assert.ok(sample('flowgate_run_duration_seconds_sum', { workflow: 'quick' }) >= 0);
});

test('step durations by step type; outgoing http attempts by result class with their latency', () => {
  assert.ok(sample('flowgate_step_duration_seconds_count', { type: 'set', status: 'succeeded' }) >= 4);
  assert.ok(sample('flowgate_step_duration_seconds_count', { type: 'http', status: 'succeeded' }) >= 1);
  assert.ok(sample('flowgate_step_duration_seconds_count', { type: 'http', status: 'failed' }) >= 1);
  assert.ok(sample('flowgate_http_client_request_duration_seconds_count', { result: '2xx' }) >= 2, 'the http step and the delivery');
  assert.equal(sample('flowgate_http_client_request_duration_seconds_count', { result: '4xx' }), 1);
  assert.equal(sample('flowgate_deliveries_total', { result: 'delivered' }), 1);
});

test('group commits by batch size and latency; HTTP requests by route and status; the node; process metrics by their usual names', () => {
  assert.ok(sample('flowgate_commit_batch_size_count') >= 6);
  assert.ok(sample('flowgate_commit_duration_seconds_count') >= 6);
  assert.ok(sample('flowgate_http_requests_total', { route: 'runs.trigger', status: '200' }) >= 4);
  assert.ok(sample('flowgate_http_request_duration_seconds_count', { route: 'workflows.put' }) >= 3);
  assert.equal(sample('flowgate_node_info', { clustered: 'false' }), 1);
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) sample(name);
  assert.ok(!text.includes('flowgate_process_'), 'no prefixed copies of the process metrics');
});

test('only the admin token or the metrics token reads /metrics (its labels name every tenant\'s workflows)', async () => {
  assert.equal((await s.call('GET', '/metrics', { token: null })).status, 401);
  const tenantAdmin = (await s.call('POST', '/v1/keys', { json: { name: 'acme-admin', role: 'admin', tenant: 'acme' } })).body.token;
  assert.equal((await s.call('GET', '/metrics', { token: tenantAdmin })).status, 403, 'a tenant key, even an admin one, may not');
  assert.equal((await s.call('GET', '/metrics', { token: 'wrong-token-0123456789' })).status, 403);
  const scraped = await s.call('GET', '/metrics', { token: 'scrape-token-0123456789' });
  assert.equal(scraped.status, 200);
  assert.match(scraped.text, /flowgate_runs_started_total/);
  assert.equal((await s.call('GET', '/v1/workflows', { token: 'scrape-token-0123456789' })).status, 401, 'the metrics token opens nothing else');
});

test('no run id is ever a label value', () => {
  for (const id of runIds) assert.ok(!text.includes(id), `run ${id} appears in /metrics`);
});

test('promtool check metrics finds no problem', (t) => {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    if (process.env.CI === 'true') assert.fail('promtool is not installed (.ci/run installs the prometheus package)');
    t.skip('promtool is not installed here (Debian package prometheus; .ci/run installs it)');
    return;
  }
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'no lint problem reported');
});

test('past MAX_WORKFLOW_SERIES (tenant, workflow) pairs the rest are counted as _other', async () => {
  const { Metrics, MAX_WORKFLOW_SERIES } = await import('../../src/http/metrics.js');
  const m = new Metrics();
  const now = Date.now();
  const run = (i: number) => ({ id: `r${i}`, tenant: 't', workflow: `w${i}`, status: 'succeeded', created_at: now, finished_at: now + 5 }) as any;
  for (let i = 0; i < MAX_WORKFLOW_SERIES + 3; i++) {
    m.observer.committed!({ creates: [{ run: run(i), refPolicy: 'native' }], created: [{ kind: 'created', run: run(i) }], transitions: [], applied: [], seconds: 0.001 });
  }
  const out = await m.registry.metrics();
  assert.match(out, /flowgate_runs_started_total\{tenant="_other",workflow="_other"\} 3/);
  assert.match(out, /flowgate_runs_finished_total\{tenant="_other",workflow="_other",status="succeeded"\} 3/);
  assert.equal((out.match(/^flowgate_runs_started_total\{/gm) ?? []).length, MAX_WORKFLOW_SERIES + 1);
});
