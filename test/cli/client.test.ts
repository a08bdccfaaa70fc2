import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, FlowgateClient, SseParser, problemLines, resolveConfig, type SseEvent } from '../../src/cli/client.js';
import { formatDuration, formatTime, keyValues, prettyJson, table } from '../../src/cli/format.js';
import { closedPort, json, problem, startFakeApi, tempDir } from './harness.js';

test('config: flag beats env beats the admin token file; the URL loses its trailing slash', () => {
  const cwd = tempDir();
  mkdirSync(join(cwd, 'data'));
  writeFileSync(join(cwd, 'data', 'admin-token'), 'from-file\n');
  const fromFile = resolveConfig({}, {}, cwd);
  assert.equal(fromFile.url, 'http://127.0.0.1:8080');
  assert.equal(fromFile.token, 'from-file');
  assert.equal(fromFile.tokenSource, 'file');
  const fromEnv = resolveConfig({}, { FLOWGATE_TOKEN: 'from-env', FLOWGATE_URL: 'http://h:9/base/' }, cwd);
  assert.equal(fromEnv.token, 'from-env');
  assert.equal(fromEnv.url, 'http://h:9/base');
  const fromFlag = resolveConfig({ token: 'from-flag', url: 'https://x.example/' }, { FLOWGATE_TOKEN: 'from-env' }, cwd);
  assert.equal(fromFlag.token, 'from-flag');
  assert.equal(fromFlag.url, 'https://x.example');
});

test('config: FLOWGATE_DATA_DIR moves the token file; no file means no token', () => {
  const cwd = tempDir();
  mkdirSync(join(cwd, 'state'));
  writeFileSync(join(cwd, 'state', 'admin-token'), 'abc');
  assert.equal(resolveConfig({}, { FLOWGATE_DATA_DIR: 'state' }, cwd).token, 'abc');
  const none = resolveConfig({}, {}, cwd);
  assert.equal(none.token, undefined);
  assert.equal(none.tokenSource, 'none');
  assert.equal(none.tokenFile, join(cwd, 'data', 'admin-token'));
});

test('config: a URL that is not http(s) is a usage error', () => {
  assert.throws(() => resolveConfig({ url: 'ftp://x' }, {}), (e: unknown) => e instanceof CliError && e.exitCode === 1);
  assert.throws(() => resolveConfig({ url: 'not a url' }, {}), /invalid server URL/);
});

test('client: problem+json becomes a CliError with status, title, detail and field lines', async () => {
  const api = await startFakeApi({
    'PUT /v1/workflows/x': (_req, res) => problem(res, 422, 'Invalid workflow definition', '2 problems', [
      { path: 'steps[2].next', message: 'unknown step "nope"' },
      { path: 'params.amount.type', message: 'unknown type "money"' },
    ]),
  });
  try {
    const client = new FlowgateClient({ ...resolveConfig({ url: api.url, token: 't', tenant: 'acme' }, {}) });
    const err = await client.call('PUT', '/v1/workflows/x', { text: 'id: x', contentType: 'application/yaml' }).catch((e: unknown) => e);
    assert.ok(err instanceof CliError);
    assert.equal(err.status, 422);
    assert.equal(err.title, 'Invalid workflow definition');
    assert.equal(err.detail, '2 problems');
    assert.equal(err.exitCode, 1);
    assert.deepEqual(err.render().split('\n'), [
      'error: 422 Invalid workflow definition: 2 problems',
      '  steps[2].next: unknown step "nope"',
      '  params.amount.type: unknown type "money"',
    ]);
    const req = api.requests[0];
    assert.equal(req.headers.authorization, 'Bearer t');
    assert.equal(req.headers['flowgate-tenant'], 'acme');
    assert.equal(req.headers['content-type'], 'application/yaml');
    assert.equal(req.body, 'id: x');
  } finally {
    await api.close();
  }
});

test('client: a non-problem error body still gives a readable message; 401 hints at the token', async () => {
  const api = await startFakeApi({
    'GET /v1/runs': (_req, res) => {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
      res.end('nope');
    },
  });
  try {
    const client = new FlowgateClient(resolveConfig({ url: api.url }, {}, tempDir()));
    const err = await client.get('/v1/runs').catch((e: unknown) => e);
    assert.ok(err instanceof CliError);
    assert.equal(err.message, '401 Unauthorized: nope');
    assert.match(err.hint ?? '', /--token or set FLOWGATE_TOKEN/);
  } finally {
    await api.close();
  }
});

test('client: listAll follows next_cursor', async () => {
  const api = await startFakeApi({
    'GET /v1/keys': (req, res) => req.query.get('cursor') === 'p2'
      ? json(res, 200, { items: [{ id: 'b' }], next_cursor: null })
      : json(res, 200, { items: [{ id: 'a' }], next_cursor: 'p2' }),
  });
  try {
    const client = new FlowgateClient(resolveConfig({ url: api.url }, {}, tempDir()));
    assert.deepEqual(await client.listAll('/v1/keys'), [{ id: 'a' }, { id: 'b' }]);
    assert.equal(api.requests.length, 2);
  } finally {
    await api.close();
  }
});

test('client: connection refused is exit code 2 with the URL named', async () => {
  const url = `http://127.0.0.1:${await closedPort()}`;
  const client = new FlowgateClient(resolveConfig({ url }, {}, tempDir()));
  const err = await client.get('/v1/runs').catch((e: unknown) => e);
  assert.ok(err instanceof CliError);
  assert.equal(err.exitCode, 2);
  assert.equal(err.message, `cannot reach Flowgate at ${url}: is the server running?`);
  assert.match(err.hint ?? '', /ECONNREFUSED/);
});

test('problemLines renders validation paths and CSV rows', () => {
  assert.deepEqual(problemLines([{ path: 'a.b', message: 'm' }, { row: 3, column: 'amount', message: 'n' }, { row: 4, message: 'o' }]), [
    { path: 'a.b', message: 'm' },
    { path: 'row 3 (amount)', message: 'n' },
    { path: 'row 4', message: 'o' },
  ]);
  assert.deepEqual(problemLines(undefined), []);
});

test('SSE parser: events split across chunks, CRLF, multi-line data, comments, ids', () => {
  const p = new SseParser();
  const got: SseEvent[] = [];
  const feed = (s: string): void => void got.push(...p.push(s));
  feed(': hello\r\nevent: ru');
  feed('n\r\nid: 1\r\ndata: {"a":\r');
  feed('\ndata: 1}\r\n\r\n');
  feed('data: plain\n\nevent: step\ndata:x\n');
  assert.equal(got.length, 2);
  feed('\n');
  assert.deepEqual(got, [
    { event: 'run', data: '{"a":\n1}', id: '1' },
    { event: 'message', data: 'plain', id: '1' },
    { event: 'step', data: 'x', id: '1' },
  ]);
});

test('format: tables align, durations read well, times are local ISO with offset', () => {
  assert.equal(table(['id', { header: 'n', align: 'right' }, 'note'], [['a', 5, null], ['bbb', 12, 'x\ny']]), [
    'ID    N  NOTE',
    'a     5  -',
    'bbb  12  x y',
  ].join('\n'));
  assert.equal(table([{ header: 'e', max: 5 }], [['abcdefgh']]), 'E\nabcd…');
  assert.equal(formatDuration(850), '850ms');
  assert.equal(formatDuration(4200), '4.2s');
  assert.equal(formatDuration(12_000), '12s');
  assert.equal(formatDuration(185_000), '3m05s');
  assert.equal(formatDuration(2 * 3600_000 + 3 * 60_000), '2h03m');
  assert.equal(formatDuration(26 * 3600_000), '1d02h');
  assert.equal(formatDuration(undefined), '-');
  const t = formatTime('2025-03-01T12:00:00.000Z');
  assert.match(t, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
  assert.equal(Date.parse(t), Date.parse('2025-03-01T12:00:00Z'));
  assert.equal(formatTime(Date.parse('2025-03-01T12:00:00Z')), t);
  assert.equal(formatTime(null), '-');
  assert.equal(keyValues([['a', 1], ['long', 'x'], ['skip', undefined]]), 'a:     1\nlong:  x');
  assert.match(prettyJson({ a: [1, 2, 3] }, 2), /^\{\n {2}"a": \[\n… 5 more lines/);
});
