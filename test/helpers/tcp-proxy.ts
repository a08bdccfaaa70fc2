/**
 * A TCP proxy between servers and PostgreSQL that a test can cut and restore (like pg-boss's
 * halfOpenProxy): `cut()` destroys every open connection and refuses new ones, as a database that
 * went away does to its clients; `restore()` lets connections through again. Only the processes
 * that connect through it lose their database: nobody else's tests are disturbed.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Open client connections. */
  readonly open: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get open() {
      return sockets.size / 2;
    },
    cut() {
      refusing = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      refusing = false;
    },
    close: () => new Promise<void>((resolve) => {
      refusing = true;
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
