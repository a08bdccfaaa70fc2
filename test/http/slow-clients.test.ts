// Slow and greedy clients, over real sockets: a request whose headers or body trickle in is cut
// (408 or closed) once its deadline passes; one client address cannot hold more connections than
// its cap while another address still gets through; an idle keep-alive connection stays usable.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/app/config.js';
import { ADMIN, sleep, startTestServer, type TestServer } from '../helpers/server.js';

const HEADERS_TIMEOUT_MS = 600;
const REQUEST_TIMEOUT_MS = 1500;
/** What a loaded machine may add to a deadline (Node checks deadlines every quarter of the shorter one). */
const MARGIN_MS = 2500;

/** A raw client connection that records what it receives and when it closes. */
class Conn {
  received = '';
  closedAt: number | null = null;
  readonly closed: Promise<void>;
  readonly openedAt = Date.now();

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => { this.received += chunk; });
    socket.on('error', () => undefined); // a reset counts as closed
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.closedAt = Date.now();
      resolve();
    }));
  }

  static open(port: number, localAddress?: string): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress });
      socket.once('connect', () => resolve(new Conn(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closedAt !== null;
  }

  write(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  /** Sends a GET and resolves with its answer (status line and body), or null if the connection closes first. */
  async get(path: string): Promise<{ status: number; headers: string; body: string } | null> {
    const from = this.received.length;
    this.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      const text = this.received.slice(from);
      const end = text.indexOf('\r\n\r\n');
      if (end !== -1) {
        const headers = text.slice(0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(headers)?.[1] ?? 0);
        if (text.length >= end + 4 + length) {
          return { status: Number(headers.split(' ')[1]), headers, body: text.slice(end + 4, end + 4 + length) };
        }
      }
      if (this.isClosed) return null;
      await sleep(10);
    }
    throw new Error(`no answer to GET ${path}`);
  }

  /** Resolves when the connection closes, or after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    await Promise.race([this.closed, sleep(ms)]);
    return this.isClosed;
  }

  close(): void {
    this.socket.destroy();
  }
}

const portOf = (s: TestServer): number => Number(new URL(s.url).port);

describe('header and request deadlines', () => {
  let s: TestServer;
  const conns: Conn[] = [];
  before(async () => {
    s = await startTestServer({
      FLOWGATE_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), FLOWGATE_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
    await s.createWorkflow('echo', 'id: echo\nsteps:\n  - { id: mark, type: set, set: { done: true } }\n');
  });
  after(async () => {
    for (const c of conns) c.close();
    await s.close();
  });

  /** Writes one byte of `text` every `everyMs` until the connection closes or the text is sent. */
  const trickle = async (c: Conn, text: string, everyMs: number): Promise<void> => {
    for (const ch of text) {
      if (c.isClosed) return;
      c.write(ch);
      await sleep(everyMs);
    }
  };

  test('a body sent a byte at a time is cut with 408 once the request deadline passes', async () => {
    const c = await Conn.open(portOf(s));
    conns.push(c);
    const body = JSON.stringify({ pad: 'x'.repeat(400) });
    c.write(`POST /v1/workflows/echo/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    void trickle(c, body, 100); // 40 s of body at this pace
    assert.ok(await c.closedWithin(REQUEST_TIMEOUT_MS + MARGIN_MS), `still open after ${Date.now() - c.openedAt} ms`);
    const lasted = c.closedAt! - c.openedAt;
    assert.ok(lasted >= REQUEST_TIMEOUT_MS - 200, `cut after ${lasted} ms, before the deadline`);
    assert.ok(c.received === '' || c.received.startsWith('HTTP/1.1 408'), c.received);
    assert.equal(await s.runCount(), 0, 'nothing was created');
  });

  test('headers sent a byte at a time are cut once the header deadline passes', async () => {
    const c = await Conn.open(portOf(s));
    conns.push(c);
    c.write('GET /healthz HTTP/1.1\r\n');
    void trickle(c, `Host: 127.0.0.1\r\nX-Slow: ${'y'.repeat(300)}\r\n\r\n`, 100);
    assert.ok(await c.closedWithin(HEADERS_TIMEOUT_MS + MARGIN_MS), `still open after ${Date.now() - c.openedAt} ms`);
    assert.ok(c.received === '' || c.received.startsWith('HTTP/1.1 408'), c.received);
  });

  test('a request received in time may take longer than the deadline to answer (?wait)', async () => {
    await s.createWorkflow('pause', 'id: pause\nsteps:\n  - { id: nap, type: delay, for: 3s }\n  - { id: mark, type: set, set: { done: true } }\n');
    const started = Date.now();
    const r = await s.trigger('pause', { n: 1 }, 'wait=20');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.done, true);
    assert.ok(Date.now() - started > REQUEST_TIMEOUT_MS, 'the answer came after the request deadline');
  });

  test('a request that arrives in time is answered, however slow its client was between requests', async () => {
    const c = await Conn.open(portOf(s));
    conns.push(c);
    const first = await c.get('/healthz');
    assert.equal(first?.status, 200);
    assert.match(first!.headers, /\r\nkeep-alive: timeout=65\b/i, 'idle keep-alive connections close after 65 s, as before');
    // Idle far past both deadlines: keep-alive idleness is not a slow request.
    await sleep(REQUEST_TIMEOUT_MS * 2 + 500);
    assert.equal(c.isClosed, false, 'the idle keep-alive connection is still open');
    const second = await c.get('/healthz');
    assert.equal(second?.status, 200);
  });
});

describe('connections per client address', () => {
  const CAP = 3;
  let s: TestServer;
  const conns: Conn[] = [];
  before(async () => {
    s = await startTestServer({ FLOWGATE_MAX_CONNECTIONS_PER_CLIENT: String(CAP) });
  });
  after(async () => {
    for (const c of conns) c.close();
    await s.close();
  });

  test('a client over its cap is refused at once while another address gets through, and a freed slot is usable again', async () => {
    // Nothing else has connected to this server: these are the only connections from 127.0.0.1.
    const port = portOf(s);
    const holders: Conn[] = [];
    for (let i = 0; i < CAP; i++) {
      const c = await Conn.open(port);
      conns.push(c);
      holders.push(c);
      assert.equal((await c.get('/healthz'))?.status, 200, `connection ${i + 1} of ${CAP} is served`);
    }
    const over = await Conn.open(port);
    conns.push(over);
    assert.equal(await over.get('/healthz'), null, 'the connection over the cap was closed without an answer');
    assert.ok(over.closedAt! - over.openedAt < MARGIN_MS, 'closed at once');

    const other = await Conn.open(port, '127.0.0.2');
    conns.push(other);
    assert.equal((await other.get('/healthz'))?.status, 200, 'another client address is served');

    for (const c of holders) assert.equal(c.isClosed, false, 'connections within the cap stay open');
    holders[0].close();
    await holders[0].closed;
    await sleep(100);
    const again = await Conn.open(port);
    conns.push(again);
    assert.equal((await again.get('/healthz'))?.status, 200, 'a freed slot takes a new connection');
  });
});

test('the deadlines and the cap are read from the environment, 0 turning each off, and a header deadline past the request deadline is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-conf-'));
  try {
    const load = (env: Record<string, string>) => loadConfig({ dataDir: dir }, { FLOWGATE_ADMIN_TOKEN: ADMIN, ...env }).connections;
    assert.deepEqual(load({}), { headersTimeoutMs: 30_000, requestTimeoutMs: 120_000, maxConnectionsPerClient: 256 });
    assert.deepEqual(load({ FLOWGATE_HEADERS_TIMEOUT_MS: '0', FLOWGATE_REQUEST_TIMEOUT_MS: '0', FLOWGATE_MAX_CONNECTIONS_PER_CLIENT: '0' }),
      { headersTimeoutMs: 0, requestTimeoutMs: 0, maxConnectionsPerClient: 0 });
    assert.throws(() => load({ FLOWGATE_HEADERS_TIMEOUT_MS: '5000', FLOWGATE_REQUEST_TIMEOUT_MS: '1000' }), /FLOWGATE_HEADERS_TIMEOUT_MS \(5000\) must not exceed FLOWGATE_REQUEST_TIMEOUT_MS \(1000\)/);
    assert.throws(() => load({ FLOWGATE_MAX_CONNECTIONS_PER_CLIENT: '-1' }), /FLOWGATE_MAX_CONNECTIONS_PER_CLIENT must be a non-negative integer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
