// HTTP conventions (docs/api.md "Conventions"): HEAD and OPTIONS, a malformed cursor, Preference-Applied,
// ETag with If-Match / If-None-Match on workflows, and CORS (off by default, allowed origins configurable).
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

const reply = (id: string, value: number): string => `id: ${id}
steps:
  - id: answer
    type: reply
    data: { value: ${value} }
`;

/** A raw request (fetch refuses to send some of these, and drops a HEAD's framing details). */
function raw(url: string, method: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${url} did not end within 5 s`)));
    req.end();
  });
}

let s: TestServer;
let auth: Record<string, string>;
before(async () => {
  s = await startTestServer();
  auth = { authorization: `Bearer ${(await s.call('POST', '/v1/keys', { json: { name: 'reader', role: 'read', tenant: 'default' } })).body.token}` };
  await s.createWorkflow('conv', reply('conv', 1));
});
after(() => s.close());

describe('HEAD and OPTIONS', () => {
  test('HEAD answers what GET would, without the body', async () => {
    const get = await raw(`${s.url}/v1/workflows/conv`, 'GET', auth);
    const head = await raw(`${s.url}/v1/workflows/conv`, 'HEAD', auth);
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-type'], get.headers['content-type']);
    assert.equal(head.headers['content-length'], String(Buffer.byteLength(get.body)));
    assert.equal(head.headers.etag, get.headers.etag);
    assert.equal((await raw(`${s.url}/v1/workflows/none`, 'HEAD', auth)).status, 404);
    assert.equal((await raw(`${s.url}/v1/workflows/conv`, 'HEAD')).status, 401, 'HEAD needs the same credentials as GET');
  });

  test('HEAD of an event stream gives its headers and ends at once', async () => {
    const run = await s.trigger('conv');
    const head = await raw(`${s.url}/v1/runs/${run.body.id}/events`, 'HEAD', auth);
    assert.equal(head.status, 200);
    assert.match(String(head.headers['content-type']), /^text\/event-stream/);
    assert.equal(head.body, '');
    const feed = await raw(`${s.url}/v1/runs/stream`, 'HEAD', auth);
    assert.equal(feed.status, 200);
  });

  test('OPTIONS lists the methods of a path without credentials; an unknown API path is 404', async () => {
    const o = await raw(`${s.url}/v1/workflows/conv`, 'OPTIONS');
    assert.equal(o.status, 204);
    assert.deepEqual(String(o.headers.allow).split(/,\s*/).sort(), ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PUT']);
    assert.equal(o.headers['access-control-allow-origin'], undefined, 'CORS is off by default');
    const runs = await raw(`${s.url}/v1/workflows/conv/runs`, 'OPTIONS');
    assert.deepEqual(String(runs.headers.allow).split(/,\s*/).sort(), ['OPTIONS', 'POST']);
    assert.equal((await raw(`${s.url}/v1/no-such-thing`, 'OPTIONS')).status, 404);
    const server = await raw(`${s.url}/*`.replace('/*', ''), 'OPTIONS');
    assert.equal(server.status, 204, 'OPTIONS / is the console page');
    assert.equal((await raw(`${s.url}/v1/workflows/conv`, 'PATCH', auth)).headers.allow?.includes('HEAD'), true);
  });
});

describe('lists and waits', () => {
  test('a cursor that no list handed out is a 400 naming the cursor, never the first page', async () => {
    for (const path of ['/v1/runs?cursor=abc', '/v1/runs?cursor=0196a000-0000-7000-8000-00000000000Z', '/v1/workflows/conv/versions?cursor=x1']) {
      const r = await s.call('GET', path);
      assert.equal(r.status, 400, `${path}: ${r.text}`);
      assert.equal(r.body.errors[0].path, 'cursor');
    }
    const first = await s.call('GET', '/v1/runs?limit=1');
    assert.equal(first.status, 200);
    if (first.body.next_cursor) assert.equal((await s.call('GET', `/v1/runs?cursor=${first.body.next_cursor}`)).status, 200);
  });

  test('Prefer: wait=N is answered with Preference-Applied naming the wait given; ?wait is not a preference', async () => {
    const preferred = await s.call('POST', '/v1/workflows/conv/runs', { json: {}, headers: { prefer: 'wait=5' } });
    assert.equal(preferred.status, 200, preferred.text);
    assert.equal(preferred.headers.get('preference-applied'), 'wait=5');
    const capped = await s.call('POST', '/v1/workflows/conv/runs', { json: {}, headers: { prefer: 'respond-async, wait=100000' } });
    assert.equal(capped.headers.get('preference-applied'), 'wait=300', 'capped at FLOWGATE_MAX_WAIT_SECONDS');
    const query = await s.call('POST', '/v1/workflows/conv/runs?wait=5', { json: {} });
    assert.equal(query.status, 200);
    assert.equal(query.headers.get('preference-applied'), null);
    const plain = await s.call('POST', '/v1/workflows/conv/runs', { json: {} });
    assert.equal(plain.status, 202);
    assert.equal(plain.headers.get('preference-applied'), null);
  });
});

describe('ETag and conditional PUT', () => {
  test('GET carries the ETag; If-None-Match with it is a 304; any change of the head changes it', async () => {
    await s.createWorkflow('tagged', reply('tagged', 1));
    const a = await s.call('GET', '/v1/workflows/tagged');
    const etag = a.headers.get('etag')!;
    assert.match(etag, /^"1-[0-9a-f]{16}"$/);
    const same = await raw(`${s.url}/v1/workflows/tagged`, 'GET', { ...auth, 'if-none-match': `W/${etag}` });
    assert.equal(same.status, 304);
    assert.equal(same.headers.etag, etag);
    assert.equal(same.body, '');
    const rotated = await s.call('POST', '/v1/workflows/tagged/hash/rotate');
    assert.notEqual(rotated.headers.get('etag'), etag, 'a rotated hash changes what GET shows: a new tag');
    assert.equal((await s.call('GET', '/v1/workflows/tagged', { headers: { 'if-none-match': etag } })).status, 200);
  });

  test('If-Match with a stale ETag is a 412 that changes nothing; with the current one the save goes through', async () => {
    const created = await s.createWorkflow('edited', reply('edited', 1));
    const v1 = created.headers.get('etag')!;
    assert.ok(v1);
    const second = await s.putWorkflow('edited', reply('edited', 2), { headers: { 'if-match': v1 } });
    assert.equal(second.status, 201, second.text);
    const v2 = second.headers.get('etag')!;
    assert.notEqual(v2, v1);
    const stale = await s.putWorkflow('edited', reply('edited', 3), { headers: { 'if-match': v1 } });
    assert.equal(stale.status, 412, stale.text);
    assert.match(stale.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(stale.headers.get('etag'), v2, 'the 412 names the current tag');
    const now = await s.call('GET', '/v1/workflows/edited');
    assert.equal(now.body.version, 2, 'nothing was saved');
    assert.equal((await s.putWorkflow('edited', reply('edited', 3), { headers: { 'if-match': `W/${v2}` } })).status, 412, 'If-Match compares strongly');
    assert.equal((await s.putWorkflow('edited', reply('edited', 3), { headers: { 'if-match': `"nope", ${v2}` } })).status, 201);
    assert.equal((await s.putWorkflow('never', reply('never', 1), { headers: { 'if-match': '*' } })).status, 412, 'If-Match: * needs the workflow to exist');
    assert.equal((await s.call('GET', '/v1/workflows/never')).status, 404);
    assert.equal((await s.putWorkflow('edited', reply('edited', 4), { headers: { 'if-match': 'not-a-tag' } })).status, 400);
  });

  test('If-None-Match: * creates only: the second editor gets a 412', async () => {
    const first = await s.putWorkflow('fresh', reply('fresh', 1), { headers: { 'if-none-match': '*' } });
    assert.equal(first.status, 201, first.text);
    const again = await s.putWorkflow('fresh', reply('fresh', 2), { headers: { 'if-none-match': '*' } });
    assert.equal(again.status, 412);
    assert.equal((await s.call('GET', '/v1/workflows/fresh')).body.version, 1);
  });

  test('two editors saving on the same ETag at once: exactly one wins, the other gets a 412', async () => {
    const base = await s.createWorkflow('raced', reply('raced', 1));
    const etag = base.headers.get('etag')!;
    const answers = await Promise.all([2, 3, 4, 5].map((v) => s.putWorkflow('raced', reply('raced', v), { headers: { 'if-match': etag } })));
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 412, 412, 412], answers.map((a) => a.text).join('\n'));
    assert.equal((await s.call('GET', '/v1/workflows/raced')).body.version, 2);
  });
});

describe('CORS', () => {
  let c: TestServer;
  before(async () => {
    c = await startTestServer({ FLOWGATE_CORS_ORIGINS: 'http://app.example.test:3000, https://ops.example.test' });
  });
  after(() => c.close());

  test('off by default: no CORS header for any origin', async () => {
    const r = await s.call('GET', '/v1/workflows', { headers: { origin: 'http://app.example.test:3000' } });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });

  test('an allowed origin is echoed with Vary and the exposed headers; another origin gets nothing', async () => {
    const ok = await c.call('GET', '/v1/workflows', { headers: { origin: 'https://ops.example.test' } });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://ops.example.test');
    assert.match(ok.headers.get('vary') ?? '', /Origin/);
    assert.match(ok.headers.get('access-control-expose-headers') ?? '', /Location/);
    assert.match(ok.headers.get('access-control-expose-headers') ?? '', /ETag/);
    const other = await c.call('GET', '/v1/workflows', { headers: { origin: 'https://evil.example.test' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const problem = await c.call('GET', '/v1/workflows', { token: null, headers: { origin: 'https://ops.example.test' } });
    assert.equal(problem.status, 401);
    assert.equal(problem.headers.get('access-control-allow-origin'), 'https://ops.example.test', 'errors are readable by the page too');
  });

  test('a preflight from an allowed origin is answered with the methods and the headers asked; from another, without', async () => {
    const pre = await raw(`${c.url}/v1/workflows/conv/runs`, 'OPTIONS', {
      origin: 'http://app.example.test:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, idempotency-key',
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'http://app.example.test:3000');
    assert.equal(pre.headers['access-control-allow-methods'], 'POST, OPTIONS');
    assert.equal(pre.headers['access-control-allow-headers'], 'authorization, content-type, idempotency-key');
    assert.equal(pre.headers['access-control-max-age'], '600');
    const refused = await raw(`${c.url}/v1/workflows/conv/runs`, 'OPTIONS', { origin: 'https://evil.example.test', 'access-control-request-method': 'POST' });
    assert.equal(refused.status, 204);
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    assert.equal(refused.headers['access-control-allow-methods'], undefined);
  });

  test('a malformed origin list stops the start with the setting named', async () => {
    await assert.rejects(startTestServer({ FLOWGATE_CORS_ORIGINS: 'app.example.test' }), /FLOWGATE_CORS_ORIGINS/);
    await assert.rejects(startTestServer({ FLOWGATE_CORS_ORIGINS: 'https://app.example.test/path' }), /FLOWGATE_CORS_ORIGINS/);
  });
});
