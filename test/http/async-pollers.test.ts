// Every native 202 works with generic asynchronous request-reply clients (docs/api.md "Response
// modes"): `@azure/core-lro`, unmodified, follows the Location of a native trigger, of a degraded
// `?wait`, of a retry and of the CSI executepolling surface to the run's answer; Flowgate's own
// `follow_async` does the same against another Flowgate server's native trigger.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createHttpPoller, type OperationResponse, type RawResponse } from '@azure/core-lro';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let guid: string;

before(async () => {
  s = await startTestServer();
  await s.createWorkflow('slow-answer', `id: slow-answer
params:
  n: { type: number, required: true }
steps:
  - id: pause
    type: delay
    for: 2s
  - id: answer
    type: reply
    data: { doubled: "{{ n * 2 }}" }
`);
  await s.createWorkflow('slow-failure', `id: slow-failure
steps:
  - id: pause
    type: delay
    for: 1s
  - id: stop
    type: end
    status: failed
    error: "out of stock"
`);
  guid = (await s.createWorkflow('slow-csi', `id: slow-csi
trigger: { public: true }
steps:
  - id: pause
    type: delay
    for: 1s
  - id: done
    type: set
    set: { finished: true }
`)).body.triggers.guid;
});
after(() => s.close());

/** What core-lro asks of a transport: the raw status, lower-cased headers and the parsed body. */
async function exchange(method: string, url: string, body?: string, auth = true): Promise<OperationResponse<unknown>> {
  const res = await fetch(url, {
    method,
    headers: { ...(auth ? { authorization: `Bearer ${ADMIN}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => { headers[k] = v; });
  const rawResponse: RawResponse = { statusCode: res.status, headers, body: parsed, request: { url, method } };
  return { flatResponse: parsed, rawResponse };
}

/** Drives an operation with core-lro's own poller, as the Azure SDKs do (Location mode). */
async function poll(method: string, url: string, body?: string, auth = true): Promise<{ result: unknown; polls: number }> {
  let polls = 0;
  const poller = createHttpPoller({
    sendInitialRequest: () => exchange(method, url, body, auth),
    sendPollRequest: (path: string) => { polls++; return exchange('GET', path, undefined, auth); },
  }, { intervalInMs: 200 });
  const result = await poller.pollUntilDone();
  return { result, polls };
}

test('core-lro follows a native 202 to the run\'s reply, polling while the run has not settled', async () => {
  const t0 = Date.now();
  const { result, polls } = await poll('POST', `${s.url}/v1/workflows/slow-answer/runs`, JSON.stringify({ n: 21 }));
  assert.deepEqual(result, { doubled: 42 });
  assert.ok(Date.now() - t0 >= 1900, 'the poller waited for the run (it did not stop at the first answer)');
  assert.ok(polls >= 2, `it polled while the run was running (${polls} polls)`);
});

test('core-lro follows a ?wait that degraded to 202 the same way', async () => {
  const { result } = await poll('POST', `${s.url}/v1/workflows/slow-answer/runs?wait=1`, JSON.stringify({ n: 5 }));
  assert.deepEqual(result, { doubled: 10 });
});

test('a failed run ends core-lro\'s polling with an error, not a success', async () => {
  await assert.rejects(poll('POST', `${s.url}/v1/workflows/slow-failure/runs`, '{}'), (e: Error) => {
    assert.doesNotMatch(e.message, /succeeded/);
    return true;
  });
});

test('a retry\'s 202 names the same monitor, which core-lro follows to the new answer', async () => {
  const failed = await s.trigger('slow-failure', {}, 'wait=5');
  assert.equal(failed.status, 500, failed.text);
  const runId = failed.headers.get('flowgate-run-id')!;
  const retried = await s.call('POST', `/v1/runs/${runId}/retry?from=start`);
  assert.equal(retried.status, 202, retried.text);
  assert.equal(retried.headers.get('location'), `${s.url}/v1/runs/${runId}/result`);
  assert.match(retried.headers.get('retry-after') ?? '', /^\d+$/);
});

test('the CSI executepolling surface passes the same poller (no key: the GUID is the credential)', async () => {
  const { result, polls } = await poll('POST', `${s.url}/task/executepolling/${guid}`, '{}', false);
  assert.ok(polls >= 1);
  const doc = result as { success: boolean; result: { finished: boolean } };
  assert.equal(doc.success, true);
  assert.equal(doc.result.finished, true);
});

test('follow_async on one Flowgate server follows another Flowgate server\'s native trigger to its reply', async () => {
  const caller = await startTestServer();
  try {
    await caller.createWorkflow('delegate', `id: delegate
steps:
  - id: remote
    type: http
    method: POST
    url: ${s.url}/v1/workflows/slow-answer/runs
    headers: { Authorization: "Bearer ${ADMIN}" }
    body: { n: 4 }
    follow_async: { timeout: 1m }
    save_as: remote
  - id: answer
    type: reply
    data: { status: "{{ remote.status }}", body: "{{ remote.body }}" }
`);
    const r = await caller.trigger('delegate', {}, 'wait=20');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { status: 200, body: { doubled: 8 } });
  } finally {
    await caller.close();
  }
});
