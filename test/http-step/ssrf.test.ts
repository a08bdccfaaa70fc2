/**
 * The SSRF guard of the outgoing HTTP client (docs/spec.md §6, §8.12), against loopback targets only.
 *
 * Safety net: every OutboundHttp here is built with a `beforeConnect` that refuses any address that
 * is not loopback, so even a broken guard cannot make a test open a connection to anything else;
 * the injectable resolver stands in for DNS (private answers, rebinding).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OutboundHttp, type ConnectTarget, type Resolver } from '../../src/app/outbound.js';
import { parseAllowList } from '../../src/app/ssrf.js';
import type { HttpRequest } from '../../src/steps/types.js';
import { json, startLocalTarget, type LocalTarget } from './targets.js';

const isLoopback = (ip: string): boolean => /^127\./.test(ip) || ip === '::1' || /^::ffff:127\./i.test(ip);

function client(opts: { allow?: string; resolve?: Resolver; self?: () => { bases: string[]; local: string } } = {}) {
  const connects: ConnectTarget[] = [];
  const http = new OutboundHttp({
    allow: parseAllowList(opts.allow ?? ''),
    resolve: opts.resolve,
    self: opts.self,
    beforeConnect: (t) => {
      connects.push(t);
      if (!isLoopback(t.address)) throw new Error(`TEST SAFETY NET: refused to connect to ${t.address}`);
    },
  });
  return { http, connects };
}

const req = (url: string, more: Partial<HttpRequest> = {}): HttpRequest => ({
  method: 'GET', url, headers: {}, timeoutMs: 3000, tlsVerify: true, maxResponseBytes: 1 << 20, ...more,
});

async function refused(p: Promise<unknown>, pattern: RegExp = /refused to connect/): Promise<void> {
  await assert.rejects(p, (e: any) => {
    assert.equal(e.code, 'ssrf', `expected an ssrf refusal, got ${e.code}: ${e.message}`);
    assert.equal(e.retryable, false, 'SSRF refusals are never retried');
    assert.match(e.message, pattern);
    return true;
  });
}

let a: LocalTarget;
let b: LocalTarget;
let v6: LocalTarget | null = null;
const clients: OutboundHttp[] = [];
const track = <T extends { http: OutboundHttp }>(c: T): T => {
  clients.push(c.http);
  return c;
};

before(async () => {
  a = await startLocalTarget((r, res) => {
    const path = r.url.split('?')[0];
    if (path === '/to-b') return json(res, 302, {}, { location: `${b.url}/landed` });
    if (path === '/to-b-307') return json(res, 307, {}, { location: `${b.url}/landed` });
    if (path === '/to-private') return json(res, 302, {}, { location: 'http://10.0.0.1/admin' });
    if (path === '/to-metadata-name') return json(res, 301, {}, { location: 'http://metadata.test/latest/meta-data/' });
    if (path === '/to-v6') return json(res, 302, {}, { location: `http://[::1]:${b.port}/landed` });
    if (path === '/to-decimal') return json(res, 302, {}, { location: `http://2130706433:${b.port}/landed` });
    if (path === '/see-other') return json(res, 303, {}, { location: '/landed' });
    if (path === '/loop') return json(res, 302, {}, { location: '/loop' });
    if (path === '/close') return json(res, 200, { ok: true }, { connection: 'close' });
    json(res, 200, { at: 'a', method: r.method, url: r.url, host: r.headers.host, auth: r.headers.authorization ?? null, body: r.body });
  });
  b = await startLocalTarget((r, res) => json(res, 200, { at: 'b', method: r.method, url: r.url, auth: r.headers.authorization ?? null, body: r.body }));
  try {
    v6 = await startLocalTarget((_r, res) => json(res, 200, { at: 'v6' }), { host: '::1' });
  } catch {
    v6 = null; // no IPv6 loopback on this machine
  }
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all([a.close(), b.close(), v6?.close()]);
});

describe('addresses in the URL', () => {
  test('loopback is refused without an allow-list entry, before any connection', async () => {
    const { http, connects } = track(client());
    await refused(http.request(req(`${a.url}/x`)), /127\.0\.0\.1: a loopback address/);
    assert.equal(connects.length, 0);
    assert.equal(a.to('/x').length, 0);
  });

  test('numeric encodings of 127.0.0.1 and other loopback spellings are caught', async () => {
    const { http, connects } = track(client());
    const before = a.connections;
    const spellings = [
      `http://2130706433:${a.port}/`, `http://0x7f.1:${a.port}/`, `http://017700000001:${a.port}/`, `http://0x7f000001:${a.port}/`,
      `http://127.1:${a.port}/`, `http://0177.0.0.1:${a.port}/`, `http://127.0.0.2:${a.port}/`, `http://127.255.255.254:${a.port}/`,
      `http://[::ffff:127.0.0.1]:${a.port}/`, `http://[::ffff:7f00:1]:${a.port}/`, `http://[::1]:${a.port}/`,
      `http://[0:0:0:0:0:0:0:1]:${a.port}/`, `http://localhost:${a.port}/`, `http://0.0.0.0:${a.port}/`, `http://0:${a.port}/`,
    ];
    for (const url of spellings) await refused(http.request(req(url)));
    assert.equal(connects.length, 0, 'no connection was attempted for any spelling');
    assert.equal(a.connections, before);
  });

  test('metadata, private and link-local literals are refused', async () => {
    const { http, connects } = track(client());
    await refused(http.request(req('http://169.254.169.254/latest/meta-data/')), /metadata/);
    await refused(http.request(req('http://[fd00:ec2::254]/')), /metadata/);
    await refused(http.request(req('http://[::ffff:169.254.169.254]/')), /metadata/);
    await refused(http.request(req('http://10.0.0.1/')), /private/);
    await refused(http.request(req('http://[fe80::1]/')), /link-local/);
    await refused(http.request(req('http://224.0.0.1/')), /multicast/);
    assert.equal(connects.length, 0);
  });

  test('an allow-list entry lets the address through, in any spelling', async () => {
    const { http } = track(client({ allow: '127.0.0.1' }));
    const direct = await http.request(req(`${a.url}/ok`));
    assert.equal(direct.status, 200);
    const decimal = await http.request(req(`http://2130706433:${a.port}/ok`));
    assert.equal(decimal.status, 200, 'the same address by another spelling');
    await refused(http.request(req(`http://127.0.0.2:${a.port}/ok`)), /127\.0\.0\.2/);
  });

  test('a host:port entry allows that port only', async () => {
    const { http } = track(client({ allow: `127.0.0.1:${a.port}` }));
    assert.equal((await http.request(req(`${a.url}/ok`))).status, 200);
    await refused(http.request(req(`${b.url}/ok`)));
    assert.equal(b.to('/ok').length, 0);
  });

  test('[::1] is refused, and reachable when allow-listed', async (t) => {
    if (!v6) return t.skip('no IPv6 loopback on this machine');
    const { http } = track(client());
    const before = v6!.connections;
    await refused(http.request(req(`${v6!.url}/`)), /::1/);
    assert.equal(v6!.connections, before);
    const allowed = track(client({ allow: `[::1]:${v6!.port}` }));
    assert.equal((await allowed.http.request(req(`${v6!.url}/`))).status, 200);
  });
});

describe('resolved addresses (the injectable resolver stands in for DNS)', () => {
  test('a name resolving to a private address is refused before any connection', async () => {
    const asked: string[] = [];
    const { http, connects } = track(client({ resolve: async (h) => (asked.push(h), [{ address: '10.0.0.1', family: 4 }]) }));
    await refused(http.request(req('http://internal.test/admin')), /internal\.test \(10\.0\.0\.1\): a private address/);
    assert.deepEqual(asked, ['internal.test']);
    assert.equal(connects.length, 0, 'the connect spy saw nothing');
  });

  test('a name with any blocked address among its answers is refused', async () => {
    const { http, connects } = track(client({ resolve: async () => [{ address: '93.184.216.34', family: 4 }, { address: '169.254.169.254', family: 4 }] }));
    await refused(http.request(req('http://mixed.test/')), /metadata/);
    assert.equal(connects.length, 0);
  });

  test('an IPv4-mapped IPv6 answer is judged by its IPv4 address', async () => {
    const { http, connects } = track(client({ resolve: async () => [{ address: '::ffff:192.168.0.10', family: 6 }] }));
    await refused(http.request(req('http://mapped.test/')), /private/);
    assert.equal(connects.length, 0);
  });

  test('a name resolving to an allow-listed address connects to that address, with the name in Host', async () => {
    const { http, connects } = track(client({ allow: '127.0.0.1', resolve: async () => [{ address: '127.0.0.1', family: 4 }] }));
    const res = await http.request(req(`http://api.test:${a.port}/named`));
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body.toString()).host, `api.test:${a.port}`);
    assert.deepEqual(connects.map((c) => [c.host, c.address]), [['api.test', '127.0.0.1']]);
  });

  test('a host-name entry allows the URL whatever the name resolves to', async () => {
    const { http } = track(client({ allow: 'trusted.test', resolve: async () => [{ address: '127.0.0.1', family: 4 }] }));
    assert.equal((await http.request(req(`http://trusted.test:${a.port}/named`))).status, 200);
  });

  test('DNS rebinding: a new connection re-resolves and is judged again', async () => {
    const answers = ['127.0.0.1', '10.0.0.1'];
    let i = 0;
    const { http, connects } = track(client({ allow: '127.0.0.1', resolve: async () => [{ address: answers[Math.min(i++, 1)], family: 4 }] }));
    const first = await http.request(req(`http://rebind.test:${a.port}/close`));
    assert.equal(first.status, 200);
    await refused(http.request(req(`http://rebind.test:${a.port}/close`)), /10\.0\.0\.1/);
    assert.equal(i, 2, 'the second connection resolved again');
    assert.deepEqual(connects.map((c) => c.address), ['127.0.0.1'], 'only the allowed address was ever connected to');
  });

  test('a resolver that never answers runs into the connect deadline', async () => {
    const { http } = track(client({ resolve: () => new Promise(() => undefined) }));
    const t0 = Date.now();
    await assert.rejects(http.request(req('http://slow-dns.test/', { connectTimeoutMs: 200, timeoutMs: 5000 })), (e: any) => {
      assert.equal(e.code, 'connect_timeout');
      return true;
    });
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });
});

describe('corner forms through the client: refused before any connection', () => {
  test('IPv4-translated, TEST-NET, Teredo, NAT64 and 6to4 answers and literals are refused', async () => {
    const answers = ['::ffff:0:7f00:1', '::ffff:0:a9fe:a9fe', '192.0.2.1', '198.51.100.7', '203.0.113.9', '2001::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2', '64:ff9b::a00:1', '64:ff9b:1::808:808', '2002:c0a8:1::1', '2001:db8::1', 'fe80::1%eth0'];
    for (const address of answers) {
      const { http, connects } = track(client({ resolve: async () => [{ address, family: address.includes(':') ? 6 : 4 }] }));
      await refused(http.request(req('http://corner.test/')), new RegExp(`corner\\.test \\(${address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
      assert.equal(connects.length, 0, address);
    }
    const { http, connects } = track(client());
    for (const url of [`http://[::ffff:0:7f00:1]:${a.port}/`, `http://[::ffff:0:127.0.0.1]:${a.port}/`, 'http://3405803785/', 'http://0xc0.0.2.1/',
      'http://[2001::7f00:1]/', 'http://[64:ff9b::127.0.0.1]/', `http://[2002:7f00:1::1]:${a.port}/`]) {
      await refused(http.request(req(url)));
    }
    assert.equal(connects.length, 0);
  });

  test('a prefix entry does not let an encoded slash or a dot segment through; normal paths under it pass', async () => {
    const { http, connects } = track(client({ allow: `${a.url}/hooks/` }));
    const ok = await http.request(req(`${a.url}/hooks/ok`));
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body.toString()).url, '/hooks/ok');
    const seen = connects.length;
    for (const path of ['/hooks/%2E%2E%2Fx', '/hooks/%2e%2e%2fadmin', '/hooks/..%2Fadmin', '/hooks/a%2Fb', '/hooks/%5C..%5Cadmin', '/hooks/../admin', '/hook']) {
      await refused(http.request(req(`${a.url}${path}`)), /loopback/);
    }
    assert.equal(connects.length, seen, 'nothing connected for the refused paths');
    assert.equal(a.to('/hooks/%2E%2E%2Fx').length, 0);
    assert.equal((await http.request(req(`${a.url}/%68ooks/%61`))).status, 200, 'escapes of unreserved characters are the characters');
  });
});

describe('redirects are followed here, each hop judged again', () => {
  test('a redirect from an allowed target to a non-allowed one is refused; the second target never sees a connection', async () => {
    const { http } = track(client({ allow: `127.0.0.1:${a.port}` }));
    const before = b.connections;
    await refused(http.request(req(`${a.url}/to-b`)));
    await refused(http.request(req(`${a.url}/to-b-307`)));
    await refused(http.request(req(`${a.url}/to-decimal`)));
    if (v6) await refused(http.request(req(`${a.url}/to-v6`)));
    assert.equal(b.connections, before);
  });

  test('a redirect to a private address or a name of the metadata address is refused before connecting', async () => {
    const { http, connects } = track(client({ allow: `127.0.0.1:${a.port}`, resolve: async (h) => [{ address: h === 'metadata.test' ? '169.254.169.254' : '127.0.0.1', family: 4 }] }));
    await refused(http.request(req(`${a.url}/to-private`)), /10\.0\.0\.1/);
    await refused(http.request(req(`${a.url}/to-metadata-name`)), /metadata\.test \(169\.254\.169\.254\)/);
    assert.ok(connects.every((c) => c.address === '127.0.0.1' && c.port === a.port), JSON.stringify(connects));
  });

  test('allowed redirects are followed and reported; 303 continues as GET; credentials stay at their origin', async () => {
    const { http } = track(client({ allow: '127.0.0.1' }));
    const res = await http.request(req(`${a.url}/to-b`, { method: 'POST', body: '{"x":1}', headers: { authorization: 'Bearer t', 'content-type': 'application/json' } }));
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body.toString());
    assert.equal(body.at, 'b');
    assert.equal(body.method, 'GET', '302 after POST continues as GET');
    assert.equal(body.auth, null, 'Authorization is not sent to another origin');
    assert.deepEqual(res.redirects, [{ status: 302, location: `${b.url}/landed` }]);
    assert.equal(res.url, `${b.url}/landed`);

    const kept = await http.request(req(`${a.url}/to-b-307`, { method: 'POST', body: 'same', headers: { 'content-type': 'text/plain' } }));
    assert.deepEqual([JSON.parse(kept.body.toString()).method, JSON.parse(kept.body.toString()).body], ['POST', 'same'], '307 keeps method and body');

    const seeOther = await http.request(req(`${a.url}/see-other`, { method: 'PUT', body: 'x', headers: { authorization: 'Bearer t' } }));
    const so = JSON.parse(seeOther.body.toString());
    assert.deepEqual([so.at, so.method, so.url, so.auth], ['a', 'GET', '/landed', 'Bearer t'], 'same origin keeps credentials');
  });

  test('more than 5 redirects fail with class redirects (not retried); followRedirects: false returns the 3xx', async () => {
    const { http } = track(client({ allow: '127.0.0.1' }));
    await assert.rejects(http.request(req(`${a.url}/loop`)), (e: any) => e.code === 'redirects' && e.retryable === false);
    const raw = await http.request(req(`${a.url}/to-b`, { followRedirects: false }));
    assert.equal(raw.status, 302);
    assert.equal(raw.headers.location, `${b.url}/landed`);
  });
});

test("URLs under this server's own base go to its own socket, unguarded", async () => {
  const { http, connects } = track(client({ self: () => ({ bases: ['https://flowgate.example.com'], local: a.url }), resolve: async () => [{ address: '10.0.0.1', family: 4 }] }));
  const res = await http.request(req('https://flowgate.example.com/v1/anything?q=1'));
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.body.toString()).url, '/v1/anything?q=1');
  // Only URLs under the base: a look-alike host is an ordinary, guarded request.
  await refused(http.request(req('https://flowgate.example.com.evil.test/')), /10\.0\.0\.1/);
  assert.deepEqual(connects.map((c) => c.address), ['127.0.0.1']);
});

test('a request that cannot be sent (a header with a line break) fails as invalid_request, not retryable', async () => {
  const { http, connects } = track(client({ allow: '127.0.0.1' }));
  await assert.rejects(http.request(req(`${a.url}/x`, { headers: { 'x-injected': 'a\r\nHost: evil' } })), (e: any) => e.code === 'invalid_request' && e.retryable === false);
  assert.equal(connects.length, 0);
});
