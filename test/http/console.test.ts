/**
 * Serving the web console: index.html for the console's routes (never for API or compatibility
 * paths), hashed assets cached for a year, the CSP on every console answer, no path traversal, a
 * clear page when the console is not built; and GET /v1/whoami, which the console signs in with.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CONSOLE_CSP, consoleSite } from '../../src/http/console.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => { s = await startTestServer(); });
after(async () => { await s.close(); });

const built = readdirSync(new URL('../../ui/dist/assets', import.meta.url)).find((f) => f.endsWith('.js'));

test('GET / and console routes answer index.html with the CSP and no-cache', async () => {
  for (const path of ['/', '/workflows', '/workflows/orders', '/runs/0193-abc?status=failed']) {
    const res = await fetch(s.url + path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type')!, /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('content-security-policy'), CONSOLE_CSP);
    assert.match(CONSOLE_CSP, /script-src 'self'(;|$)/);
    assert.match(CONSOLE_CSP, /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const html = await res.text();
    assert.match(html, /<div id="root">/);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  }
});

test('hashed assets are served with a one-year immutable cache and their type', async () => {
  assert.ok(built, 'the console is built');
  const res = await fetch(`${s.url}/assets/${built}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(res.headers.get('content-type')!, /^text\/javascript/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.ok((await res.text()).length > 1000);
  const head = await fetch(`${s.url}/assets/${built}`, { method: 'HEAD' });
  assert.equal(head.status, 200);
});

test('an asset goes gzipped to a client that accepts gzip (the copy the build made), as is to one that does not', async () => {
  assert.ok(built, 'the console is built');
  const get = (encoding: string | null) => new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const u = new URL(s.url);
    http.get({ host: u.hostname, port: u.port, path: `/assets/${built}`, headers: encoding === null ? {} : { 'accept-encoding': encoding } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
  const plain = await get(null);
  assert.equal(plain.headers['content-encoding'], undefined);
  const zipped = await get('br, gzip;q=0.8');
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.equal(zipped.headers.vary, 'Accept-Encoding');
  assert.equal(Number(zipped.headers['content-length']), zipped.body.length);
  assert.ok(zipped.body.length < plain.body.length / 2, `${zipped.body.length} gzipped vs ${plain.body.length}`);
  assert.deepEqual(gunzipSync(zipped.body), plain.body);
  assert.equal((await get('gzip;q=0')).headers['content-encoding'], undefined, 'q=0 refuses it');
  assert.equal((await fetch(`${s.url}/assets/${built}.gz`)).status, 404, 'the copies are not files of their own');
});

/** A raw request, so the path reaches the server exactly as written (fetch would normalize ../). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string; type: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    http.get({ host: u.hostname, port: u.port, path }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body, type: String(res.headers['content-type']) }));
    }).on('error', reject);
  });
}

test('paths outside the assets are refused (traversal, encoded slashes, NUL), missing files are 404 problems', async () => {
  for (const path of ['/assets/../../package.json', '/assets/..%2f..%2fpackage.json', '/assets/%2e%2e/%2e%2e/package.json', '/assets/x%00.js', '/assets/nope-123.js', '/assets/', '/favicon.ico', '/robots.txt']) {
    const res = await rawGet(s.url, path);
    assert.ok(res.status === 404 || res.status === 400, `${path}: ${res.status}`);
    assert.match(res.type, /problem\+json/, path);
    assert.doesNotMatch(res.body, /"name": "flowgate"/);
  }
  assert.equal((await rawGet(s.url, '/assets/%E0%A4%A')).status, 400);
});

test('API and compatibility paths never fall back to the console', async () => {
  for (const path of ['/v1/nothing', '/v1', '/healthz/x', '/api/2/json/x', '/task/nothing', '/gateway/api/v1/x', '/launch']) {
    const res = await fetch(s.url + path, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(res.status, 404, path);
    assert.match(res.headers.get('content-type')!, /problem\+json/, path);
  }
  const post = await fetch(`${s.url}/workflows`, { method: 'POST' });
  assert.equal(post.status, 404, 'only GET and HEAD are the console\'s');
});

test('a console that is not built answers a page saying how to build it (503), never a 500', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-console-'));
  const site = consoleSite(join(dir, 'missing'));
  const server = http.createServer((req, res) => {
    if (!site.serve(req, res, req.url!.split('?')[0])) { res.statusCode = 404; res.end(); }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const res = await fetch(`${url}/workflows`);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('content-security-policy'), CONSOLE_CSP);
    assert.match(await res.text(), /console is not built[\s\S]*scripts\/build-ui\.mjs/);
    // Built later (no restart): served from then on.
    mkdirSync(join(dir, 'missing'));
    writeFileSync(join(dir, 'missing', 'index.html'), '<!doctype html><div id="root"></div>');
    assert.equal((await fetch(`${url}/`)).status, 200);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GET /v1/whoami names the caller: admin token (per tenant), tenant keys with their role', async () => {
  const admin = await s.call('GET', '/v1/whoami');
  assert.equal(admin.status, 200);
  assert.deepEqual(admin.body, { kind: 'admin', role: 'admin', tenant: 'default' });

  assert.equal((await s.call('POST', '/v1/tenants', { json: { id: 'acme' } })).status, 201);
  assert.deepEqual((await s.call('GET', '/v1/whoami', { tenant: 'acme' })).body, { kind: 'admin', role: 'admin', tenant: 'acme' });
  const unknown = await s.call('GET', '/v1/whoami', { tenant: 'nosuch' });
  assert.equal(unknown.status, 404);
  assert.match(unknown.body.detail, /tenant nosuch not found/);

  const key = await s.call('POST', '/v1/keys', { json: { name: 'viewer', role: 'read' }, tenant: 'acme' });
  assert.equal(key.status, 201);
  const me = await s.call('GET', '/v1/whoami', { token: key.body.token, tenant: 'default' });
  assert.equal(me.status, 200);
  assert.deepEqual(me.body, { kind: 'key', role: 'read', tenant: 'acme', key_id: key.body.id });

  const bad = await s.call('GET', '/v1/whoami', { token: 'nope' });
  assert.equal(bad.status, 401);
  assert.match(bad.headers.get('content-type')!, /problem\+json/);
  assert.equal((await s.call('GET', '/v1/whoami', { token: null })).status, 401);
});
