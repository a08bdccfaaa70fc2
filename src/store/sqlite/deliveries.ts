/**
 * Result deliveries (a run's result POSTed to its result_url) and the tenants' webhook secrets.
 * A claim is one UPDATE … RETURNING in an IMMEDIATE transaction (stores sharing the file take
 * turns); every later write to a claimed delivery is fenced by its owner.
 */
import type Database from 'better-sqlite3';
import type { Json, Run } from '../../core/types.js';
import type { Delivery, DeliveryAttempt, DeliveryStatus, DeliveryUpdate, DeliveryWithAttempts, WebhookSecretRecord } from '../types.js';
import { rowToRun, type RunRow } from './rows.js';

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

type DeliveryRow = Delivery;

interface AttemptRow {
  delivery_id: string;
  n: number;
  started_at: number;
  duration_ms: number;
  request: string;
  status: number | null;
  response: string | null;
  error: string | null;
}

interface SecretRow {
  tenant: string;
  secret: string;
  previous: string | null;
  rotated_at: number | null;
  created_at: number;
}

const rowToDelivery = (r: DeliveryRow): Delivery => ({
  id: r.id, tenant: r.tenant, run_id: r.run_id, run_attempt: r.run_attempt, url: r.url, body: r.body,
  status: r.status as DeliveryStatus, attempts: r.attempts, next_at: r.next_at, owner: r.owner, lease_until: r.lease_until,
  created_at: r.created_at, updated_at: r.updated_at, finished_at: r.finished_at,
});

const rowToAttempt = (r: AttemptRow): DeliveryAttempt => ({
  n: r.n, started_at: r.started_at, duration_ms: r.duration_ms, request: JSON.parse(r.request) as Json,
  status: r.status, response: r.response === null ? null : (JSON.parse(r.response) as Json),
  error: r.error === null ? null : (JSON.parse(r.error) as DeliveryAttempt['error']),
});

const rowToSecret = (r: SecretRow): WebhookSecretRecord => ({
  tenant: r.tenant, secret_ciphertext: r.secret, previous_ciphertext: r.previous, rotated_at: r.rotated_at, created_at: r.created_at,
});

/**
 * Pending deliveries that are due and held by no live lease (with a single claimer, the `? = 1`,
 * a lease of any other owner is a dead process's).
 */
const CLAIM_DUE = `UPDATE deliveries SET owner = ?, lease_until = ?, updated_at = ?
  WHERE id IN (
    SELECT id FROM deliveries
    WHERE status = 'pending' AND next_at <= ?
      AND (owner IS NULL OR (? = 1 AND owner <> ?) OR lease_until IS NULL OR lease_until < ?)
    ORDER BY next_at LIMIT ?
  )
  RETURNING *`;

const AWAITING = `SELECT r.* FROM runs r
  WHERE r.result_url IS NOT NULL AND r.finished_at IS NOT NULL AND r.finished_at >= ?
    AND r.status IN ('succeeded', 'failed', 'cancelled')
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.run_id = r.id AND d.run_attempt = r.attempt)
  ORDER BY r.finished_at LIMIT ?`;

export class DeliveryQueries {
  private readonly insert: Stmt<unknown[]>;
  private readonly claimDue: Stmt<[string, number, number, number, number, string, number, number], DeliveryRow>;
  private readonly finish: Stmt<[DeliveryStatus, number, number | null, number, number | null, string, string]>;
  private readonly insertAttempt: Stmt<[string, number, number, number, string, number | null, string | null, string | null]>;
  private readonly ofRun: Stmt<[string, string], DeliveryRow>;
  private readonly attemptsOf: Stmt<[string], AttemptRow>;
  private readonly earliest: Stmt<[], number>;
  private readonly awaiting: Stmt<[number, number], RunRow>;
  private readonly secretGet: Stmt<[string], SecretRow>;
  private readonly secretInsert: Stmt<[string, string, number]>;
  private readonly secretRotate: Stmt<[string, number, string]>;
  private readonly tenantEnsure: Stmt<[string, number]>;
  private readonly recordTx;
  private readonly ensureSecretTx;
  private readonly rotateSecretTx;
  private readonly claimTx;

  /** `singleClaimer`: this store is the only one claiming from the file (capabilities.concurrentClaimers false). */
  constructor(db: Database.Database, private readonly singleClaimer: boolean) {
    this.insert = db.prepare(`INSERT INTO deliveries (id, tenant, run_id, run_attempt, url, body, status, attempts, next_at, owner, lease_until, created_at, updated_at, finished_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, run_attempt) DO NOTHING`);
    this.claimDue = db.prepare(CLAIM_DUE);
    this.finish = db.prepare(`UPDATE deliveries SET status = ?, attempts = ?, next_at = ?, updated_at = ?, finished_at = ?, owner = NULL, lease_until = NULL
      WHERE id = ? AND owner = ? AND status = 'pending'`);
    this.insertAttempt = db.prepare(`INSERT INTO delivery_attempts (delivery_id, n, started_at, duration_ms, request, status, response, error)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id, n) DO NOTHING`);
    this.ofRun = db.prepare('SELECT * FROM deliveries WHERE tenant = ? AND run_id = ? ORDER BY created_at, id');
    this.attemptsOf = db.prepare('SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY n');
    this.earliest = db.prepare<[], number>("SELECT next_at FROM deliveries WHERE status = 'pending' AND next_at IS NOT NULL ORDER BY next_at LIMIT 1").pluck();
    this.awaiting = db.prepare(AWAITING);
    this.secretGet = db.prepare('SELECT * FROM webhook_secrets WHERE tenant = ?');
    this.secretInsert = db.prepare('INSERT INTO webhook_secrets (tenant, secret, created_at) VALUES (?, ?, ?) ON CONFLICT (tenant) DO NOTHING');
    this.secretRotate = db.prepare('UPDATE webhook_secrets SET previous = secret, secret = ?, rotated_at = ? WHERE tenant = ?');
    this.tenantEnsure = db.prepare('INSERT INTO tenants (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING');

    this.recordTx = db.transaction((id: string, owner: string, a: DeliveryAttempt, next: DeliveryUpdate): boolean => {
      const done = next.status === 'pending' ? null : next.now;
      if (this.finish.run(next.status, a.n, next.status === 'pending' ? next.next_at : null, next.now, done, id, owner).changes !== 1) return false;
      this.insertAttempt.run(id, a.n, a.started_at, a.duration_ms, JSON.stringify(a.request), a.status,
        a.response === null ? null : JSON.stringify(a.response), a.error === null ? null : JSON.stringify(a.error));
      return true;
    });
    this.ensureSecretTx = db.transaction((tenant: string, secret: string, now: number): SecretRow => {
      this.tenantEnsure.run(tenant, now);
      this.secretInsert.run(tenant, secret, now);
      return this.secretGet.get(tenant)!;
    });
    this.rotateSecretTx = db.transaction((tenant: string, secret: string, now: number): SecretRow => {
      this.tenantEnsure.run(tenant, now);
      if (this.secretInsert.run(tenant, secret, now).changes === 0) this.secretRotate.run(secret, now, tenant);
      return this.secretGet.get(tenant)!;
    });
    this.claimTx = db.transaction((owner: string, now: number, leaseUntil: number, limit: number): DeliveryRow[] =>
      this.claimDue.all(owner, leaseUntil, now, now, this.singleClaimer ? 1 : 0, owner, now, limit));
  }

  create(d: Delivery): boolean {
    return this.insert.run(
      d.id, d.tenant, d.run_id, d.run_attempt, d.url, d.body, d.status, d.attempts, d.next_at, d.owner, d.lease_until,
      d.created_at, d.updated_at, d.finished_at,
    ).changes === 1;
  }

  claim(owner: string, now: number, leaseUntil: number, limit: number): Delivery[] {
    if (limit <= 0) return [];
    const rows = this.claimTx.immediate(owner, now, leaseUntil, Math.floor(limit)).map(rowToDelivery);
    // RETURNING does not keep the subquery's order.
    return rows.sort((a, b) => (a.next_at ?? 0) - (b.next_at ?? 0) || (a.id < b.id ? -1 : 1));
  }

  record(id: string, owner: string, attempt: DeliveryAttempt, next: DeliveryUpdate): boolean {
    return this.recordTx.immediate(id, owner, attempt, next);
  }

  list(tenant: string, runId: string): DeliveryWithAttempts[] {
    return this.ofRun.all(tenant, runId).map((r) => ({ ...rowToDelivery(r), attempt_log: this.attemptsOf.all(r.id).map(rowToAttempt) }));
  }

  nextAt(): number | null {
    return this.earliest.get() ?? null;
  }

  awaitingDelivery(since: number, limit: number): Run[] {
    if (limit <= 0) return [];
    return this.awaiting.all(since, Math.floor(limit)).map(rowToRun);
  }

  getSecret(tenant: string): WebhookSecretRecord | null {
    const row = this.secretGet.get(tenant);
    return row === undefined ? null : rowToSecret(row);
  }

  ensureSecret(tenant: string, secret: string, now: number): WebhookSecretRecord {
    return rowToSecret(this.ensureSecretTx.immediate(tenant, secret, now));
  }

  rotateSecret(tenant: string, secret: string, now: number): WebhookSecretRecord {
    return rowToSecret(this.rotateSecretTx.immediate(tenant, secret, now));
  }
}
