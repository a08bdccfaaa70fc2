// CSI iUpdate / iDMS webhooks (docs/spec.md §5.3, §8.1, §8.15, §8.17) against a real server, following the
// documentation's own examples: the cURL / raw HTTP fire-and-forget POST with Content-Length: 0, the jQuery
// POST with {"QueryParameters": {…}} and "Content-type: application/json;", and a polling client
// written exactly like the documented C# Asynchronous Request-Reply loop.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sleep, startTestServer, until, type TestServer } from '../helpers/server.js';
import { rawHttp } from './helpers.js';

let s: TestServer;
const guids: Record<string, string> = {};

before(async () => {
  s = await startTestServer();
  const put = async (id: string, yaml: string): Promise<void> => {
    guids[id] = (await s.createWorkflow(id, yaml)).body.triggers.guid;
  };
  // An iUpdate-like task: IQA-style params with defaults, a short delay (the job takes a while),
  // then one child per record, some of which fail, and statistics in data.stats.
  await put('record-child', `id: record-child
steps:
  - id: check
    type: condition
    cases:
      - when: bad = true
        next: boom
    default: fine
  - id: fine
    type: end
    status: succeeded
  - id: boom
    type: end
    status: failed
`);
  await put('iupdate', `id: iupdate
name: Nightly iUpdate
params:
  ID: { type: string, default: "0" }
  FirstName: { type: string, default: Ann }
  LastName: { type: string }
  Email: { type: string, format: email }
  Count: { type: integer, default: 4, minimum: 0 }
trigger:
  retry_after: 1s
steps:
  - id: wait-a-bit
    type: delay
    for: 1200ms
  - id: records
    type: set
    set:
      rows: "{{ [1..Count].({ 'n': $, 'bad': $ % 4 = 0 }) }}"
  - id: each
    type: foreach
    items: rows
    workflow: record-child
    concurrency: 2
  - id: done
    type: set
    set: { greeting: "{{ 'Hello ' & FirstName }}" }
`);
  await put('quick', `id: quick
params:
  ID: { type: string }
steps:
  - id: done
    type: set
    set: { seen: "{{ ID }}" }
`);
  await put('default-poll', `id: default-poll
steps:
  - id: hold
    type: wait
    timeout: 1h
`);
  await put('odd-poll', `id: odd-poll
trigger:
  retry_after: 2500ms
steps:
  - id: hold
    type: wait
    timeout: 1h
`);
  await put('crash', `id: crash
steps:
  - id: boom
    type: end
    status: failed
    error: the IQA returned no rows
`);
  await put('answers', `id: answers
steps:
  - id: answer
    type: reply
    data: { imported: 3 }
  - id: tail
    type: set
    set: { after: true }
`);
  await put('private', `id: private
trigger:
  public: false
steps:
  - id: done
    type: set
    set: { ok: true }
`);
});
after(() => s.close());

/** A raw request without Authorization (the GUID is the credential). */
const raw = (method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(s.url + path, { method, body, headers, redirect: 'manual' });

test('every workflow shows its CSI URLs in triggers (absolute, with its GUID v4); public: false hides them', async () => {
  const wf = await s.call('GET', '/v1/workflows/quick');
  const t = wf.body.triggers;
  assert.match(t.guid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(t.urls.csi_execute, `${s.url}/task/execute/${t.guid}`);
  assert.equal(t.urls.csi_executepolling, `${s.url}/task/executepolling/${t.guid}`);
  const priv = await s.call('GET', '/v1/workflows/private');
  assert.equal(priv.body.triggers.public, false);
  assert.equal(priv.body.triggers.urls.csi_execute, undefined);
  assert.equal(priv.body.triggers.urls.csi_executepolling, undefined);
});

test('fire-and-forget: the seed\'s raw POST with Content-Length: 0 starts the task and answers at once', async () => {
  const before = await s.runCount();
  const host = new URL(s.url).host;
  const res = await rawHttp(s.url, `POST /task/execute/${guids.quick} HTTP/1.1
Host: ${host}
User-Agent: example-documentation/1.0
Content-Length: 0

`);
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^application\/json/);
  const body = JSON.parse(res.body);
  assert.equal(body.success, true);
  assert.match(body.runId, /^[0-9a-f-]{36}$/);
  assert.equal(await s.runCount(), before + 1, 'the run exists when the answer arrives');
  const run = await s.waitRun(body.runId);
  assert.equal(run.status, 'succeeded');
  assert.equal(run.workflow, 'quick');
});

test('fire-and-forget: the seed\'s jQuery body {"QueryParameters": {"ID": …}} with "Content-type: application/json;"', async () => {
  const res = await raw('POST', `/task/execute/${guids.quick}`, JSON.stringify({ QueryParameters: { ID: 'A-1001' } }), { 'Content-type': 'application/json;' });
  assert.equal(res.status, 200);
  const data = await res.json(); // the jQuery example calls res.json(): the answer must be JSON
  const run = await s.waitRun(data.runId);
  assert.deepEqual(run.input, { ID: 'A-1001' });
  assert.equal(run.data.seen, 'A-1001');
});

test('QueryParameters: null or "" means the default; an empty or null QueryParameters is allowed', async () => {
  const res = await raw('POST', `/task/executepolling/${guids.iupdate}`, JSON.stringify({
    QueryParameters: { FirstName: '', LastName: null, Email: '', ID: 'X9', Count: '' },
  }), { 'content-type': 'application/json' });
  assert.equal(res.status, 202, await res.clone().text());
  const runId = (res.headers.get('location') ?? '').split('/').at(-2)!;
  const run = await s.waitRun(runId, (r) => r.status !== 'queued');
  assert.equal(run.data.FirstName, 'Ann', '"" takes the declared default');
  assert.equal(run.data.Count, 4, '"" for an integer takes the default');
  assert.equal(run.data.ID, 'X9');
  const plain = await raw('POST', `/task/execute/${guids.quick}`, '{"QueryParameters": {"ID": "tp"}}', { 'content-type': 'text/plain' });
  assert.equal(plain.status, 200, 'a text/plain JSON body is read by its shape');
  assert.deepEqual((await s.waitRun((await plain.json()).runId)).input, { ID: 'tp' });
  for (const body of ['{"QueryParameters": null}', '{"QueryParameters": ""}', '{}', '']) {
    const r = await raw('POST', `/task/execute/${guids.quick}`, body, body ? { 'content-type': 'application/json' } : {});
    assert.equal(r.status, 200, `${JSON.stringify(body)} → ${r.status}`);
  }
});

test('errors only when the task could not start: unknown GUID 404, invalid params 422 (nothing created), malformed body 400', async () => {
  const before = await s.runCount();
  const unknown = await raw('POST', '/task/execute/00000000-0000-0000-0000-000000000000', '');
  assert.equal(unknown.status, 404);
  assert.equal((await raw('POST', '/task/executepolling/not-a-guid', '')).status, 404);
  const bad = await raw('POST', `/task/execute/${guids.iupdate}`, JSON.stringify({ QueryParameters: { Email: 'not-an-email', Count: 'many' } }), { 'content-type': 'application/json' });
  assert.equal(bad.status, 422);
  const problem = await bad.json();
  assert.deepEqual(problem.errors.map((e: any) => e.path).sort(), ['Count', 'Email']);
  const badPoll = await raw('POST', `/task/executepolling/${guids.iupdate}`, JSON.stringify({ QueryParameters: { Count: -1 } }), { 'content-type': 'application/json' });
  assert.equal(badPoll.status, 422);
  assert.equal(badPoll.headers.get('location'), null);
  const malformed = await raw('POST', `/task/execute/${guids.quick}`, '{"QueryParameters": {', { 'content-type': 'application/json' });
  assert.equal(malformed.status, 400);
  const notObject = await raw('POST', `/task/execute/${guids.quick}`, '{"QueryParameters": [1, 2]}', { 'content-type': 'application/json' });
  assert.equal(notObject.status, 422);
  assert.equal(await s.runCount(), before, 'no run was created by a refused request');
});

test('the seed\'s C# polling client: 202 + absolute Location + Retry-After, poll until 200, then the final document', async () => {
  // Exactly the documented loop: PostAsync(url, null); Location; RetryAfter.Delta ?? 30 s; wait before
  // each GET while the last answer was 202 Accepted; stop at the first non-202.
  const startUrl = `${s.url}/task/executepolling/${guids.iupdate}`;
  const jobStartResponse = await fetch(startUrl, { method: 'POST' });
  assert.equal(jobStartResponse.status, 202);
  const pollingUrl = jobStartResponse.headers.get('location')!;
  const retryAfter = jobStartResponse.headers.get('retry-after')!;
  assert.match(pollingUrl, /^http:\/\/[^/]+\/task\/executepolling\/[0-9a-f-]{36}\/[0-9a-f-]{36}\/status$/, 'Location is absolute');
  assert.ok(pollingUrl.startsWith(`${startUrl}/`));
  assert.match(retryAfter, /^\d+$/, 'Retry-After is integer delta-seconds');
  assert.equal(retryAfter, '1', 'the workflow sets trigger.retry_after: 1s');
  const started = await jobStartResponse.json();
  assert.equal(started.success, null);
  assert.equal(typeof started.percentComplete, 'number');

  const pollingInterval = Number(retryAfter) * 1000 || 30_000;
  let lastResponse: Response | undefined;
  const seen: { status: number; body: any }[] = [];
  do {
    if (lastResponse === undefined || lastResponse.status === 202) await sleep(pollingInterval);
    lastResponse = await fetch(pollingUrl);
    seen.push({ status: lastResponse.status, body: await lastResponse.clone().json() });
  } while (lastResponse.status === 202);

  assert.equal(lastResponse.status, 200);
  const jsonJobStatus = JSON.parse(await lastResponse.text());
  assert.deepEqual(jsonJobStatus, {
    success: true, status: 'Completed', percentComplete: 100,
    recordsRead: 4, recordsProcessed: 3, recordsFailed: 1,
    message: 'The job completed successfully.',
    result: jsonJobStatus.result,
    runId: pollingUrl.split('/').at(-2),
  });
  assert.deepEqual(jsonJobStatus.result.stats, { total: 4, succeeded: 3, failed: 1 });
  assert.equal(jsonJobStatus.result.greeting, 'Hello Ann');
  for (const p of seen.slice(0, -1)) {
    assert.equal(p.status, 202);
    assert.equal(p.body.success, null);
    assert.ok(['Queued', 'In Progress'].includes(p.body.status), p.body.status);
    assert.ok(p.body.percentComplete >= 0 && p.body.percentComplete < 100);
  }

  // "Subsequent requests to this endpoint will always return the same JSON response."
  for (let i = 0; i < 2; i++) {
    const again = await fetch(pollingUrl);
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), jsonJobStatus);
  }
});

test('the seed\'s raw HTTP exchange: POST → 202 with Location and Retry-After, GET → 202 … then 200', async () => {
  const host = new URL(s.url).host;
  const start = await rawHttp(s.url, `POST /task/executepolling/${guids['default-poll']} HTTP/1.1
Host: ${host}
User-Agent: example-documentation/1.0
Content-Length: 0

`);
  assert.equal(start.status, 202);
  assert.equal(start.headers['retry-after'], '5');
  assert.match(start.headers['content-type'], /^application\/json/);
  const location = new URL(start.headers.location);
  assert.equal(location.origin, s.url, 'absolute Location on this server');
  const get = (): Promise<{ status: number; headers: Record<string, string>; body: string }> => rawHttp(s.url, `GET ${location.pathname} HTTP/1.1
Host: ${host}
User-Agent: example-documentation/1.0
Content-Length: 0

`);
  const pending = await get();
  assert.equal(pending.status, 202);
  assert.equal(pending.headers.location, start.headers.location);
  assert.equal(pending.headers['retry-after'], '5');
  const runId = location.pathname.split('/').at(-2)!;
  const run = await s.waitRun(runId, (r) => r.status === 'waiting');
  await s.call('POST', new URL(run.callback_url).pathname, { json: {}, token: null });
  await s.waitRun(runId);
  const done = await get();
  assert.equal(done.status, 200);
  assert.equal(JSON.parse(done.body).success, true);
});

test('while running: 202 with status, percentComplete, Location and Retry-After (default 5 s; durations round up)', async () => {
  const start = await raw('POST', `/task/executepolling/${guids['default-poll']}`);
  assert.equal(start.status, 202);
  assert.equal(start.headers.get('retry-after'), '5', 'default Retry-After for CSI polling is 5 s');
  const url = start.headers.get('location')!;
  const poll = await fetch(url);
  assert.equal(poll.status, 202);
  assert.equal(poll.headers.get('location'), url);
  assert.equal(poll.headers.get('retry-after'), '5');
  const body = await poll.json();
  assert.equal(body.status, 'In Progress');
  assert.equal(body.percentComplete, 0);
  assert.equal(body.success, null);
  assert.deepEqual([body.recordsRead, body.recordsProcessed, body.recordsFailed], [0, 0, 0]);

  const odd = await raw('POST', `/task/executepolling/${guids['odd-poll']}`);
  assert.equal(odd.headers.get('retry-after'), '3', '2500ms → 3 s');
});

test('a failed job: 200 with success false, status Failed, the error as message, zero records without stats', async () => {
  const start = await raw('POST', `/task/executepolling/${guids.crash}`);
  const url = start.headers.get('location')!;
  const res = await until(async () => {
    const r = await fetch(url);
    return r.status === 200 ? r : null;
  }, 'the failed job to finish');
  const body = await res.json();
  assert.equal(body.success, false);
  assert.equal(body.status, 'Failed');
  assert.equal(body.percentComplete, 100);
  assert.equal(body.message, 'the IQA returned no rows');
  assert.deepEqual([body.recordsRead, body.recordsProcessed, body.recordsFailed], [0, 0, 0]);
});

test('the status URL answers once the run has its answer (a reply), like GET /v1/runs/{id}/result', async () => {
  const start = await raw('POST', `/task/executepolling/${guids.answers}`);
  const url = start.headers.get('location')!;
  const runId = url.split('/').at(-2)!;
  await s.waitRun(runId);
  const csi = await fetch(url);
  assert.equal(csi.status, 200);
  const body = await csi.json();
  assert.equal(body.success, true);
  assert.deepEqual(body.result, { imported: 3 }, 'result = the reply when the run replied');
  const native = await s.call('GET', `/v1/runs/${runId}/result`);
  assert.equal(native.status, 200);
  assert.deepEqual(native.body, body.result, 'the native result endpoint answers the same result');
});

test('native equivalence while pending: GET /v1/runs/{id}/result is 202 + Retry-After exactly when the status URL is 202', async () => {
  const start = await raw('POST', `/task/executepolling/${guids['default-poll']}`);
  const url = start.headers.get('location')!;
  const runId = url.split('/').at(-2)!;
  const native = await s.call('GET', `/v1/runs/${runId}/result`);
  assert.equal(native.status, 202);
  assert.match(native.headers.get('retry-after') ?? '', /^\d+$/);
  assert.equal((await fetch(url)).status, 202);
  const run = await s.waitRun(runId, (r) => r.status === 'waiting');
  await s.call('POST', new URL(run.callback_url).pathname, { json: { finished: 'yes' }, token: null });
  const done = await until(async () => {
    const r = await fetch(url);
    return r.status === 200 ? r.json() : null;
  }, 'the status URL to answer 200');
  const result = await s.call('GET', `/v1/runs/${runId}/result`);
  assert.equal(result.status, 200);
  assert.deepEqual(result.body, (done as any).result);
});

test('a run id that does not belong to the GUID\'s workflow answers 404, as does another tenant\'s', async () => {
  const a = await raw('POST', `/task/executepolling/${guids.quick}`);
  const runA = a.headers.get('location')!.split('/').at(-2)!;
  assert.equal((await raw('GET', `/task/executepolling/${guids.iupdate}/${runA}/status`)).status, 404, 'a run of another workflow');
  assert.equal((await raw('GET', `/task/executepolling/${guids.quick}/00000000-0000-7000-8000-000000000000/status`)).status, 404);
  assert.equal((await raw('GET', `/task/executepolling/${guids.quick}/00000/status`)).status, 404, 'the seed\'s placeholder id');
  assert.equal((await raw('GET', `/task/executepolling/${guids.quick}/${runA}/status`)).status !== 404, true);

  // Another tenant's workflow: its GUID works (the GUID is the credential), our run id does not.
  const k = await s.call('POST', '/v1/keys', { json: { name: 'acme-admin', role: 'admin', tenant: 'acme' } });
  assert.equal(k.status, 201, k.text);
  const other = await s.putWorkflow('quick', 'id: quick\nsteps:\n  - id: done\n    type: set\n    set: { acme: true }\n', { token: k.body.token });
  assert.equal(other.status, 201, other.text);
  const acmeGuid = other.body.triggers.guid;
  assert.notEqual(acmeGuid, guids.quick);
  assert.equal((await raw('GET', `/task/executepolling/${acmeGuid}/${runA}/status`)).status, 404, "another tenant's GUID cannot read our run");
  const acmeStart = await raw('POST', `/task/execute/${acmeGuid}`);
  assert.equal(acmeStart.status, 200);
  const acmeRun = (await acmeStart.json()).runId;
  assert.equal((await s.call('GET', `/v1/runs/${acmeRun}`)).status, 404, 'the run belongs to the tenant of the GUID');
  assert.equal((await s.call('GET', `/v1/runs/${acmeRun}`, { tenant: 'acme' })).status, 200);
});

test('trigger.public: false turns execute, executepolling and the status URL off', async () => {
  const guid = guids.private;
  assert.equal((await raw('POST', `/task/execute/${guid}`)).status, 404);
  assert.equal((await raw('POST', `/task/executepolling/${guid}`)).status, 404);
  // A run started natively cannot be polled through the CSI URL either.
  const r = await s.trigger('private', {});
  assert.equal((await raw('GET', `/task/executepolling/${guid}/${r.body.id}/status`)).status, 404);
  // Making it public again turns them on.
  const pub = await s.putWorkflow('private', 'id: private\nsteps:\n  - id: done\n    type: set\n    set: { ok: true }\n');
  assert.equal(pub.status, 201);
  assert.equal(pub.body.triggers.guid, guid, 'the GUID stays with the workflow across versions');
  assert.equal((await raw('POST', `/task/execute/${guid}`)).status, 200);
});

test('Idempotency-Key on the CSI URLs: a repeated start returns the same run', async () => {
  const h = { 'idempotency-key': 'nightly-2024-05-01' };
  const a = await raw('POST', `/task/executepolling/${guids.quick}`, '', h);
  const b = await raw('POST', `/task/executepolling/${guids.quick}`, '', h);
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  assert.equal(a.headers.get('location'), b.headers.get('location'));
});

test('GET on the start URLs is not allowed; the status URL needs no Authorization', async () => {
  const r = await raw('GET', `/task/execute/${guids.quick}`);
  assert.equal(r.status, 405);
  assert.match(r.headers.get('allow') ?? '', /POST/);
});

test('execute answers the job\'s status when the answer is written, as docs/compatibility.md states', async () => {
  const quick = await (await raw('POST', `/task/execute/${guids.quick}`, '')).json();
  assert.equal(quick.success, true);
  assert.equal(quick.status, 'Completed', 'a workflow that finished in its first commit is already Completed');
  const iupdate = await (await raw('POST', `/task/execute/${guids.iupdate}`, '')).json();
  assert.ok(['Queued', 'In Progress'].includes(iupdate.status), iupdate.status);
  const crash = await (await raw('POST', `/task/execute/${guids.crash}`, '')).json();
  assert.equal(crash.success, true, 'success says the job started');
  assert.equal(crash.status, 'Failed');
});
