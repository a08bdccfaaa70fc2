import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { json, problem, runCli, startFakeApi, tempDir, type FakeApi } from './harness.js';

let api: FakeApi;
before(async () => {
  api = await startFakeApi();
});
after(() => api.close());

const cli = (argv: string[], opts: { cwd?: string; stdin?: string; env?: NodeJS.ProcessEnv } = {}) =>
  runCli(['--url', api.url, '--token', 'tok', ...argv], opts);
const last = () => api.requests[api.requests.length - 1];

const RUN = {
  id: '0190a000-0000-7000-8000-000000000001', workflow: 'loan-check', version: 3, ref: 'r-1', status: 'failed',
  progress: 40, attempt: 1, input: { amount: 5000 }, data: { amount: 5000, currency: 'EUR' }, reply: null,
  error: { step: 'manual', code: 'http_status', message: 'HTTP 503 from review.example.com' },
  created_at: '2025-03-01T12:00:00.000Z', started_at: '2025-03-01T12:00:00.100Z', finished_at: '2025-03-01T12:00:02.600Z',
};

test('apply: a directory of YAML and JSON: created, unchanged, invalid; exit 1 when one fails', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'wf'));
  writeFileSync(join(dir, 'wf', 'a.yaml'), 'id: alpha\nname: A\nsteps:\n  - { id: s, type: set, set: { x: 1 } }\n');
  writeFileSync(join(dir, 'wf', 'b.json'), JSON.stringify({ id: 'beta', steps: [] }));
  writeFileSync(join(dir, 'wf', 'c.yml'), 'id: gamma\nsteps: []\n');
  writeFileSync(join(dir, 'wf', 'notes.txt'), 'ignored');
  api.on('PUT /v1/workflows/alpha', (_q, res) => json(res, 201, { id: 'alpha', version: 3, warnings: [{ path: 'steps[1]', message: 'unreachable step' }] }));
  api.on('PUT /v1/workflows/beta', (_q, res) => json(res, 200, { id: 'beta', version: 7 }));
  api.on('PUT /v1/workflows/gamma', (_q, res) => problem(res, 422, 'Invalid workflow definition', 'The definition has 2 problems', [
    { path: 'steps', message: 'must hold at least one step' },
    { path: 'name', message: 'is required' },
  ]));
  const before = api.requests.length;
  const r = await cli(['apply', 'wf'], { cwd: dir });
  assert.equal(r.code, 1);
  assert.deepEqual(r.stdout.trimEnd().split('\n'), [
    'wf/a.yaml (alpha): created v3',
    '  warning: steps[1]: unreachable step',
    'wf/b.json (beta): unchanged v7',
    'wf/c.yml (gamma): failed: 422 Invalid workflow definition: The definition has 2 problems',
    '  steps: must hold at least one step',
    '  name: is required',
  ]);
  assert.match(r.stderr, /3 files: 1 created, 1 unchanged, 1 failed/);
  const sent = api.requests.slice(before);
  assert.deepEqual(sent.map((q) => [q.method, q.path, q.headers['content-type']]), [
    ['PUT', '/v1/workflows/alpha', 'application/yaml'],
    ['PUT', '/v1/workflows/beta', 'application/json'],
    ['PUT', '/v1/workflows/gamma', 'application/yaml'],
  ]);
  assert.equal(sent[0].body, 'id: alpha\nname: A\nsteps:\n  - { id: s, type: set, set: { x: 1 } }\n', 'the original text is sent');
  assert.equal(sent[0].headers.authorization, 'Bearer tok');
});

test('apply: a single good file exits 0; a file without id or with bad YAML fails locally', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'ok.yaml'), 'id: alpha\nsteps: []\n');
  writeFileSync(join(dir, 'noid.yaml'), 'name: x\n');
  writeFileSync(join(dir, 'bad.yaml'), 'id: [unclosed\n');
  api.on('PUT /v1/workflows/alpha', (_q, res) => json(res, 201, { id: 'alpha', version: 1 }));
  const ok = await cli(['apply', 'ok.yaml'], { cwd: dir });
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, 'ok.yaml (alpha): created v1\n');
  const before = api.requests.length;
  const bad = await cli(['apply', 'noid.yaml', 'bad.yaml', 'missing.yaml'], { cwd: dir });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /noid\.yaml: failed: the document has no "id"/);
  assert.match(bad.stdout, /bad\.yaml: failed: cannot parse YAML/);
  assert.match(bad.stdout, /missing\.yaml: failed: cannot read: ENOENT/);
  assert.equal(api.requests.length, before, 'nothing is sent for files that fail locally');
});

test('apply --json prints one result per file', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'ok.yaml'), 'id: alpha\n');
  api.on('PUT /v1/workflows/alpha', (_q, res) => json(res, 200, { id: 'alpha', version: 2 }));
  const r = await cli(['--json', 'apply', 'ok.yaml'], { cwd: dir });
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout), [{ file: 'ok.yaml', id: 'alpha', outcome: 'unchanged', version: 2 }]);
});

test('run: params as JSON, ref as Idempotency-Key, default 202 answer', async () => {
  api.on('POST /v1/workflows/loan-check/runs', (_q, res) => json(res, 202, {
    id: RUN.id, status: 'queued', ref: 'r-1', links: { self: `/v1/runs/${RUN.id}` },
  }, { location: `${api.url}/v1/runs/${RUN.id}`, 'retry-after': '1' }));
  const r = await cli(['--tenant', 'acme', 'run', 'loan-check', '--data', '{"amount": 5000}', '--ref', 'r-1']);
  assert.equal(r.code, 0, r.stderr);
  const q = last();
  assert.equal(q.headers['idempotency-key'], 'r-1');
  assert.equal(q.headers['flowgate-tenant'], 'acme');
  assert.equal(q.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(q.body), { amount: 5000 });
  assert.equal(q.query.get('wait'), null);
  assert.deepEqual(r.stdout.trimEnd().split('\n'), [`run:     ${RUN.id}`, 'status:  queued', 'ref:     r-1']);
  assert.match(r.stderr, new RegExp(`flowgate runs watch ${RUN.id}`));
});

test('run --wait: prints the result; --data @file; a failed run exits 1 with its problem', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'in.json'), '{"amount": 10}');
  api.on('POST /v1/workflows/loan-check/runs', (q, res) => {
    const body = JSON.parse(q.body) as { amount: number };
    if (body.amount === 10) {
      json(res, 200, { decision: 'approved', fee: 0.1 }, { 'flowgate-run-id': RUN.id, 'flowgate-run-status': 'succeeded' });
    } else {
      problem(res, 500, 'Run failed', 'step manual failed: HTTP 503', undefined, { 'flowgate-run-id': RUN.id, 'flowgate-run-status': 'failed' });
    }
  });
  const ok = await cli(['run', 'loan-check', '--data', '@in.json', '--wait', '30'], { cwd: dir });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(last().query.get('wait'), '30');
  assert.deepEqual(JSON.parse(last().body), { amount: 10 });
  assert.equal(ok.stdout, `run:     ${RUN.id}\nstatus:  succeeded\nresult:\n{\n  "decision": "approved",\n  "fee": 0.1\n}\n`);

  const failed = await cli(['run', 'loan-check', '--data', '{"amount": 1}', '--wait', '30']);
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /status:\s+failed/);
  assert.match(failed.stdout, /http:\s+500/);
  assert.match(failed.stdout, /error: 500 Run failed: step manual failed: HTTP 503/);
});

test('run: validation problems, bad --data and a non-object are errors with exit 1', async () => {
  api.on('POST /v1/workflows/loan-check/runs', (_q, res) => problem(res, 422, 'Validation failed', 'The input does not match the declared params', [
    { path: 'amount', message: 'is required' },
  ]));
  const r = await cli(['run', 'loan-check']);
  assert.equal(r.code, 1);
  assert.deepEqual(JSON.parse(last().body), {}, 'no --data sends an empty object');
  assert.equal(r.stderr, 'error: 422 Validation failed: The input does not match the declared params\n  amount: is required\n');
  const before = api.requests.length;
  assert.match((await cli(['run', 'x', '--data', '[1]'])).stderr, /--data must be a JSON object/);
  assert.match((await cli(['run', 'x', '--data', '{nope'])).stderr, /--data is not valid JSON/);
  assert.match((await cli(['run', 'x', '--wait', 'soon'])).stderr, /--wait must be an integer/);
  assert.equal(api.requests.length, before);
});

test('runs list: filters, table, next-cursor hint, --all pages through', async () => {
  const page1 = [{ ...RUN, status: 'succeeded', progress: 100 }, { ...RUN, id: 'r2', workflow: 'other', version: 1, progress: 0, status: 'queued' }];
  api.on('GET /v1/runs', (q, res) => q.query.get('cursor') === 'c2'
    ? json(res, 200, { items: [{ ...RUN, id: 'r3', status: 'waiting', progress: 50 }], next_cursor: null })
    : json(res, 200, { items: page1, next_cursor: 'c2' }));
  const r = await cli(['runs', 'list', '--workflow', 'loan-check', '--status', 'succeeded', '--limit', '2']);
  assert.equal(r.code, 0, r.stderr);
  const q = last();
  assert.equal(q.query.get('workflow'), 'loan-check');
  assert.equal(q.query.get('status'), 'succeeded');
  assert.equal(q.query.get('limit'), '2');
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^ID\s+WORKFLOW\s+STATUS\s+PROGRESS\s+CREATED$/);
  assert.match(lines[1], new RegExp(`^${RUN.id}  loan-check v3  succeeded\\s+100%  \\d{4}-`));
  assert.match(lines[2], /^r2\s+other v1\s+queued\s+0%/);
  assert.equal(lines[1].indexOf('loan-check'), lines[0].indexOf('WORKFLOW'), 'columns align');
  assert.match(r.stderr, /more runs: --cursor c2/);

  const all = await cli(['--json', 'runs', 'list', '--all']);
  const parsed = JSON.parse(all.stdout) as { items: { id: string }[]; next_cursor: null };
  assert.deepEqual(parsed.items.map((x) => x.id), [RUN.id, 'r2', 'r3']);
  assert.equal(parsed.next_cursor, null);

  const badStatus = await cli(['runs', 'list', '--status', 'done']);
  assert.equal(badStatus.code, 1);
  assert.match(badStatus.stderr, /Allowed choices are queued, running/);
});

test('runs show: summary, data, step table with attempts, durations and errors', async () => {
  api.on(`GET /v1/runs/${RUN.id}`, (_q, res) => json(res, 200, RUN));
  api.on(`GET /v1/runs/${RUN.id}/steps`, (_q, res) => json(res, 200, { items: [
    { step_id: 'check', type: 'condition', name: null, status: 'succeeded', attempts: [{ n: 1, started_at: '2025-03-01T12:00:00.100Z', finished_at: '2025-03-01T12:00:00.112Z', duration_ms: 12 }], input: {}, output: {}, error: null, started_at: '2025-03-01T12:00:00.100Z', finished_at: '2025-03-01T12:00:00.112Z' },
    { step_id: 'manual', type: 'http', name: 'Manual review', status: 'failed', attempts: [
      { n: 1, started_at: '2025-03-01T12:00:00.200Z', finished_at: '2025-03-01T12:00:00.320Z', duration_ms: 120, response: { status: 503 }, error: { class: '5xx', message: 'HTTP 503' } },
      { n: 2, started_at: '2025-03-01T12:00:01.400Z', finished_at: '2025-03-01T12:00:01.530Z', duration_ms: 130, response: { status: 503 }, error: { class: '5xx', message: 'HTTP 503' } },
    ], input: {}, output: null, error: { code: 'http_status', message: 'HTTP 503 from review.example.com' }, started_at: '2025-03-01T12:00:00.200Z', finished_at: '2025-03-01T12:00:02.600Z' },
  ], next_cursor: null }));
  const r = await cli(['runs', 'show', RUN.id]);
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /^run:\s+0190a000/m);
  assert.match(out, /^workflow:\s+loan-check v3$/m);
  assert.match(out, /^status:\s+failed$/m);
  assert.match(out, /^progress:\s+40%$/m);
  assert.match(out, /^duration:\s+2\.5s$/m);
  assert.match(out, /^error:\s+at step manual: http_status: HTTP 503 from review\.example\.com$/m);
  assert.match(out, /^input:\n {2}\{\n {4}"amount": 5000/m);
  assert.match(out, /^#\s+STEP\s+TYPE\s+STATUS\s+ATTEMPTS\s+STARTED\s+DURATION\s+ERROR$/m);
  assert.match(out, /^1\s+check\s+condition\s+succeeded\s+1\s+\S+\s+12ms\s+-$/m);
  assert.match(out, /^2\s+manual \(Manual review\)\s+http\s+failed\s+2\s+\S+\s+2\.4s\s+http_status: HTTP 503 from review\.example\.com$/m);
  assert.match(out, /^failed attempts:\n {2}manual #1 HTTP 503: \[5xx\] HTTP 503 \(120ms, .*\)\n {2}manual #2 HTTP 503: \[5xx\] HTTP 503 \(130ms/m);

  const asJson = await cli(['--json', 'runs', 'show', RUN.id]);
  const parsed = JSON.parse(asJson.stdout) as { run: { id: string }; steps: unknown[] };
  assert.equal(parsed.run.id, RUN.id);
  assert.equal(parsed.steps.length, 2);
});

test('runs show of an unknown id: 404 problem, exit 1', async () => {
  api.on('GET /v1/runs/nope', (_q, res) => problem(res, 404, 'Not found', 'run nope not found'));
  api.on('GET /v1/runs/nope/steps', (_q, res) => problem(res, 404, 'Not found', 'run nope not found'));
  const r = await cli(['runs', 'show', 'nope']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'error: 404 Not found: run nope not found\n');
});

test('runs cancel and retry --from-start', async () => {
  api.on(`POST /v1/runs/${RUN.id}/cancel`, (_q, res) => json(res, 200, { ...RUN, status: 'cancelled' }));
  api.on(`POST /v1/runs/${RUN.id}/retry`, (_q, res) => json(res, 202, { ...RUN, status: 'queued' }));
  const c = await cli(['runs', 'cancel', RUN.id]);
  assert.equal(c.code, 0);
  assert.equal(c.stdout, `run ${RUN.id}: cancel requested (status cancelled)\n`);
  const r = await cli(['runs', 'retry', RUN.id, '--from-start']);
  assert.equal(r.code, 0);
  assert.equal(last().query.get('from'), 'start');
  assert.match(r.stdout, /retry started from the first step \(status queued\)/);
  await cli(['runs', 'retry', RUN.id]);
  assert.equal(last().query.get('from'), null);
});

test('keys: create prints the token once with a warning; --tenant goes in the body; list; delete', async () => {
  api.on('POST /v1/keys', (q, res) => {
    const body = JSON.parse(q.body) as { name: string; role: string; tenant?: string };
    json(res, 201, { id: 'key_1', token: 'fgk_secret', name: body.name, role: body.role, tenant: body.tenant ?? 'default', created_at: '2025-03-01T12:00:00Z' });
  });
  const r = await cli(['keys', 'create', '--name', 'ci', '--role', 'trigger', '--tenant', 'acme']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(last().body), { name: 'ci', role: 'trigger', tenant: 'acme' });
  assert.equal(last().headers['flowgate-tenant'], undefined);
  assert.match(r.stdout, /^token:\s+fgk_secret$/m);
  assert.match(r.stdout, /^tenant:\s+acme$/m);
  assert.match(r.stderr, /will not be shown again/);

  const badRole = await cli(['keys', 'create', '--name', 'x', '--role', 'root']);
  assert.equal(badRole.code, 1);
  assert.match(badRole.stderr, /Allowed choices are admin, trigger, read/);

  api.on('GET /v1/keys', (_q, res) => json(res, 200, { items: [
    { id: 'key_1', name: 'ci', role: 'trigger', tenant: 'acme', created_at: '2025-03-01T12:00:00Z' },
  ], next_cursor: null }));
  const list = await cli(['keys', 'list']);
  assert.match(list.stdout, /^ID\s+NAME\s+ROLE\s+TENANT\s+CREATED\nkey_1\s+ci\s+trigger\s+acme\s+\d{4}-/);
  assert.ok(!list.stdout.includes('fgk_'));

  api.on('DELETE /v1/keys/key_1', (_q, res) => {
    res.writeHead(204);
    res.end();
  });
  const del = await cli(['keys', 'delete', 'key_1']);
  assert.equal(del.code, 0);
  assert.equal(del.stdout, 'key key_1 deleted\n');
});

test('secrets: set from --value and from stdin (one trailing newline dropped), list, delete', async () => {
  api.on('PUT /v1/secrets/review_key', (_q, res) => json(res, 201, { name: 'review_key' }));
  const a = await cli(['secrets', 'set', 'review_key', '--value', 's3cr3t']);
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(JSON.parse(last().body), { value: 's3cr3t' });
  assert.equal(a.stdout, 'secret review_key created\n');
  const b = await cli(['secrets', 'set', 'review_key'], { stdin: 'line one\nline two\n' });
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(JSON.parse(last().body), { value: 'line one\nline two' });
  const empty = await cli(['secrets', 'set', 'review_key'], { stdin: '' });
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /the secret value is empty/);

  api.on('GET /v1/secrets', (_q, res) => json(res, 200, { items: [{ name: 'review_key', created_at: '2025-03-01T12:00:00Z', updated_at: '2025-03-02T12:00:00Z' }], next_cursor: null }));
  const list = await cli(['secrets', 'list']);
  assert.match(list.stdout, /^NAME\s+CREATED\s+UPDATED\nreview_key\s+\d{4}-\S+\s+\d{4}-/);
  api.on('DELETE /v1/secrets/review_key', (_q, res) => {
    res.writeHead(204);
    res.end();
  });
  assert.equal((await cli(['secrets', 'delete', 'review_key'])).stdout, 'secret review_key deleted\n');
});

test('auth: without any token a 401 names where tokens come from; 403 explains roles', async () => {
  api.on('GET /v1/keys', (q, res) => q.headers.authorization
    ? problem(res, 403, 'Forbidden', 'role read cannot manage keys')
    : problem(res, 401, 'Unauthorized', 'missing bearer token', undefined, { 'www-authenticate': 'Bearer' }));
  const cwd = tempDir();
  const none = await runCli(['--url', api.url, 'keys', 'list'], { cwd });
  assert.equal(none.code, 1);
  assert.equal(last().headers.authorization, undefined);
  assert.match(none.stderr, /^error: 401 Unauthorized: missing bearer token\nhint: no token was given: pass --token or set FLOWGATE_TOKEN/);
  assert.ok(none.stderr.includes(join(cwd, 'data', 'admin-token')));
  const low = await runCli(['keys', 'list'], { cwd, env: { FLOWGATE_URL: api.url, FLOWGATE_TOKEN: 'read-key' } });
  assert.equal(last().headers.authorization, 'Bearer read-key');
  assert.match(low.stderr, /403 Forbidden: role read cannot manage keys\nhint: .*role/);
});

test('the admin token file in FLOWGATE_DATA_DIR is used when no token is given', async () => {
  const cwd = tempDir();
  mkdirSync(join(cwd, 'state'));
  writeFileSync(join(cwd, 'state', 'admin-token'), 'admin-from-file\n');
  api.on('GET /v1/secrets', (_q, res) => json(res, 200, { items: [], next_cursor: null }));
  const r = await runCli(['secrets', 'list'], { cwd, env: { FLOWGATE_URL: api.url, FLOWGATE_DATA_DIR: 'state' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'no secrets\n');
  assert.equal(last().headers.authorization, 'Bearer admin-from-file');
});

test('runs show counts a step recorded without attempts as one attempt, as the Luma history API does', async () => {
  const id = '0190a000-0000-7000-8000-0000000000a1';
  api.on(`GET /v1/runs/${id}`, (_q, res) => json(res, 200, { ...RUN, id, status: 'succeeded', error: null }));
  api.on(`GET /v1/runs/${id}/steps`, (_q, res) => json(res, 200, { items: [
    { seq: 1, step_id: 'compute', type: 'set', name: null, status: 'succeeded', attempts: [], input: {}, output: {}, error: null, started_at: '2025-03-01T12:00:00.100Z', finished_at: '2025-03-01T12:00:00.100Z' },
  ], next_cursor: null }));
  const r = await cli(['runs', 'show', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^1\s+compute\s+set\s+succeeded\s+1\s/m);
});

test('workflows list and show: every identifier and URL a client needs', async () => {
  const base = 'http://flowgate.example';
  const wf = {
    id: 'loan-check', name: 'Loan check', version: 3, archived: false, updated_at: '2025-03-01T12:00:00.000Z',
    triggers: {
      conv_id: 1000001, hash: 'a'.repeat(40), guid: '0190a000-0000-7000-8000-00000000abcd', public: true, luma_workflow_identifier: 'loan-check',
      urls: {
        native: `${base}/v1/workflows/loan-check/runs`, batch: `${base}/v1/workflows/loan-check/runs/batch`, import: `${base}/v1/workflows/loan-check/runs/import`,
        corezoid_api: `${base}/api/2/json`, corezoid_sync_api: `${base}/sync/api/2/json`, luma_trigger: `${base}/gateway/api/v1/workflow/trigger`,
        direct_json: `${base}/api/1/json/public/1000001/${'a'.repeat(40)}`, direct_xml: `${base}/api/1/xml/public/1000001/${'a'.repeat(40)}`,
        direct_nvp: `${base}/api/1/nvp/public/1000001/${'a'.repeat(40)}`, csi_execute: `${base}/task/execute/x`, csi_executepolling: `${base}/task/executepolling/x`,
      },
    },
  };
  api.on('GET /v1/workflows', (_q, res) => json(res, 200, { items: [wf], next_cursor: null }));
  api.on('GET /v1/workflows/loan-check', (_q, res) => json(res, 200, wf));
  const list = await cli(['workflows', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ID\s+NAME\s+VERSION\s+CONV_ID\s+PUBLIC\s+UPDATED$/m);
  assert.match(list.stdout, /^loan-check\s+Loan check\s+3\s+1000001\s+yes\s/m);
  const show = await cli(['workflows', 'show', 'loan-check']);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^conv_id:\s+1000001$/m);
  assert.match(show.stdout, /^CSI GUID:\s+0190a000-0000-7000-8000-00000000abcd$/m);
  assert.match(show.stdout, /^Luma workflowIdentifier:\s+loan-check$/m);
  for (const url of Object.values(wf.triggers.urls)) assert.ok(show.stdout.includes(url), `shows ${url}`);
  assert.match(show.stdout, /signed ops API \(\+ \/\{login\}\/\{time\}\/\{signature\}\)\s+http:\/\/flowgate\.example\/api\/2\/json$/m);
});

test('import --dry-run says that nothing was created', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'rows.csv'), 'amount\n1\n2\n');
  api.on('POST /v1/workflows/loan-check/runs/import', (_q, res) => json(res, 200, { total: 2, created: 2, duplicates: 0, failed: 0, errors: [], dry_run: true }));
  const r = await cli(['import', 'loan-check', 'rows.csv', '--dry-run', '--no-progress'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^dry run: every row was checked, nothing was created$/m);
  assert.match(r.stdout, /^would create:\s+2$/m);
  assert.equal(api.requests.at(-1)!.query.get('dry_run'), 'true');
});
