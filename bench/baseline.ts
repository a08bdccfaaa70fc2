/**
 * The ceiling: a plain node:http server (no router, no auth, no store) that reads the request body
 * and answers what a Flowgate trigger answers: 202 with Location, Retry-After and the same ~400-byte
 * JSON body `{ id, status, ref, links }`. Anything Flowgate answers over HTTP on this machine can be
 * at most this fast, so every figure of `npm run bench` is a ratio to this server's, measured in the
 * same run.
 *
 * Usage: node --import tsx bench/baseline.ts [port]   → prints `baseline listening on http://127.0.0.1:PORT`
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const base = `http://${req.headers.host ?? '127.0.0.1'}`;
    const id = randomUUID();
    const self = `${base}/v1/runs/${id}`;
    const body = JSON.stringify({
      id, status: 'queued', ref: null,
      links: { self, result: `${self}/result`, steps: `${self}/steps`, events: `${self}/events` },
    });
    res.writeHead(202, {
      Location: self,
      'Retry-After': '1',
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  });
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`baseline listening on http://127.0.0.1:${port}\n`);
});

const stop = (): void => void server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
