/**
 * The connection pool of the PostgreSQL store: node-postgres (`pg` 8) with timeouts on connecting,
 * on each statement and on idle connections, values parsed as the store contract expects (int8 as
 * numbers: every int8 the store keeps is an epoch-ms time, a counter or a sequence value, all far
 * below 2^53), and a count of the round trips made, so the cost of a verb can be measured.
 *
 * A lost connection needs no reconnect logic of its own: the pool drops a broken client and opens a
 * new one for the next query; the error of the query that was in flight is the caller's to see.
 */
import pg from 'pg';

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database` (FLOWGATE_DATABASE_URL). */
  url: string;
  /** Connections in the pool (FLOWGATE_DATABASE_POOL_SIZE). Default 10. */
  poolSize?: number;
  /** How long to wait for a connection (ms). Default 5000. */
  connectTimeoutMs?: number;
  /** The longest a single statement may run before the server cancels it (ms). Default 30000. */
  statementTimeoutMs?: number;
  /** An idle connection is closed after this long (ms). Default 30000. */
  idleTimeoutMs?: number;
  /**
   * How lease expiry is judged. 'database' (the default): a lease counts as expired only when both
   * the caller's `now` and the database's clock are past it, so a node whose clock runs ahead
   * cannot take a live lease early. 'caller': the `now` given is the only clock (the contract suite,
   * whose times are fixed in the past).
   */
  leaseClock?: 'database' | 'caller';
  /** Called with errors of idle connections and of the hint listener (they have no caller). */
  onBackgroundError?: (error: Error) => void;
}

const INT8 = 20;
const NUMERIC = 1700;

/** int8 as a JS number; a value beyond 2^53 would lose digits, so it is refused instead. */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`an int8 value ${text} is beyond the safe integer range`);
  return n;
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8) return parseInt8;
    if (oid === NUMERIC) return Number;
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  },
};

export type Row = Record<string, unknown>;

/** Something queries can be sent to: the pool (each query on any connection) or one client in a transaction. */
export interface Queryable {
  query<R extends Row = Row>(text: string, values?: unknown[]): Promise<R[]>;
}

/** The pool with a round-trip counter. */
export class Db implements Queryable {
  readonly pool: pg.Pool;
  /** Round trips to the server since the pool was made (each statement sent and answered is one). */
  roundTrips = 0;
  readonly leaseClock: 'database' | 'caller';

  constructor(readonly opts: PostgresOptions) {
    this.leaseClock = opts.leaseClock ?? 'database';
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: opts.idleTimeoutMs ?? 30_000,
      statement_timeout: opts.statementTimeoutMs ?? 30_000,
      // A transaction left open by a crashed caller must not hold its row locks for long.
      idle_in_transaction_session_timeout: Math.max(60_000, opts.statementTimeoutMs ?? 30_000),
      application_name: 'flowgate',
      types,
    });
    // An idle client whose connection breaks emits here; without a listener it would end the process.
    this.pool.on('error', (e) => opts.onBackgroundError?.(e));
  }

  async query<R extends Row = Row>(text: string, values?: unknown[]): Promise<R[]> {
    this.roundTrips++;
    const result = await this.pool.query(text, values);
    return result.rows as R[];
  }

  /**
   * Runs `body` in one transaction on one connection (BEGIN … COMMIT, ROLLBACK on error). Each
   * statement is a round trip: verbs on the hot path use one statement instead (see runs.ts).
   */
  async transaction<T>(body: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx: Queryable = {
      query: async <R extends Row = Row>(text: string, values?: unknown[]): Promise<R[]> => {
        this.roundTrips++;
        return (await client.query(text, values)).rows as R[];
      },
    };
    let broken = false;
    try {
      await tx.query('BEGIN');
      const result = await body(tx);
      await tx.query('COMMIT');
      return result;
    } catch (e) {
      try {
        await tx.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async end(): Promise<void> {
    await this.pool.end();
  }
}

export { pg };
