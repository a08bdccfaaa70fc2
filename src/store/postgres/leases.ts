/**
 * Leases, timers and recovery on PostgreSQL, where several nodes claim at once. A claim is one
 * statement: `SELECT … FOR UPDATE SKIP LOCKED` picks up to `limit` rows (the claimer's free
 * capacity) that no other claimer is taking at this moment, and the UPDATE makes them the claimer's;
 * two nodes never get the same run, and neither waits for the other.
 *
 * Lease expiry is judged by `nowExpr` (connection.ts `leaseClock`): with the database clock, a lease
 * is expired only when both the caller's `now` and the database's clock are past it. Due times
 * (`wake_at`) are the caller's: a timer fires when the claimer's clock says it is due. A live lease
 * of another node is never taken (unlike SQLite, whose only other owners are dead processes).
 */
import type { Run } from '../../core/types.js';
import { rowToRun, type RunRow } from '../run-row.js';
import type { Db } from './connection.js';
import { HINT_CHANNEL } from './functions.js';

/** The database's clock in epoch ms (clock_timestamp: the time of the statement, not of the transaction). */
export const DB_NOW_MS = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

/** The "now" a lease is judged by, given the caller's now as parameter `$n`. */
export const leaseNow = (db: Db, param: string): string =>
  (db.leaseClock === 'database' ? `LEAST(${param}::bigint, ${DB_NOW_MS})` : `${param}::bigint`);

const byWakeThenId = (a: Run, b: Run): number =>
  (a.wake_at ?? 0) - (b.wake_at ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const byId = (a: Run, b: Run): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

type Row = RunRow & Record<string, unknown>;

export class LeaseQueries {
  constructor(private readonly db: Db) {}

  /** Parked runs that are due, earliest first; they become running under the claimer's lease. */
  async claimDueRuns(owner: string, now: number, leaseUntil: number, limit: number): Promise<Run[]> {
    if (limit <= 0) return [];
    const rows = await this.db.query<Row>(
      `WITH due AS (
         SELECT id FROM runs WHERE status = 'waiting' AND wake_at <= $4 ORDER BY wake_at LIMIT $5 FOR UPDATE SKIP LOCKED
       )
       UPDATE runs r SET status = 'running', owner = $1, lease_until = $2, rev = r.rev + 1, updated_at = $3
       FROM due WHERE r.id = due.id AND r.status = 'waiting'
       RETURNING r.*`,
      [owner, leaseUntil, now, now, Math.floor(limit)],
    );
    return this.decodeClaimed(rows, now).then((runs) => runs.sort(byWakeThenId));
  }

  /** Queued or running runs that no live lease holds (unowned, or the lease expired); status is kept. */
  async claimOrphanedRuns(owner: string, now: number, leaseUntil: number, limit: number): Promise<Run[]> {
    if (limit <= 0) return [];
    const rows = await this.db.query<Row>(
      `WITH orphans AS (
         SELECT id FROM runs
         WHERE status IN ('queued', 'running')
           AND (owner IS NULL OR lease_until IS NULL OR lease_until < ${leaseNow(this.db, '$4')})
         ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED
       )
       UPDATE runs r SET owner = $1, lease_until = $2, rev = r.rev + 1, updated_at = $3
       FROM orphans WHERE r.id = orphans.id
       RETURNING r.*`,
      [owner, leaseUntil, now, now, Math.floor(limit)],
    );
    return this.decodeClaimed(rows, now).then((runs) => runs.sort(byId));
  }

  /** A claimed row that cannot be decoded is failed in place instead of failing the claim. */
  private async decodeClaimed(rows: Row[], now: number): Promise<Run[]> {
    const runs: Run[] = [];
    for (const row of rows) {
      try {
        runs.push(rowToRun(row));
      } catch (e) {
        const message = `the run's stored values cannot be decoded (${e instanceof Error ? e.message : String(e)}); it was failed`;
        await this.db.query(
          `UPDATE runs SET status = 'failed', error = $1, owner = NULL, lease_until = NULL, wake_at = NULL,
             parking = NULL, finished_at = $2, updated_at = $2, rev = rev + 1 WHERE id = $3`,
          [JSON.stringify({ code: 'undecodable', message }), now, row.id],
        );
      }
    }
    return runs;
  }

  /** Extends the leases `owner` still holds (rev unchanged: the holder's fenced transitions stay valid). */
  async renewLeases(owner: string, ids: string[], leaseUntil: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.query<{ id: string }>(
      'UPDATE runs SET lease_until = $1 WHERE id = ANY($2::text[]) AND owner = $3 RETURNING id', [leaseUntil, ids, owner],
    );
    const renewed = new Set(rows.map((r) => r.id));
    return ids.filter((id) => renewed.has(id));
  }

  /** Makes every run parked on children due at `now`; hints `work` when it touched any. */
  async hurryChildWaits(now: number): Promise<number> {
    const [row] = await this.db.query<{ n: number }>(
      `WITH u AS (
         UPDATE runs SET wake_at = $1 WHERE status = 'waiting' AND wake_at > $1 AND parking IS NOT NULL
           AND (parking::json ->> 'kind') = 'child' RETURNING id
       ), n AS (SELECT count(*)::bigint AS n FROM u)
       SELECT n.n, CASE WHEN n.n > 0 THEN pg_notify('${HINT_CHANNEL}', '{"w":1}') END AS hinted FROM n`,
      [now],
    );
    return row.n;
  }

  async nextWakeAt(): Promise<number | null> {
    const [row] = await this.db.query<{ wake_at: number }>(
      "SELECT wake_at FROM runs WHERE status = 'waiting' AND wake_at IS NOT NULL ORDER BY wake_at LIMIT 1",
    );
    return row?.wake_at ?? null;
  }
}
