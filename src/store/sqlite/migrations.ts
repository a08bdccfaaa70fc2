/**
 * The SQLite schema as an ordered list of migrations. Each runs once, inside its own transaction,
 * and is recorded in `schema_migrations`; `migrate()` is idempotent. Never edit a released
 * migration: append a new one.
 *
 * Conventions: STRICT tables; times are epoch milliseconds (INTEGER); JSON documents are TEXT
 * written by the store itself (never parsed by SQL on the hot path).
 */
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The first conv_id handed out (Corezoid process ids are numeric and never small). */
export const FIRST_CONV_ID = 1000;
/** The first API login handed out (Corezoid logins are numeric). */
export const FIRST_API_LOGIN = 100000;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE settings (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;

      -- Named counters (PostgreSQL would use SEQUENCEs). A value is never handed out twice.
      CREATE TABLE sequences (
        name TEXT PRIMARY KEY,
        next INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      INSERT INTO sequences (name, next) VALUES ('conv_id', ${FIRST_CONV_ID});

      CREATE TABLE tenants (
        id         TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      -- The spec: the default tenant exists from the start.
      INSERT INTO tenants (id, created_at) VALUES ('default', CAST(unixepoch('subsec') * 1000 AS INTEGER));

      CREATE TABLE api_keys (
        id         TEXT PRIMARY KEY,
        tenant     TEXT NOT NULL REFERENCES tenants (id),
        name       TEXT NOT NULL,
        role       TEXT NOT NULL CHECK (role IN ('admin', 'trigger', 'read')),
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX api_keys_by_tenant ON api_keys (tenant, created_at, id);

      CREATE TABLE secrets (
        tenant     TEXT NOT NULL REFERENCES tenants (id),
        name       TEXT NOT NULL,
        ciphertext TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, name)
      ) STRICT;

      -- One row per workflow: what is current, and the identifiers of its public URLs.
      CREATE TABLE workflow_heads (
        tenant      TEXT NOT NULL REFERENCES tenants (id),
        id          TEXT NOT NULL,
        version     INTEGER NOT NULL,
        conv_id     INTEGER NOT NULL UNIQUE,
        hash        TEXT NOT NULL UNIQUE,
        guid        TEXT NOT NULL UNIQUE COLLATE NOCASE, -- GUIDs compare case-insensitively
        archived_at INTEGER,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (tenant, id)
      ) STRICT, WITHOUT ROWID;
      -- listWorkflows reads the primary key range of a tenant; lookups by conv_id, hash and guid
      -- use their UNIQUE indexes.

      -- One row per version; rows are never updated.
      CREATE TABLE workflows (
        tenant     TEXT NOT NULL,
        id         TEXT NOT NULL,
        version    INTEGER NOT NULL CHECK (version >= 1),
        name       TEXT NOT NULL,
        source     TEXT NOT NULL,
        definition TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, id, version),
        FOREIGN KEY (tenant, id) REFERENCES workflow_heads (tenant, id)
      ) STRICT;

      CREATE TABLE runs (
        id             TEXT NOT NULL PRIMARY KEY,
        tenant         TEXT NOT NULL,
        workflow       TEXT NOT NULL,
        version        INTEGER NOT NULL,
        ref            TEXT,
        -- Equals ref while this run holds it; NULL once a while-active ref was handed on.
        ref_key        TEXT,
        status         TEXT NOT NULL
                         CHECK (status IN ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
        input          TEXT NOT NULL,
        data           TEXT NOT NULL,
        progress       REAL NOT NULL,
        step           TEXT,
        step_seq       INTEGER NOT NULL,
        reply          TEXT,
        error          TEXT,
        parking        TEXT,
        wake_at        INTEGER,
        callback_token TEXT NOT NULL UNIQUE, -- random tokens scatter inserts; a time-ordered prefix would not
        result_url     TEXT,
        parent_run_id  TEXT,
        parent_step    TEXT,
        parent_seq     INTEGER,
        attempt        INTEGER NOT NULL,
        owner          TEXT,
        lease_until    INTEGER,
        rev            INTEGER NOT NULL,
        created_at     INTEGER NOT NULL,
        started_at     INTEGER,
        finished_at    INTEGER,
        updated_at     INTEGER NOT NULL,
        CHECK (ref_key IS NULL OR ref_key = ref),
        FOREIGN KEY (tenant, workflow, version) REFERENCES workflows (tenant, id, version)
      ) STRICT;
      -- Listing newest first (ids are UUIDv7), per tenant and per filter.
      CREATE INDEX runs_by_tenant ON runs (tenant, id);
      CREATE INDEX runs_by_workflow ON runs (tenant, workflow, id);
      CREATE INDEX runs_by_status ON runs (tenant, status, id);
      CREATE INDEX runs_by_ref ON runs (tenant, ref, id) WHERE ref IS NOT NULL;
      CREATE INDEX runs_by_parent ON runs (parent_run_id, id) WHERE parent_run_id IS NOT NULL;
      -- Idempotent intake: a ref is held by at most one run of a workflow.
      CREATE UNIQUE INDEX runs_ref_key ON runs (tenant, workflow, ref_key) WHERE ref_key IS NOT NULL;
      -- Timers (claimDueRuns, nextWakeAt) and recovery (claimOrphanedRuns). Partial: they hold only
      -- parked / in-flight runs, so they stay small, intake of a queued run skips runs_due, and
      -- finished runs leave both. The queries repeat the WHERE terms verbatim so the planner uses them.
      CREATE INDEX runs_due ON runs (wake_at) WHERE status = 'waiting';
      CREATE INDEX runs_leases ON runs (status, lease_until) WHERE status IN ('queued', 'running');

      CREATE TABLE step_records (
        run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq         INTEGER NOT NULL,
        step_id     TEXT NOT NULL,
        type        TEXT NOT NULL,
        name        TEXT,
        status      TEXT NOT NULL CHECK (status IN ('running', 'waiting', 'succeeded', 'failed', 'skipped')),
        attempts    TEXT NOT NULL,
        input       TEXT NOT NULL,
        output      TEXT NOT NULL,
        error       TEXT,
        started_at  INTEGER NOT NULL,
        finished_at INTEGER,
        PRIMARY KEY (run_id, seq)
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'api logins',
    sql: `
      -- Corezoid-style API logins (docs/spec.md §5.1): a global numeric login and a sealed secret.
      CREATE TABLE api_logins (
        login      INTEGER PRIMARY KEY,
        tenant     TEXT NOT NULL REFERENCES tenants (id),
        name       TEXT,
        secret     TEXT NOT NULL, -- SecretBox ciphertext: the secret is needed to check signatures
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX api_logins_by_tenant ON api_logins (tenant, login);
      INSERT INTO sequences (name, next) VALUES ('api_login', ${FIRST_API_LOGIN});
    `,
  },
  {
    version: 3,
    name: 'run meta',
    sql: `
      -- How a run was started, beside its data (Run.meta: e.g. Luma's initiator ids). Written once
      -- at creation, never updated; NULL when there is none.
      ALTER TABLE runs ADD COLUMN meta TEXT;
    `,
  },
  {
    version: 4,
    name: 'result deliveries and webhook secrets',
    sql: `
      -- Each tenant's Standard Webhooks secret for result deliveries (docs/spec.md §8.13), sealed. After a
      -- rotation the replaced secret stays in previous, and deliveries are signed with both for a while.
      CREATE TABLE webhook_secrets (
        tenant     TEXT PRIMARY KEY REFERENCES tenants (id),
        secret     TEXT NOT NULL,
        previous   TEXT,
        rotated_at INTEGER,
        created_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;

      -- One delivery per ending of a run with a result_url (run_attempt: a retried run that ends
      -- again is delivered again). body is fixed when the delivery is made: every attempt sends it.
      CREATE TABLE deliveries (
        id          TEXT PRIMARY KEY,
        tenant      TEXT NOT NULL,
        run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        run_attempt INTEGER NOT NULL,
        url         TEXT NOT NULL,
        body        TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts    INTEGER NOT NULL,
        next_at     INTEGER,
        owner       TEXT,
        lease_until INTEGER,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        finished_at INTEGER,
        UNIQUE (run_id, run_attempt)
      ) STRICT;
      -- The delivery loop's queue: only pending rows, earliest first.
      CREATE INDEX deliveries_due ON deliveries (next_at) WHERE status = 'pending';

      CREATE TABLE delivery_attempts (
        delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        n           INTEGER NOT NULL,
        started_at  INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        request     TEXT NOT NULL,
        status      INTEGER,
        response    TEXT,
        error       TEXT,
        PRIMARY KEY (delivery_id, n)
      ) STRICT;

      -- The recovery sweep (runsAwaitingDelivery): finished runs that asked for a delivery.
      CREATE INDEX runs_result_url ON runs (finished_at) WHERE result_url IS NOT NULL AND finished_at IS NOT NULL;
    `,
  },
  {
    version: 5,
    name: 'first step records inline',
    sql: `
      -- The step records a run is created with (the steps of its first slice), as one JSON array in
      -- the run's own row: one row written per new run instead of one per step. Records written
      -- later go to step_records and take precedence for the same seq.
      ALTER TABLE runs ADD COLUMN first_steps TEXT;
    `,
  },
  {
    version: 6,
    name: 'nodes',
    sql: `
      -- The processes serving from this database and their last heartbeat (GET /v1/cluster).
      CREATE TABLE nodes (
        id           TEXT PRIMARY KEY,
        started_at   INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL,
        info         TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;
      -- What a node holds: its runs under a lease.
      CREATE INDEX runs_owner ON runs (owner) WHERE owner IS NOT NULL;
    `,
  },
];

/** Applies every migration not yet recorded, in order, each in its own transaction. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]),
  );
  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...applied].filter((v) => !known.has(v));
  if (unknown.length > 0) {
    throw new Error(
      `the database has schema migrations this Flowgate does not know (${unknown.join(', ')}): ` +
        'it was written by a newer release',
    );
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const done: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }).immediate();
    done.push(m.version);
  }
  return done;
}
