// Limits and hostile input (docs/spec.md §4 "Limits", §8.14) and the system endpoints (§4, §8.3): every
// refusal is a complete problem answer, nothing is created, and the server stays up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  const r = await s.putWorkflow('sink', `id: sink
params:
  amount: { type: number }
steps:
  - id: done
    type: set
    set: { ok: true }
`);
  assert.equal(r.status, 201, r.text);
});
after(() => s.close());

const MiB = 1024 * 1024;

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
}

/** One request through node:http on the given agent (so keep-alive reuse can be observed). */
function send(agent: http.Agent, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const url = new URL(s.url + path);
    const req = http.request({
      agent, method, host: url.hostname, port: url.port, path: url.pathname + url.search,
      headers: { authorization: `Bearer ${ADMIN}`, ...headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), reusedSocket: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a body over 1 MiB is a complete 413 problem, the connection stays usable, nothing is created', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const before = await s.runCount();
    const warm = await send(agent, 'GET', '/healthz');
    assert.equal(warm.status, 200);
    const big = Buffer.from(JSON.stringify({ amount: 1, pad: 'x'.repeat(Math.ceil(1.5 * MiB)) }));
    const r = await send(agent, 'POST', '/v1/workflows/sink/runs', big, { 'content-type': 'application/json' });
    assert.equal(r.status, 413, r.body.slice(0, 200));
    assert.match(r.headers['content-type'] ?? '', /^application\/problem\+json/);
    const problem = JSON.parse(r.body);
    assert.equal(problem.status, 413);
    assert.match(problem.type, /payload-too-large$/);
    assert.equal(r.reusedSocket, true);
    const next = await send(agent, 'GET', '/healthz');
    assert.equal(next.status, 200);
    assert.equal(next.reusedSocket, true, 'the next request reuses the same keep-alive connection');

    // Chunked (no Content-Length) is held to the same limit.
    const chunked = await new Promise<RawAnswer>((resolve, reject) => {
      const url = new URL(`${s.url}/v1/workflows/sink/runs`);
      const req = http.request({ agent, method: 'POST', host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), reusedSocket: req.reusedSocket }));
      });
      req.on('error', reject);
      req.write('{"pad":"');
      for (let i = 0; i < 12; i++) req.write('y'.repeat(128 * 1024));
      req.end('"}');
    });
    assert.equal(chunked.status, 413);
    assert.equal((await send(agent, 'GET', '/healthz')).status, 200);
    assert.equal(await s.runCount(), before);
  } finally {
    agent.destroy();
  }
});

test('a body declared far beyond the limit is refused at once with 413 and Connection: close', async () => {
  const port = Number(new URL(s.url).port);
  const answer = await new Promise<string>((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write(`POST /v1/workflows/sink/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: application/json\r\nContent-Length: ${64 * MiB}\r\n\r\n{"a":`);
    });
    let got = '';
    sock.on('data', (c) => {
      got += c.toString('latin1');
      // Done once the whole answer is in (the server may linger before it closes the socket).
      const head = got.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(got);
      if (head !== -1 && length && got.length - head - 4 >= Number(length[1])) {
        sock.destroy();
        resolve(got);
      }
    });
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
    sock.setTimeout(5000, () => {
      sock.destroy();
      resolve(got);
    });
  });
  assert.match(answer, /^HTTP\/1\.1 413 /);
  assert.match(answer, /\r\nconnection: close\r\n/i);
  assert.match(answer, /application\/problem\+json/);
});

test('run data over 256 KiB (within the body limit) is 413 and creates nothing', async () => {
  const before = await s.runCount();
  const r = await s.trigger('sink', { pad: 'z'.repeat(300 * 1024) });
  assert.equal(r.status, 413, r.text.slice(0, 200));
  assert.equal(await s.runCount(), before);
});

test('malformed JSON, bad UTF-8, unsupported media types and XML entities are refused', async () => {
  const before = await s.runCount();
  const cases: { raw: string | Buffer; type: string; status: number }[] = [
    { raw: '{"amount": 1,', type: 'application/json', status: 400 },
    { raw: '[1, 2, 3]', type: 'application/json', status: 400 },
    { raw: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), type: 'application/json', status: 400 },
    { raw: 'amount=1', type: 'text/csv-but-not-really', status: 415 },
    { raw: 'GIF89a', type: 'image/gif', status: 415 },
    { raw: '<?xml version="1.0"?><!DOCTYPE task [<!ENTITY x "boom">]><task><amount>&x;</amount></task>', type: 'application/xml', status: 400 },
    { raw: '<!DOCTYPE task SYSTEM "file:///etc/passwd"><task><amount>1</amount></task>', type: 'application/xml', status: 400 },
    { raw: '<task><amount>1</amount>', type: 'application/xml', status: 400 },
  ];
  for (const c of cases) {
    const r = await s.call('POST', '/v1/workflows/sink/runs', { raw: c.raw, type: c.type });
    assert.equal(r.status, c.status, `${c.type} ${String(c.raw).slice(0, 40)}: ${r.status} ${r.text}`);
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(r.body.status, c.status);
    assert.equal(typeof r.body.title, 'string');
    assert.equal(typeof r.body.detail, 'string');
    assert.ok(!/passwd|root:/.test(r.text));
  }
  assert.equal(await s.runCount(), before);
});

test('an unknown route is a 404 problem; a wrong method is 405 with Allow', async () => {
  const missing = await s.call('GET', '/v1/nothing-here');
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(missing.body.status, 404);
  const unauthenticated = await s.call('GET', '/v1/no/such/path', { token: null });
  assert.equal(unauthenticated.status, 404);
  // Outside the API every path is one of the console's own routes: its index.html answers.
  const consoleRoute = await s.call('GET', '/no/such/path', { token: null });
  assert.equal(consoleRoute.status, 200);
  assert.match(consoleRoute.headers.get('content-type') ?? '', /^text\/html/);

  const wrong = await s.call('PATCH', '/v1/workflows/sink', { json: {} });
  assert.equal(wrong.status, 405);
  assert.match(wrong.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const allow = (wrong.headers.get('allow') ?? '').split(/,\s*/).sort();
  assert.deepEqual(allow, ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PUT']);
  const wrongPost = await s.call('DELETE', '/v1/runs');
  assert.equal(wrongPost.status, 405);
});

test('/healthz and /readyz answer 200 without a token', async () => {
  const h = await s.call('GET', '/healthz', { token: null });
  assert.equal(h.status, 200);
  const r = await s.call('GET', '/readyz', { token: null });
  assert.equal(r.status, 200);
});

test('/metrics is Prometheus text with flowgate_ metrics', async () => {
  await s.trigger('sink', { amount: 1 }, 'wait=5');
  const m = await s.call('GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type') ?? '', /^text\/plain/);
  assert.match(m.text, /^# (HELP|TYPE) flowgate_\w+/m);
  assert.match(m.text, /^flowgate_\w+(\{[^}]*\})? \d/m);
});

test('/v1/openapi.json is an OpenAPI 3.1 document that describes the native API', async () => {
  const r = await s.call('GET', '/v1/openapi.json', { token: null });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /json/);
  assert.match(r.body.openapi, /^3\.1\.\d+$/);
  assert.ok(r.body.info?.title);
  for (const p of ['/v1/workflows/{id}', '/v1/workflows/{id}/runs', '/v1/runs/{id}', '/v1/runs/{id}/result', '/v1/callbacks/{token}']) {
    assert.ok(r.body.paths?.[p], `documents ${p}`);
  }
});

test('the server is still up and serving after all of it', async () => {
  assert.equal((await s.call('GET', '/healthz', { token: null })).status, 200);
  const r = await s.trigger('sink', { amount: 2 }, 'wait=5');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { amount: 2, ok: true });
});
