/**
 * An HTTP target on 127.0.0.1 for the cluster tests' `http` steps that holds every request until the
 * test opens the gate: while it is closed, the runs calling it are executing on their node (held
 * under its lease), which the test can then observe from any node.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Gate {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, for FLOWGATE_HTTP_ALLOW. */
  hostPort: string;
  /** Requests waiting for the gate. */
  readonly waiting: number;
  /** Answers the `count` longest-waiting requests, all by default (200 `{ "passed": true }`); later ones wait for the next open. */
  open(count?: number): void;
  close(): Promise<void>;
}

export async function startGate(): Promise<Gate> {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => held.push(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    get waiting() {
      return held.filter((res) => !res.destroyed).length;
    },
    open(count = Infinity) {
      for (const res of held.splice(0, count)) {
        if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end('{"passed":true}');
      }
    },
    close: () => new Promise<void>((resolve) => {
      for (const res of held.splice(0)) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
