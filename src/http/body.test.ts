import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { FlowgateError } from '../core/errors.js';
import { isConnectionClose, mediaType, parseForm, parseJsonBody, parseMediaType, parseParamsBody, readBody } from './body.js';
import { sendJson, sendProblem } from './problem.js';

// ---------------------------------------------------------------- a real server around readBody

const LIMIT = 1024;
const outcomes: Array<{ ok: boolean; code?: string; length?: number }> = [];

const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
  readBody(req, res, LIMIT).then(
    (bytes) => {
      outcomes.push({ ok: true, length: bytes.length });
      sendJson(res, 200, { length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    },
    (err: unknown) => {
      outcomes.push({ ok: false, code: err instanceof FlowgateError ? err.code : 'not-flowgate' });
      sendProblem(res, err);
    },
  );
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;
after(() => server.close());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(body: Buffer | Buffer[] | null, headers: Record<string, string | number> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (Array.isArray(body)) for (const part of body) req.write(part);
    else if (body) req.write(body);
    req.end();
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('reads a small body exactly, with Content-Length', async () => {
  const body = Buffer.from('{"amount":10}');
  const answer = await send(body, { 'content-length': body.length });
  assert.equal(answer.status, 200);
  assert.deepEqual(JSON.parse(answer.body), { length: body.length, sha256: sha(body) });
});

test('reads a chunked body made of many parts', async () => {
  const parts = Array.from({ length: 10 }, (_, i) => Buffer.alloc(100, 97 + i));
  const answer = await send(parts, { 'transfer-encoding': 'chunked' });
  assert.equal(answer.status, 200);
  assert.deepEqual(JSON.parse(answer.body), { length: 1000, sha256: sha(Buffer.concat(parts)) });
});

test('reads a multi-chunk body with Content-Length into one buffer', async () => {
  const parts = [Buffer.alloc(300, 1), Buffer.alloc(300, 2), Buffer.alloc(100, 3)];
  const whole = Buffer.concat(parts);
  const answer = await send(parts, { 'content-length': whole.length });
  assert.deepEqual(JSON.parse(answer.body), { length: whole.length, sha256: sha(whole) });
});

test('no body at all is an empty buffer', async () => {
  const answer = await send(null);
  assert.deepEqual(JSON.parse(answer.body).length, 0);
});

test('a body of exactly the limit passes; one byte more is 413', async () => {
  const exact = Buffer.alloc(LIMIT, 120);
  assert.equal((await send(exact, { 'content-length': LIMIT })).status, 200);
  const over = await send(Buffer.alloc(LIMIT + 1, 120), { 'content-length': LIMIT + 1 });
  assert.equal(over.status, 413);
  const problem = JSON.parse(over.body);
  assert.equal(problem.type, 'https://flowgate.dev/problems/payload-too-large');
  assert.equal(problem.detail, `request body exceeds ${LIMIT} bytes`);
  assert.match(String(over.headers['content-type']), /^application\/problem\+json/);
  assert.notEqual(over.headers.connection, 'close');
});

/** Writes raw HTTP on one socket and collects what comes back until `until` matches or the socket closes. */
function rawExchange(socket: Socket, data: Buffer | string, until: (text: string) => boolean): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (c: Buffer): void => {
      text += c.toString('latin1');
      if (until(text)) finish(false);
    };
    const onClose = (): void => finish(true);
    const finish = (closed: boolean): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      resolve({ text, closed });
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onClose);
    socket.write(data);
  });
}

const completeResponse = (text: string): boolean => {
  const head = text.indexOf('\r\n\r\n');
  if (head === -1) return false;
  const length = /content-length: (\d+)/i.exec(text.slice(0, head));
  return length !== null && text.length >= head + 4 + Number(length[1]);
};

function openSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

test('an oversized body within 16× is drained: complete 413, and the connection serves the next request', async () => {
  const socket = await openSocket();
  const size = LIMIT * 8;
  const first = await rawExchange(
    socket,
    Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`), Buffer.alloc(size, 65)]),
    completeResponse,
  );
  assert.match(first.text, /^HTTP\/1.1 413 /);
  assert.doesNotMatch(first.text, /connection: close/i);
  assert.equal(first.closed, false);
  const second = await rawExchange(socket, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi', completeResponse);
  assert.match(second.text, /^HTTP\/1.1 200 /);
  assert.match(second.text, /"length":2/);
  socket.destroy();
});

test('an oversized chunked body within 16× is drained too', async () => {
  const parts = Array.from({ length: 8 }, () => Buffer.alloc(LIMIT, 66));
  const answer = await send(parts, { 'transfer-encoding': 'chunked' });
  assert.equal(answer.status, 413);
  assert.notEqual(answer.headers.connection, 'close');
});

test('a declared length beyond 16× is refused at once with Connection: close', async () => {
  const socket = await openSocket();
  const result = await rawExchange(socket, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${LIMIT * 17}\r\n\r\n`, () => false);
  assert.match(result.text, /^HTTP\/1.1 413 /);
  assert.match(result.text, /connection: close/i);
  assert.match(result.text, /payload-too-large/);
  assert.equal(result.closed, true);
});

test('a streamed body beyond 16× is refused with Connection: close and the socket is closed', async () => {
  const socket = await openSocket();
  const collected = rawExchange(socket, 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', () => false);
  const chunk = Buffer.concat([Buffer.from(`${(LIMIT * 4).toString(16)}\r\n`), Buffer.alloc(LIMIT * 4, 67), Buffer.from('\r\n')]);
  for (let i = 0; i < 6 && !socket.destroyed; i++) {
    await new Promise<void>((resolve) => socket.write(chunk, () => resolve()));
  }
  const result = await collected;
  assert.match(result.text, /^HTTP\/1.1 413 /);
  assert.match(result.text, /connection: close/i);
  assert.equal(result.closed, true);
});

test('an aborted request rejects with a FlowgateError and leaves no unhandled error', async () => {
  const before = outcomes.length;
  const socket = await openSocket();
  socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\npartial');
  await new Promise((r) => setTimeout(r, 50));
  socket.destroy();
  for (let i = 0; i < 50 && outcomes.length === before; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(outcomes.slice(before), [{ ok: false, code: 'bad_request' }]);
});

test('isConnectionClose is false for ordinary responses', () => {
  const fake = {} as ServerResponse;
  assert.equal(isConnectionClose(fake), false);
});

// ---------------------------------------------------------------- media types

test('parseMediaType and mediaType: lowercased type without parameters, plus charset', () => {
  assert.deepEqual(parseMediaType('Application/JSON; Charset="UTF-8"'), { type: 'application/json', charset: 'utf-8' });
  assert.deepEqual(parseMediaType('text/xml;foo=bar; charset=windows-1251'), { type: 'text/xml', charset: 'windows-1251' });
  assert.deepEqual(parseMediaType('application/x-www-form-urlencoded'), { type: 'application/x-www-form-urlencoded' });
  assert.deepEqual(parseMediaType(undefined), { type: '' });
  assert.deepEqual(mediaType({ headers: { 'content-type': 'text/CSV; charset=utf-8' } } as IncomingMessage), { type: 'text/csv', charset: 'utf-8' });
});

// ---------------------------------------------------------------- params bodies

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function fails(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FlowgateError, `expected FlowgateError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

test('JSON objects, including +json media types and a BOM', () => {
  assert.deepEqual(parseParamsBody(b('{"amount":10,"tags":["a"]}'), 'application/json'), { amount: 10, tags: ['a'] });
  assert.deepEqual(parseParamsBody(b('{"a":1}'), 'application/vnd.flowgate+json; charset=utf-8'), { a: 1 });
  assert.deepEqual(parseParamsBody(b('\uFEFF{"a":1}'), 'application/json'), { a: 1 });
});

test('JSON that is not an object is 400 "body must be a JSON object"', () => {
  for (const text of ['[1,2]', '"x"', '42', 'null', 'true']) {
    fails(() => parseParamsBody(b(text), 'application/json'), 'malformed_body', /body must be a JSON object/);
  }
});

test('malformed JSON is malformed_body with a position when there is one', () => {
  fails(() => parseParamsBody(b('{"a":1,\n"b":}'), 'application/json'), 'malformed_body', /invalid JSON/);
  fails(() => parseParamsBody(b('{"a":1}x'), 'application/json'), 'malformed_body', /line 1, column 8/);
  fails(() => parseJsonBody(b('{"a":')), 'malformed_body', /invalid JSON/);
  fails(() => parseJsonBody(b('')), 'malformed_body', /empty/);
  assert.deepEqual(parseJsonBody(b('[1]')), [1]);
});

test('empty and whitespace-only bodies are {}', () => {
  assert.deepEqual(parseParamsBody(Buffer.alloc(0), 'application/json'), {});
  assert.deepEqual(parseParamsBody(Buffer.alloc(0), undefined), {});
  assert.deepEqual(parseParamsBody(b('  \n'), 'application/xml'), {});
});

test('form bodies: strings, repeated keys → arrays, literal bracket keys, + and %-decoding', () => {
  assert.deepEqual(parseParamsBody(b('amount=10&tag=a&tag=b&tag=c&a%5Bb%5D=1&name=Ann+Lee&q=%F0%9F%98%80&flag&=v&e='), 'application/x-www-form-urlencoded'), {
    amount: '10',
    tag: ['a', 'b', 'c'],
    'a[b]': '1',
    name: 'Ann Lee',
    q: '😀',
    flag: '',
    '': 'v',
    e: '',
  });
  assert.deepEqual(parseForm('a=100%&b=%zz'), { a: '100%', b: '%zz' });
});

test('form bodies in another charset, and invalid UTF-8 after decoding', () => {
  // "Привет" in windows-1251
  assert.deepEqual(parseParamsBody(b('name=%CF%F0%E8%E2%E5%F2'), 'application/x-www-form-urlencoded; charset=windows-1251'), { name: 'Привет' });
  assert.deepEqual(parseParamsBody(Buffer.from([0x6e, 0x3d, 0xcf, 0xf0]), 'application/x-www-form-urlencoded; charset=windows-1251'), { n: 'Пр' });
  fails(() => parseParamsBody(b('name=%CF%F0'), 'application/x-www-form-urlencoded'), 'malformed_body', /UTF-8/);
});

test('prototype pollution through form and JSON bodies stays plain data', () => {
  const form = parseParamsBody(b('__proto__=x&__proto__=y&constructor=c&toString=t&hasOwnProperty=h'), 'application/x-www-form-urlencoded');
  assert.equal(Object.getPrototypeOf(form), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(form, '__proto__')?.value, ['x', 'y']);
  assert.equal(form.constructor, 'c');
  assert.equal(form.toString, 't');
  assert.equal(({} as Record<string, unknown>).x, undefined);
  const json = parseParamsBody(b('{"__proto__":{"polluted":1}}'), 'application/json');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.keys(json), ['__proto__']);
  const xml = parseParamsBody(b('<t><__proto__><polluted>1</polluted></__proto__></t>'), 'text/xml');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.keys(xml), ['__proto__']);
});

test('XML bodies by application/xml, text/xml and +xml, in the declared charset', () => {
  assert.deepEqual(parseParamsBody(b('<task><amount>10</amount></task>'), 'application/xml'), { amount: '10' });
  assert.deepEqual(parseParamsBody(b('<task><amount>10</amount></task>'), 'text/xml; charset=utf-8'), { amount: '10' });
  assert.deepEqual(parseParamsBody(b('<task><amount>10</amount></task>'), 'application/soap+xml'), { amount: '10' });
  const cp1251 = Buffer.concat([b('<?xml version="1.0" encoding="windows-1251"?><t><n>'), Buffer.from([0xcf, 0xf0]), b('</n></t>')]);
  assert.deepEqual(parseParamsBody(cp1251, 'application/xml'), { n: 'Пр' });
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<t><n>1</n></t>', 'utf16le')]);
  assert.deepEqual(parseParamsBody(utf16, 'application/xml'), { n: '1' });
  fails(() => parseParamsBody(b('<!DOCTYPE t [<!ENTITY a "b">]><t>&a;</t>'), 'application/xml'), 'malformed_body', /DOCTYPE/);
});

test('without a Content-Type the format is sniffed', () => {
  assert.deepEqual(parseParamsBody(b(' {"a":1}'), undefined), { a: 1 });
  assert.deepEqual(parseParamsBody(b('<t><a>1</a></t>'), undefined), { a: '1' });
  assert.deepEqual(parseParamsBody(b('a=1&b=2'), undefined), { a: '1', b: '2' });
  assert.deepEqual(parseParamsBody(b('a=1&b=hello%20world&'), ''), { a: '1', b: 'hello world' });
  fails(() => parseParamsBody(b('[1]'), undefined), 'malformed_body', /JSON object/);
  fails(() => parseParamsBody(b('just some text'), undefined), 'unsupported_media_type');
  fails(() => parseParamsBody(b('a=1\nb=2'), undefined), 'unsupported_media_type');
});

test('other media types and unknown charsets are 415; invalid UTF-8 is 400', () => {
  fails(() => parseParamsBody(b('a'), 'text/plain'), 'unsupported_media_type', /text\/plain/);
  fails(() => parseParamsBody(b('a'), 'multipart/form-data; boundary=x'), 'unsupported_media_type');
  fails(() => parseParamsBody(b('{}'), 'application/json; charset=klingon'), 'unsupported_media_type', /klingon/);
  fails(() => parseParamsBody(Buffer.from([0x7b, 0xff, 0x7d]), 'application/json'), 'malformed_body', /UTF-8/);
});

test('never throws anything but FlowgateError, whatever the bytes', () => {
  const types = [undefined, 'application/json', 'application/x-www-form-urlencoded', 'application/xml', 'text/xml; charset=iso-8859-1', 'image/png'];
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const alphabet = Buffer.from('<>/="\'&;#x{}[]:,a1 \n?!-_%+\u00ff');
  for (let i = 0; i < 3000; i++) {
    const length = random() % 40;
    const bytes = Buffer.alloc(length);
    for (let j = 0; j < length; j++) bytes[j] = random() % 4 === 0 ? random() % 256 : alphabet[random() % alphabet.length];
    const type = types[i % types.length];
    try {
      const value = parseParamsBody(bytes, type);
      assert.equal(typeof value, 'object');
    } catch (err) {
      assert.ok(err instanceof FlowgateError, `bytes ${bytes.toString('hex')} as ${type} threw ${String(err)}`);
      assert.ok(['malformed_body', 'unsupported_media_type'].includes(err.code));
    }
  }
});
