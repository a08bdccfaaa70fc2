// GET /v1/runs/stream: the live changes of the caller's tenant's runs (Server-Sent Events), with the
// filters, the per-tenant cap, the slow-reader bound and the end on shutdown, over real HTTP.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { openSse, sseUntil, type SseStream } from '../helpers/sse.js';

let s: TestServer;
let acmeKey: string;
let readKey: string;
const streams: SseStream[] = [];

const parked = (id: string): string => `id: ${id}
steps:
  - id: hold
    type: wait
    timeout: 1h
`;
const quick = (id: string): string => `id: ${id}
steps:
  - id: answer
    type: reply
    data: { ok: true }
`;

before(async () => {
  s = await startTestServer();
  acmeKey = (await s.call('POST', '/v1/keys', { json: { name: 'acme', role: 'admin', tenant: 'acme' } })).body.token;
  readKey = (await s.call('POST', '/v1/keys', { json: { name: 'reader', role: 'read', tenant: 'default' } })).body.token;
  await s.createWorkflow('held', parked('held'));
  await s.createWorkflow('quick', quick('quick'));
  assert.equal((await s.putWorkflow('held', parked('held'), { token: acmeKey })).status, 201);
});
after(async () => {
  for (const st of streams) st.close();
  await s.close();
});

async function stream(query = '', token = ADMIN, base = s.url): Promise<SseStream> {
  const st = await openSse(`${base}/v1/runs/stream${query}`, { authorization: `Bearer ${token}` });
  streams.push(st);
  return st;
}

test('a stream sees its own tenant\'s runs as they are created and change, in the shape of GET /v1/runs', async () => {
  const mine = await stream('', readKey);
  assert.equal(mine.res.status, 200);
  assert.match(mine.res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const theirs = await stream('', acmeKey);
  const acmeRun = (await s.trigger('held', { who: 'acme' }, '', { token: acmeKey })).body.id;
  const run = (await s.trigger('held', { who: 'me' })).body.id;
  const waiting = await sseUntil(mine, (e) => e.data.id === run && e.data.status === 'waiting');
  assert.ok(waiting.hit, 'the new run was announced');
  assert.equal(waiting.hit.event, 'run');
  assert.ok(waiting.seen.every((e) => e.data.id !== acmeRun), 'no other tenant\'s run');
  const listed = (await s.call('GET', '/v1/runs?workflow=held&limit=1')).body.items[0];
  assert.deepEqual(Object.keys(waiting.hit.data).sort(), Object.keys(listed).sort());
  assert.equal(waiting.hit.data.input.who, 'me');

  const cancelled = await s.call('POST', `/v1/runs/${run}/cancel`);
  assert.equal(cancelled.status, 200);
  const ended = await sseUntil(mine, (e) => e.data.id === run && e.data.status === 'cancelled');
  assert.ok(ended.hit, 'the change of status was announced');

  const acme = await sseUntil(theirs, (e) => e.data.id === acmeRun);
  assert.ok(acme.hit);
  assert.ok(acme.seen.every((e) => e.data.id !== run), 'the other stream sees none of mine');
});

test('filters: workflow, and status (a run that leaves the status is sent once more)', async () => {
  const byWorkflow = await stream('?workflow=quick');
  const byStatus = await stream('?status=waiting');
  const q = (await s.trigger('quick', {})).body.id;
  const h = (await s.trigger('held', {})).body.id;
  const quickSeen = await sseUntil(byWorkflow, (e) => e.data.id === q && e.data.status === 'succeeded');
  assert.ok(quickSeen.hit);
  const waitingSeen = await sseUntil(byStatus, (e) => e.data.id === h);
  assert.equal(waitingSeen.hit?.data.status, 'waiting');
  assert.ok(waitingSeen.seen.every((e) => e.data.id !== q), 'a run that never waited is not sent');
  await s.call('POST', `/v1/runs/${h}/cancel`);
  const left = await sseUntil(byStatus, (e) => e.data.id === h);
  assert.equal(left.hit?.data.status, 'cancelled', 'it left the status: sent so the list can drop it');
  // The held run never reaches the workflow=quick stream: the next event there is the next quick run.
  const q2 = (await s.trigger('quick', {})).body.id;
  const next = await sseUntil(byWorkflow, (e) => e.data.id === q2);
  assert.ok(next.seen.every((e) => e.data.workflow === 'quick'), JSON.stringify(next.seen.map((e) => e.data.workflow)));
});

test('bad input is a problem, not a stream: unknown status 422, no token 401', async () => {
  const bad = await s.call('GET', '/v1/runs/stream?status=sleeping');
  assert.equal(bad.status, 422);
  assert.equal(bad.body.errors[0].path, 'status');
  assert.equal((await s.call('GET', '/v1/runs/stream', { token: null })).status, 401);
  assert.equal((await s.call('GET', '/v1/runs/stream', { token: 'not-a-key' })).status, 401);
});

test('the retry hint comes first; streams per tenant are capped (429), other tenants unaffected; streams end when the server closes', async () => {
  const own = await startTestServer({ FLOWGATE_RUN_STREAMS_PER_TENANT: '2', FLOWGATE_SSE_HEARTBEAT_MS: '50' });
  try {
    const key = (await own.call('POST', '/v1/keys', { json: { name: 'other', role: 'read', tenant: 'other' } })).body.token;
    // The raw bytes: a retry hint, then heartbeat comments.
    const raw = await fetch(`${own.url}/v1/runs/stream`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const reader = raw.body!.getReader();
    let text = '';
    while (!text.includes(': ping')) text += new TextDecoder().decode((await reader.read()).value);
    assert.match(text, /^retry: \d+\n\n/);
    const second = await stream('', ADMIN, own.url);
    const third = await own.call('GET', '/v1/runs/stream');
    assert.equal(third.status, 429, third.text);
    assert.match(third.body.detail, /at most 2/);
    assert.ok(third.headers.get('retry-after'));
    const otherTenant = await stream('', key, own.url);
    assert.equal(otherTenant.res.status, 200);
    // Closing a stream frees its place.
    await reader.cancel();
    let again: SseStream | null = null;
    for (let i = 0; i < 50 && !again; i++) {
      const r = await fetch(`${own.url}/v1/runs/stream`, { headers: { authorization: `Bearer ${ADMIN}` } });
      if (r.status === 200) again = { res: r, next: async () => null, close: () => void r.body?.cancel() };
      else await new Promise((res) => setTimeout(res, 20));
    }
    assert.ok(again, 'a place came free');
    again.close();

    const t0 = Date.now();
    await own.close();
    assert.ok(Date.now() - t0 < 4000, `close waited ${Date.now() - t0} ms for open streams`);
    const end = await sseUntil(second, () => false, 3000);
    assert.equal(end.hit, null, 'the stream ended');
  } finally {
    await own.close();
  }
});

test('a reader that stops reading is dropped once its backlog passes the bound (memory stays bounded)', async () => {
  const own = await startTestServer({ FLOWGATE_SSE_MAX_BUFFER_BYTES: '65536' });
  try {
    await own.createWorkflow('big', parked('big'));
    let received = '';
    let ended = false;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(`${own.url}/v1/runs/stream`, { headers: { authorization: `Bearer ${ADMIN}` } }, resolve);
      req.on('error', reject);
    });
    assert.equal(res.statusCode, 200);
    res.pause(); // reads nothing from here on
    res.on('data', (c: Buffer) => { received += c.toString('utf8'); });
    res.on('end', () => { ended = true; });
    res.on('aborted', () => { ended = true; });
    res.on('error', () => { ended = true; });
    res.on('close', () => { ended = true; });
    const pad = 'x'.repeat(60_000);
    const total = 150;
    for (let b = 0; b < total / 15; b++) {
      const items = Array.from({ length: 15 }, (_, i) => ({ data: { n: b * 15 + i, pad } }));
      const r = await own.call('POST', '/v1/workflows/big/runs/batch', { json: { items } });
      assert.equal(r.status, 200, r.text.slice(0, 200));
    }
    assert.equal(await own.runCount(), total);
    // Now read: the server must have given up on this reader, so the stream ends by itself.
    res.resume();
    const deadline = Date.now() + 10_000;
    while (!ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(ended, 'the server dropped the stream');
    const events = received.split('\n\n').filter((f) => f.startsWith('event: run')).length;
    assert.ok(events < total, `the dropped reader got ${events} of ${total} runs`);
    // The server is fine and a new stream works.
    const fresh = await openSse(`${own.url}/v1/runs/stream`, { authorization: `Bearer ${ADMIN}` });
    streams.push(fresh);
    assert.equal(fresh.res.status, 200);
  } finally {
    await own.close();
  }
});
