/**
 * PostgreSQL for the bench rows that run Flowgate on it: a fresh database per row (dropped after),
 * reached through a counting proxy, so the round trips the server makes are counted from the wire
 * (client→server messages: each simple `Query` and each extended-protocol `Sync` is one round
 * trip; each `Parse` of `flowgate_write_batch` is one group commit; each round trip is also
 * tallied under the start of its statement's text, to tell what a node spends them on), the CPU the
 * database's backend processes used is read from /proc, and what they wait for is sampled
 * (pg-waits.ts). The proxy forwards bytes as they come; it costs a little latency, which the
 * PostgreSQL rows pay and the SQLite rows do not.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { WaitSampler } from './pg-waits.js';
import { cpuSeconds } from './processes.js';

const ADMIN_URL = process.env.BENCH_PG_URL ?? process.env.FLOWGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface PgCounters {
  roundTrips: number;
  groupCommits: number;
  /** Round trips by statement (the start of its text, whitespace folded). */
  byStatement: Record<string, number>;
  /** CPU seconds of the database's backend processes (those alive when sampled). */
  backendCpuSeconds: number;
  /** Sampled backend states (pg-waits.ts): `samples`, then the count of backends seen in each state. */
  waits: Record<string, number>;
}

export interface BenchDatabase {
  /** The URL the server is given (through the proxy). */
  url: string;
  sample(): PgCounters;
  drop(): Promise<void>;
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

interface Tally {
  roundTrips: number;
  groupCommits: number;
  byStatement: Map<string, number>;
}

const STATEMENT_KEY_LENGTH = 72;

/** The tally key of a statement: its text up to its first parameter or STATEMENT_KEY_LENGTH characters. */
function statementKey(text: string): string {
  const folded = text.replace(/\s+/g, ' ').trim();
  const cut = folded.search(/\$\d/);
  return (cut > 0 ? folded.slice(0, cut) : folded).slice(0, STATEMENT_KEY_LENGTH).trim();
}

/** A NUL-terminated string at `at` in `buf`. */
function cstring(buf: Buffer, at: number): { text: string; next: number } {
  const end = buf.indexOf(0, at);
  const stop = end < 0 ? buf.length : end;
  return { text: buf.toString('utf8', at, stop), next: stop + 1 };
}

/** Counts round trips in the client→server byte stream of one connection. */
class FrontendCounter {
  private buf: Buffer = Buffer.alloc(0);
  private started = false;
  /** The statement of the extended-protocol exchange in progress (its `Parse`), tallied at its `Sync`. */
  private parsed: string | null = null;
  constructor(private readonly count: Tally) {}

  private tally(key: string): void {
    this.count.roundTrips++;
    this.count.byStatement.set(key, (this.count.byStatement.get(key) ?? 0) + 1);
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (!this.started) {
        // The startup message has no type byte: int32 length, then its body.
        if (this.buf.length < 4) return;
        const len = this.buf.readInt32BE(0);
        if (this.buf.length < len) return;
        this.buf = this.buf.subarray(len);
        this.started = true;
        continue;
      }
      if (this.buf.length < 5) return;
      const type = String.fromCharCode(this.buf[0]);
      const len = this.buf.readInt32BE(1);
      if (this.buf.length < 1 + len) return;
      const body = this.buf.subarray(5, 1 + len);
      if (type === 'Q') this.tally(statementKey(cstring(body, 0).text));
      if (type === 'P') {
        const text = cstring(body, cstring(body, 0).next).text; // statement name, then the query
        this.parsed = statementKey(text);
        if (text.includes('flowgate_write_batch')) this.count.groupCommits++;
      }
      if (type === 'S') {
        this.tally(this.parsed ?? '(a prepared statement)');
        this.parsed = null;
      }
      this.buf = this.buf.subarray(1 + len);
    }
  }
}

/** CPU seconds of the backends serving `database` (their command line names it). */
function backendCpu(database: string): number {
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmd.startsWith('postgres:') && cmd.includes(` ${database} `)) total += cpuSeconds(Number(name)) ?? 0;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

export async function benchDatabase(): Promise<BenchDatabase> {
  const name = `flowgate_b_${randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const target = new URL(ADMIN_URL);
  const count: Tally = { roundTrips: 0, groupCommits: 0, byStatement: new Map() };
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const server = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(client);
    sockets.add(server);
    const counter = new FrontendCounter(count);
    client.on('data', (chunk: Buffer) => {
      counter.push(chunk);
      server.write(chunk);
    });
    server.pipe(client);
    const end = (): void => {
      client.destroy();
      server.destroy();
      sockets.delete(client);
      sockets.delete(server);
    };
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as net.AddressInfo).port;
  const url = new URL(ADMIN_URL);
  url.host = `127.0.0.1:${port}`;
  url.pathname = `/${name}`;
  const sampler = new WaitSampler(ADMIN_URL, name);
  await sampler.start();
  return {
    url: url.toString(),
    sample: () => ({
      roundTrips: count.roundTrips, groupCommits: count.groupCommits, byStatement: Object.fromEntries(count.byStatement), backendCpuSeconds: backendCpu(name),
      waits: sampler.read(),
    }),
    async drop() {
      await sampler.stop();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
