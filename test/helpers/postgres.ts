/**
 * PostgreSQL for tests: each test file makes its own database (`flowgate_t_<random>`) on the
 * server at FLOWGATE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) and drops it
 * afterwards, so people running tests at once on one server never share data.
 *
 * When the server does not answer: under CI=true the tests FAIL (CI starts PostgreSQL: .ci/run),
 * otherwise they are skipped with the reason (`skipReason()`).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { after, before } from 'node:test';
import type { PostgresOptions } from '../../src/store/postgres/connection.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';

/** The maintenance database tests connect to in order to create and drop their own. */
export const PG_ADMIN_URL = process.env.FLOWGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let answer: Promise<string | null> | null = null;

/** null when PostgreSQL answers, else why not. */
function probe(): Promise<string | null> {
  answer ??= (async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return null;
    } catch (e) {
      return `PostgreSQL at ${PG_ADMIN_URL} does not answer (${(e as Error).message})`;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return answer;
}

export async function pgAvailable(): Promise<boolean> {
  return (await probe()) === null;
}

/**
 * Why PostgreSQL tests must be skipped, or undefined when they can run. Under CI=true an absent
 * server is an error, not a skip.
 */
export async function skipReason(): Promise<string | undefined> {
  const why = await probe();
  if (why === null) return undefined;
  if (process.env.CI === 'true') throw new Error(`${why}; CI must run the PostgreSQL tests (.ci/run starts the server)`);
  return `${why}: PostgreSQL tests skipped`;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(body: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A new empty database; `drop()` removes it (closing whatever connections are left on it). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `flowgate_t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => admin(async (c) => { await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); }),
  };
}

/**
 * The backend the engine and HTTP tests run on: FLOWGATE_TEST_BACKEND=postgres or sqlite (the
 * default). Asking for postgres when it does not answer fails the test run.
 */
export function testBackend(): 'postgres' | 'sqlite' {
  const chosen = process.env.FLOWGATE_TEST_BACKEND ?? 'sqlite';
  if (chosen !== 'postgres' && chosen !== 'sqlite') throw new Error(`FLOWGATE_TEST_BACKEND must be postgres or sqlite, got ${chosen}`);
  return chosen;
}

/**
 * Inside a `describe`: a database of the suite's own, created before its tests and dropped after
 * them, and `open()` to open stores on it (each closed after the suite).
 */
export function suiteDatabase(defaults: Partial<PostgresOptions> = {}): { open(opts?: Partial<PostgresOptions>): Promise<PostgresStore>; url(): string } {
  let db: TestDatabase;
  const opened: PostgresStore[] = [];
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    for (const s of opened) await s.close();
    await db?.drop();
  });
  return {
    url: () => db.url,
    async open(opts = {}) {
      const store = await openPostgresStore({ url: db.url, ...defaults, ...opts });
      opened.push(store);
      return store;
    },
  };
}
