import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlowgateError, validationFailed } from '../core/errors.js';
import { markConnectionClose } from './body.js';
import { problemBody, sendJson, sendProblem, sendText } from './problem.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end();
const server = createServer((req, res) => handler(req, res));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;
after(() => server.close());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(h: Handler, method = 'GET'): Promise<Answer> {
  handler = h;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: '/x' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('problemBody of a FlowgateError: type, title, status, detail, instance, errors, extra', () => {
  const err = validationFailed([{ path: 'amount', message: 'must be a number' }]);
  assert.deepEqual(problemBody(err, '/v1/workflows/w/runs'), {
    type: 'https://flowgate.dev/problems/validation-failed',
    title: 'Validation failed',
    status: 422,
    detail: 'The input does not match the declared params',
    instance: '/v1/workflows/w/runs',
    errors: [{ path: 'amount', message: 'must be a number' }],
  });
  const failed = new FlowgateError('run_failed', 'boom', { extra: { run_id: 'r1', status: 200, type: 'x', title: 'y' } });
  const body = problemBody(failed);
  assert.equal(body.type, 'https://flowgate.dev/problems/run-failed');
  assert.equal(body.status, 500, 'extension members never override standard ones');
  assert.equal(body.title, 'Run failed');
  assert.equal(body.run_id, 'r1');
  assert.equal('instance' in body, false);
  assert.equal('errors' in body, false);
});

test('problemBody of any other error reveals nothing', () => {
  const body = problemBody(new Error('password=hunter2 at /etc/secret'));
  assert.deepEqual(Object.keys(body).sort(), ['detail', 'status', 'title', 'type']);
  assert.equal(body.status, 500);
  assert.equal(body.type, 'https://flowgate.dev/problems/internal');
  assert.doesNotMatch(JSON.stringify(body), /hunter2|secret|at /);
  assert.equal(problemBody('a string').status, 500);
  assert.equal(problemBody(undefined).status, 500);
});

test('sendJson: status, JSON content type, Content-Length, extra headers', async () => {
  const answer = await get((_req, res) => sendJson(res, 201, { ok: 'ünï' }, { Location: 'http://x/y' }));
  assert.equal(answer.status, 201);
  assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(answer.headers['content-length'], String(Buffer.byteLength(answer.body)));
  assert.equal(answer.headers.location, 'http://x/y');
  assert.deepEqual(JSON.parse(answer.body), { ok: 'ünï' });
});

test('sendProblem: problem+json with the error headers', async () => {
  const limited = await get((_req, res) => sendProblem(res, new FlowgateError('rate_limited', 'slow down', { headers: { 'Retry-After': '3' } }), '/v1/x'));
  assert.equal(limited.status, 429);
  assert.equal(limited.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(limited.headers['retry-after'], '3');
  assert.deepEqual(JSON.parse(limited.body), {
    type: 'https://flowgate.dev/problems/rate-limited', title: 'Too many requests', status: 429, detail: 'slow down', instance: '/v1/x',
  });
});

test('sendProblem: a 401 always carries WWW-Authenticate', async () => {
  const plain = await get((_req, res) => sendProblem(res, new FlowgateError('unauthorized', 'missing token')));
  assert.equal(plain.status, 401);
  assert.equal(plain.headers['www-authenticate'], 'Bearer');
  const own = await get((_req, res) => sendProblem(res, new FlowgateError('unauthorized', 'bad', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } })));
  assert.equal(own.headers['www-authenticate'], 'Bearer error="invalid_token"');
});

test('sendProblem: unknown errors become a bare 500', async () => {
  const answer = await get((_req, res) => sendProblem(res, new TypeError('x is undefined in secret-module.ts')));
  assert.equal(answer.status, 500);
  assert.doesNotMatch(answer.body, /secret-module|undefined/);
  assert.equal(JSON.parse(answer.body).type, 'https://flowgate.dev/problems/internal');
});

test('sendProblem honours a connection-close mark', async () => {
  const answer = await get((_req, res) => {
    markConnectionClose(res);
    sendProblem(res, new FlowgateError('payload_too_large', 'request body exceeds 10 bytes'));
  });
  assert.equal(answer.status, 413);
  assert.equal(answer.headers.connection, 'close');
});

test('headers already sent: the connection is cut rather than a second answer written', async () => {
  handler = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"partial":');
    sendProblem(res, new Error('mid-stream'));
  };
  await assert.rejects(
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
        res.on('data', () => {});
        res.on('end', resolve);
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('aborted')));
      });
      req.on('error', reject);
      req.end();
    }),
  );
});

test('sending after the response ended is a no-op', async () => {
  const answer = await get((_req, res) => {
    sendJson(res, 200, { first: true });
    sendProblem(res, new FlowgateError('conflict', 'second'));
    sendJson(res, 500, { third: true });
  });
  assert.equal(answer.status, 200);
  assert.deepEqual(JSON.parse(answer.body), { first: true });
});

test('invalid caller headers fall back to a 500 problem instead of throwing', async () => {
  const answer = await get((_req, res) => sendJson(res, 200, {}, { 'Bad Header': 'x' }));
  assert.equal(answer.status, 500);
  assert.equal(answer.headers['content-type'], 'application/problem+json; charset=utf-8');
});

test('sendText and HEAD requests', async () => {
  const xml = await get((_req, res) => sendText(res, 200, 'application/xml; charset=utf-8', '<a>1</a>'));
  assert.equal(xml.headers['content-type'], 'application/xml; charset=utf-8');
  assert.equal(xml.body, '<a>1</a>');
  const head = await get((_req, res) => sendJson(res, 200, { a: 1 }), 'HEAD');
  assert.equal(head.body, '');
  assert.equal(head.headers['content-length'], '7');
});
