/**
 * Result deliveries and the tenants' webhook secrets on PostgreSQL. A claim skips rows another node
 * is claiming (`FOR UPDATE SKIP LOCKED`) and takes only deliveries no live lease holds; every later
 * write to a claimed delivery is fenced by its owner.
 */
import type { Json, Run } from '../../core/types.js';
import { rowToRun, type RunRow } from '../run-row.js';
import type { Delivery, DeliveryAttempt, DeliveryStatus, DeliveryUpdate, DeliveryWithAttempts, WebhookSecretRecord } from '../types.js';
import type { Db } from './connection.js';
import { leaseNow } from './leases.js';

type DeliveryRow = Delivery & Record<string, unknown>;

interface AttemptRow {
  n: number;
  started_at: number;
  duration_ms: number;
  request: string;
  status: number | null;
  response: string | null;
  error: string | null;
}

interface SecretRow extends Record<string, unknown> {
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

const ENSURE_TENANT = 'INSERT INTO tenants (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING';

export class DeliveryQueries {
  constructor(private readonly db: Db) {}

  async create(d: Delivery): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO deliveries (id, tenant, run_id, run_attempt, url, body, status, attempts, next_at, owner, lease_until, created_at, updated_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (run_id, run_attempt) DO NOTHING RETURNING id`,
      [d.id, d.tenant, d.run_id, d.run_attempt, d.url, d.body, d.status, d.attempts, d.next_at, d.owner, d.lease_until, d.created_at, d.updated_at, d.finished_at],
    );
    return rows.length === 1;
  }

  async claim(owner: string, now: number, leaseUntil: number, limit: number): Promise<Delivery[]> {
    if (limit <= 0) return [];
    const rows = await this.db.query<DeliveryRow>(
      `WITH due AS (
         SELECT id FROM deliveries
         WHERE status = 'pending' AND next_at <= $4
           AND (owner IS NULL OR lease_until IS NULL OR lease_until < ${leaseNow(this.db, '$4')})
         ORDER BY next_at LIMIT $5 FOR UPDATE SKIP LOCKED
       )
       UPDATE deliveries d SET owner = $1, lease_until = $2, updated_at = $3 FROM due WHERE d.id = due.id RETURNING d.*`,
      [owner, leaseUntil, now, now, Math.floor(limit)],
    );
    return rows.map(rowToDelivery).sort((a, b) => (a.next_at ?? 0) - (b.next_at ?? 0) || (a.id < b.id ? -1 : 1));
  }

  /** The update (fenced by owner) and the attempt's row in one statement. */
  async record(id: string, owner: string, a: DeliveryAttempt, next: DeliveryUpdate): Promise<boolean> {
    const done = next.status === 'pending' ? null : next.now;
    const rows = await this.db.query(
      `WITH u AS (
         UPDATE deliveries SET status = $1, attempts = $2, next_at = $3, updated_at = $4, finished_at = $5, owner = NULL, lease_until = NULL
         WHERE id = $6 AND owner = $7 AND status = 'pending' RETURNING id
       ), a AS (
         INSERT INTO delivery_attempts (delivery_id, n, started_at, duration_ms, request, status, response, error)
         SELECT u.id, $2, $8, $9, $10, $11, $12, $13 FROM u ON CONFLICT (delivery_id, n) DO NOTHING
       )
       SELECT id FROM u`,
      [next.status, a.n, next.status === 'pending' ? next.next_at : null, next.now, done, id, owner,
        a.started_at, a.duration_ms, JSON.stringify(a.request), a.status,
        a.response === null ? null : JSON.stringify(a.response), a.error === null ? null : JSON.stringify(a.error)],
    );
    return rows.length === 1;
  }

  async list(tenant: string, runId: string): Promise<DeliveryWithAttempts[]> {
    const rows = await this.db.query<DeliveryRow & { attempt_log: AttemptRow[] | null }>(
      `SELECT d.*, (SELECT json_agg(a ORDER BY a.n) FROM delivery_attempts a WHERE a.delivery_id = d.id) AS attempt_log
       FROM deliveries d WHERE d.tenant = $1 AND d.run_id = $2 ORDER BY d.created_at, d.id`,
      [tenant, runId],
    );
    return rows.map((r) => ({ ...rowToDelivery(r), attempt_log: (r.attempt_log ?? []).map(rowToAttempt) }));
  }

  async nextAt(): Promise<number | null> {
    const [row] = await this.db.query<{ next_at: number }>(
      "SELECT next_at FROM deliveries WHERE status = 'pending' AND next_at IS NOT NULL ORDER BY next_at LIMIT 1",
    );
    return row?.next_at ?? null;
  }

  async awaitingDelivery(since: number, limit: number): Promise<Run[]> {
    if (limit <= 0) return [];
    const rows = await this.db.query<RunRow & Record<string, unknown>>(
      `SELECT r.* FROM runs r
       WHERE r.result_url IS NOT NULL AND r.finished_at IS NOT NULL AND r.finished_at >= $1
         AND r.status IN ('succeeded', 'failed', 'cancelled')
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.run_id = r.id AND d.run_attempt = r.attempt)
       ORDER BY r.finished_at LIMIT $2`,
      [since, Math.floor(limit)],
    );
    return rows.map(rowToRun);
  }

  async getSecret(tenant: string): Promise<WebhookSecretRecord | null> {
    const [row] = await this.db.query<SecretRow>('SELECT * FROM webhook_secrets WHERE tenant = $1', [tenant]);
    return row === undefined ? null : rowToSecret(row);
  }

  async ensureSecret(tenant: string, secret: string, now: number): Promise<WebhookSecretRecord> {
    return this.db.transaction(async (tx) => {
      await tx.query(ENSURE_TENANT, [tenant, now]);
      await tx.query('INSERT INTO webhook_secrets (tenant, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (tenant) DO NOTHING', [tenant, secret, now]);
      const [row] = await tx.query<SecretRow>('SELECT * FROM webhook_secrets WHERE tenant = $1', [tenant]);
      return rowToSecret(row);
    });
  }

  async rotateSecret(tenant: string, secret: string, now: number): Promise<WebhookSecretRecord> {
    return this.db.transaction(async (tx) => {
      await tx.query(ENSURE_TENANT, [tenant, now]);
      const [row] = await tx.query<SecretRow>(
        `INSERT INTO webhook_secrets (tenant, secret, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (tenant) DO UPDATE SET previous = webhook_secrets.secret, secret = excluded.secret, rotated_at = $3
         RETURNING *`,
        [tenant, secret, now],
      );
      return rowToSecret(row);
    });
  }
}
