/**
 * The PostgreSQL schema as an ordered list of migrations, each applied once in its own transaction
 * and recorded in `schema_migrations`. Nodes that start together migrate once: `migrate()` holds a
 * session advisory lock while it looks at the ledger and applies what is missing, so a second node
 * waits and then finds nothing to do. Never edit a released migration: append a new one.
 *
 * The same tables as the SQLite store (src/store/sqlite/migrations.ts), with PostgreSQL's types:
 * times are epoch milliseconds (BIGINT), JSON documents are TEXT written by the store (kept exactly
 * as written, and never parsed by SQL on the hot path), identifiers and names compare bytewise
 * (COLLATE "C", like SQLite), counters are SEQUENCEs.
 *
 * The functions (functions.ts, slots.ts, rates.ts) are code rather than schema: they are replaced at every migrate().
 */
import type { Queryable } from './connection.js';
import { FUNCTIONS_SQL } from './functions.js';
import { RATES_SQL } from './rates.js';
import { SLOTS_SQL } from './slots.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The first conv_id handed out (the same as SQLite's). */
export const FIRST_CONV_ID = 1000;
/** The first API login handed out. */
export const FIRST_API_LOGIN = 100000;

/** Any fixed 64-bit number that names the migration lock among the database's advisory locks. */
export const MIGRATION_LOCK = 7_310_421_902_117_001;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE settings (
        name  TEXT COLLATE "C" PRIMARY KEY,
        value TEXT NOT NULL
      );

      -- Counters that are never handed out twice (nextval is outside transactions: a rolled back
      -- save may leave a gap, which is allowed).
      CREATE SEQUENCE conv_id_seq START ${FIRST_CONV_ID};
      CREATE SEQUENCE api_login_seq START ${FIRST_API_LOGIN};

      CREATE TABLE tenants (
        id         TEXT COLLATE "C" PRIMARY KEY,
        created_at BIGINT NOT NULL
      );
      INSERT INTO tenants (id, created_at) VALUES ('default', (extract(epoch FROM clock_timestamp()) * 1000)::bigint);

      CREATE TABLE api_keys (
        id         TEXT COLLATE "C" PRIMARY KEY,
        tenant     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
        name       TEXT NOT NULL,
        role       TEXT NOT NULL CHECK (role IN ('admin', 'trigger', 'read')),
        token_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX api_keys_by_tenant ON api_keys (tenant, created_at, id);

      CREATE TABLE secrets (
        tenant     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
        name       TEXT COLLATE "C" NOT NULL,
        ciphertext TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (tenant, name)
      );

      CREATE TABLE workflow_heads (
        tenant      TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
        id          TEXT COLLATE "C" NOT NULL,
        version     BIGINT NOT NULL,
        conv_id     BIGINT NOT NULL UNIQUE,
        hash        TEXT NOT NULL UNIQUE,
        guid        TEXT NOT NULL,
        archived_at BIGINT,
        created_at  BIGINT NOT NULL,
        updated_at  BIGINT NOT NULL,
        PRIMARY KEY (tenant, id)
      );
      -- GUIDs compare case-insensitively.
      CREATE UNIQUE INDEX workflow_heads_guid ON workflow_heads (lower(guid));

      CREATE TABLE workflows (
        tenant     TEXT COLLATE "C" NOT NULL,
        id         TEXT COLLATE "C" NOT NULL,
        version    BIGINT NOT NULL CHECK (version >= 1),
        name       TEXT NOT NULL,
        source     TEXT NOT NULL,
        definition TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (tenant, id, version),
        FOREIGN KEY (tenant, id) REFERENCES workflow_heads (tenant, id)
      );

      CREATE TABLE runs (
        id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        tenant         TEXT COLLATE "C" NOT NULL,
        workflow       TEXT COLLATE "C" NOT NULL,
        version        BIGINT NOT NULL,
        ref            TEXT COLLATE "C",
        ref_key        TEXT COLLATE "C",
        status         TEXT NOT NULL
                         CHECK (status IN ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
        input          TEXT NOT NULL,
        data           TEXT NOT NULL,
        progress       DOUBLE PRECISION NOT NULL,
        step           TEXT,
        step_seq       BIGINT NOT NULL,
        reply          TEXT,
        error          TEXT,
        parking        TEXT,
        wake_at        BIGINT,
        callback_token TEXT NOT NULL UNIQUE,
        result_url     TEXT,
        parent_run_id  TEXT COLLATE "C",
        parent_step    TEXT,
        parent_seq     BIGINT,
        attempt        BIGINT NOT NULL,
        owner          TEXT,
        lease_until    BIGINT,
        rev            BIGINT NOT NULL,
        created_at     BIGINT NOT NULL,
        started_at     BIGINT,
        finished_at    BIGINT,
        updated_at     BIGINT NOT NULL,
        meta           TEXT,
        first_steps    TEXT,
        CHECK (ref_key IS NULL OR ref_key = ref),
        FOREIGN KEY (tenant, workflow, version) REFERENCES workflows (tenant, id, version)
      );
      CREATE INDEX runs_by_tenant ON runs (tenant, id);
      CREATE INDEX runs_by_workflow ON runs (tenant, workflow, id);
      CREATE INDEX runs_by_status ON runs (tenant, status, id);
      CREATE INDEX runs_by_ref ON runs (tenant, ref, id) WHERE ref IS NOT NULL;
      CREATE INDEX runs_by_parent ON runs (parent_run_id, id) WHERE parent_run_id IS NOT NULL;
      CREATE UNIQUE INDEX runs_ref_key ON runs (tenant, workflow, ref_key) WHERE ref_key IS NOT NULL;
      CREATE INDEX runs_due ON runs (wake_at) WHERE status = 'waiting';
      CREATE INDEX runs_leases ON runs (status, lease_until) WHERE status IN ('queued', 'running');
      CREATE INDEX runs_result_url ON runs (finished_at) WHERE result_url IS NOT NULL AND finished_at IS NOT NULL;

      CREATE TABLE step_records (
        run_id      TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq         BIGINT NOT NULL,
        step_id     TEXT NOT NULL,
        type        TEXT NOT NULL,
        name        TEXT,
        status      TEXT NOT NULL CHECK (status IN ('running', 'waiting', 'succeeded', 'failed', 'skipped')),
        attempts    TEXT NOT NULL,
        input       TEXT NOT NULL,
        output      TEXT NOT NULL,
        error       TEXT,
        started_at  BIGINT NOT NULL,
        finished_at BIGINT,
        PRIMARY KEY (run_id, seq)
      );

      CREATE TABLE api_logins (
        login      BIGINT PRIMARY KEY,
        tenant     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
        name       TEXT,
        secret     TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX api_logins_by_tenant ON api_logins (tenant, login);

      CREATE TABLE webhook_secrets (
        tenant     TEXT COLLATE "C" PRIMARY KEY REFERENCES tenants (id),
        secret     TEXT NOT NULL,
        previous   TEXT,
        rotated_at BIGINT,
        created_at BIGINT NOT NULL
      );

      CREATE TABLE deliveries (
        id          TEXT COLLATE "C" PRIMARY KEY,
        tenant      TEXT COLLATE "C" NOT NULL,
        run_id      TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        run_attempt BIGINT NOT NULL,
        url         TEXT NOT NULL,
        body        TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts    BIGINT NOT NULL,
        next_at     BIGINT,
        owner       TEXT,
        lease_until BIGINT,
        created_at  BIGINT NOT NULL,
        updated_at  BIGINT NOT NULL,
        finished_at BIGINT,
        UNIQUE (run_id, run_attempt)
      );
      CREATE INDEX deliveries_due ON deliveries (next_at) WHERE status = 'pending';
      CREATE INDEX deliveries_by_tenant_run ON deliveries (tenant, run_id);

      CREATE TABLE delivery_attempts (
        delivery_id TEXT COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        n           BIGINT NOT NULL,
        started_at  BIGINT NOT NULL,
        duration_ms BIGINT NOT NULL,
        request     TEXT NOT NULL,
        status      BIGINT,
        response    TEXT,
        error       TEXT,
        PRIMARY KEY (delivery_id, n)
      );
    `,
  },
  {
    version: 2,
    name: 'nodes',
    sql: `
      -- The processes serving from this database and their last heartbeat (GET /v1/cluster).
      CREATE TABLE nodes (
        id           TEXT COLLATE "C" PRIMARY KEY,
        started_at   BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL,
        info         TEXT NOT NULL
      );
      -- What a node holds: its runs under a lease.
      CREATE INDEX runs_owner ON runs (owner) WHERE owner IS NOT NULL;
    `,
  },
  {
    version: 3,
    name: 'rate buckets',
    sql: `
      -- The rate-limit buckets of FLOWGATE_RATE_LIMIT_MODE=database (rates.ts). Unlogged: no WAL,
      -- and emptied by a crash of the database (every bucket then starts full).
      CREATE UNLOGGED TABLE rate_buckets (
        key    TEXT COLLATE "C" PRIMARY KEY,
        tokens DOUBLE PRECISION NOT NULL,
        at     BIGINT NOT NULL
      );
    `,
  },
];

/**
 * Applies every migration not yet recorded, in order, each in its own transaction, then replaces
 * the functions; all under the migration lock. Returns the versions applied.
 */
export async function migrate(
  session: Queryable, migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  await session.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await session.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    BIGINT PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at BIGINT NOT NULL
    )`);
    const applied = new Set((await session.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...applied].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      throw new Error(
        `the database has schema migrations this Flowgate does not know (${unknown.join(', ')}): it was written by a newer release`,
      );
    }
    const done: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await session.query('BEGIN');
      try {
        await session.query(m.sql);
        await session.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
        await session.query('COMMIT');
      } catch (e) {
        await session.query('ROLLBACK');
        throw e;
      }
      done.push(m.version);
    }
    await session.query(FUNCTIONS_SQL);
    await session.query(SLOTS_SQL);
    await session.query(RATES_SQL);
    return done;
  } finally {
    await session.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
