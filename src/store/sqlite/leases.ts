/**
 * Leases, timers and recovery. A claim is one UPDATE … RETURNING in an IMMEDIATE transaction: the
 * write lock is taken before the rows are chosen, so two stores sharing the file (`shared`) take
 * turns and each row goes to one claimer. With a single claimer (the file owned by one process,
 * the default) any other owner of a run is a dead process; with several, only an expired lease
 * makes a run an orphan.
 */
import type Database from 'better-sqlite3';
import type { Run } from '../../core/types.js';
import { rowToRun, type RunRow } from './rows.js';

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** Parked runs that are due, earliest first; they become running under the claimer's lease. */
const CLAIM_DUE = `UPDATE runs SET status = 'running', owner = ?, lease_until = ?, rev = rev + 1, updated_at = ?
  WHERE id IN (
    SELECT id FROM runs WHERE status = 'waiting' AND wake_at <= ? ORDER BY wake_at LIMIT ?
  )
  RETURNING *`;

/**
 * Queued or running runs without a live lease: unowned, with an expired lease, or (single claimer
 * only: the `? = 1`) owned by anyone else, a dead process. Status is kept.
 */
const CLAIM_ORPHANS = `UPDATE runs SET owner = ?, lease_until = ?, rev = rev + 1, updated_at = ?
  WHERE id IN (
    SELECT id FROM runs
    WHERE status IN ('queued', 'running')
      AND (owner IS NULL OR (? = 1 AND owner <> ?) OR lease_until IS NULL OR lease_until < ?)
    ORDER BY id LIMIT ?
  )
  RETURNING *`;

/** A claimed row that cannot be decoded is failed in place (its stored text is kept) instead of failing the claim. */
const FAIL_UNDECODABLE = `UPDATE runs SET status = 'failed', error = ?, owner = NULL, lease_until = NULL, wake_at = NULL,
  parking = NULL, finished_at = ?, updated_at = ?, rev = rev + 1 WHERE id = ?`;

const byWakeThenId = (a: Run, b: Run): number =>
  (a.wake_at ?? 0) - (b.wake_at ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const byId = (a: Run, b: Run): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class LeaseQueries {
  private readonly claimDue: Stmt<[string, number, number, number, number], RunRow>;
  private readonly claimOrphans: Stmt<[string, number, number, number, string, number, number], RunRow>;
  private readonly renew: Stmt<[number, string, string]>;
  private readonly earliestWake: Stmt<[], number>;
  private readonly hurryChildWaitsStmt: Stmt<[number, number]>;
  private readonly renewTx;
  private readonly failUndecodable: Stmt<[string, number, number, string]>;
  private readonly claimTx;

  /** `singleClaimer`: this store is the only one claiming from the file (capabilities.concurrentClaimers false). */
  constructor(db: Database.Database, private readonly singleClaimer: boolean) {
    this.claimDue = db.prepare(CLAIM_DUE);
    this.claimOrphans = db.prepare(CLAIM_ORPHANS);
    this.failUndecodable = db.prepare(FAIL_UNDECODABLE);
    // Renewal keeps rev: the holder's fenced transitions stay valid.
    this.renew = db.prepare('UPDATE runs SET lease_until = ? WHERE id = ? AND owner = ?');
    this.earliestWake = db
      .prepare<[], number>(
        "SELECT wake_at FROM runs WHERE status = 'waiting' AND wake_at IS NOT NULL ORDER BY wake_at LIMIT 1",
      )
      .pluck();
    this.hurryChildWaitsStmt = db.prepare(
      "UPDATE runs SET wake_at = ? WHERE status = 'waiting' AND wake_at > ? AND json_extract(parking, '$.kind') = 'child'",
    );
    this.renewTx = db.transaction((owner: string, ids: string[], leaseUntil: number): string[] => {
      const renewed: string[] = [];
      for (const id of ids) if (this.renew.run(leaseUntil, id, owner).changes === 1) renewed.push(id);
      return renewed;
    });
    this.claimTx = db.transaction((claim: () => RunRow[]) => claim());
  }

  claimDueRuns(owner: string, now: number, leaseUntil: number, limit: number): Run[] {
    if (limit <= 0) return [];
    // RETURNING does not keep the subquery's order: sort the claimed runs back into it.
    const rows = this.claimTx.immediate(() => this.claimDue.all(owner, leaseUntil, now, now, Math.floor(limit)));
    return this.decodeClaimed(rows, now).sort(byWakeThenId);
  }

  claimOrphanedRuns(owner: string, now: number, leaseUntil: number, limit: number): Run[] {
    if (limit <= 0) return [];
    const single = this.singleClaimer ? 1 : 0;
    const rows = this.claimTx.immediate(() => this.claimOrphans.all(owner, leaseUntil, now, single, owner, now, Math.floor(limit)));
    return this.decodeClaimed(rows, now).sort(byId);
  }

  /**
   * The claimed runs; a row that cannot be decoded fails by itself (`undecodable`) and is left out,
   * so it cannot stop the timer loop or recovery for every other run.
   */
  private decodeClaimed(rows: RunRow[], now: number): Run[] {
    const runs: Run[] = [];
    for (const row of rows) {
      try {
        runs.push(rowToRun(row));
      } catch (e) {
        const message = `the run's stored values cannot be decoded (${e instanceof Error ? e.message : String(e)}); it was failed`;
        this.failUndecodable.run(JSON.stringify({ code: 'undecodable', message }), now, now, row.id);
      }
    }
    return runs;
  }

  renewLeases(owner: string, ids: string[], leaseUntil: number): string[] {
    if (ids.length === 0) return [];
    return this.renewTx.immediate(owner, ids, leaseUntil);
  }

  /** Makes every run parked on children due at `now` (their wake-up may have been lost in a crash). */
  hurryChildWaits(now: number): number {
    return this.hurryChildWaitsStmt.run(now, now).changes;
  }

  nextWakeAt(): number | null {
    return this.earliestWake.get() ?? null;
  }
}
