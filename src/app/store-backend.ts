/**
 * Which store the server uses: the PostgreSQL store when a database URL is configured (several
 * nodes may share it), else the embedded SQLite store in the data directory, on its own thread.
 * Either way the store is guarded (storage-guard.ts): a full disk answers 503 `storage_full`, a
 * database out of reach 503 `unavailable`, both with `Retry-After`, and the node is not ready
 * meanwhile. The store is returned migrated. The one place that knows the backends.
 */
import { join } from 'node:path';
import type { Logger } from '../engine/executor.js';
import { isPostgresUnavailableError } from '../store/postgres/errors.js';
import { isPostgresStorageFullError, openPostgresStore } from '../store/postgres/store.js';
import { isStorageFullError } from '../store/sqlite/store.js';
import { openThreadedSqliteStore } from '../store/sqlite/thread.js';
import type { Store } from '../store/types.js';
import type { Config } from './config.js';
import { guardStorage, type StorageGuard } from './storage-guard.js';

/** The first pause before the database is tried again at start (ms); it doubles up to the cap. */
const START_RETRY_MS = 500;
const START_RETRY_MAX_MS = 5_000;

export interface OpenedStore {
  store: Store;
  /** The storage guard around it (`full` while writes are refused for lack of space). */
  storage: StorageGuard;
  /** 'postgres' or 'sqlite', for logs and metrics. */
  backend: 'postgres' | 'sqlite';
}

export async function openConfiguredStore(config: Config, log: Logger & { fatal(obj: object, msg: string): void }): Promise<OpenedStore> {
  const db = config.database;
  if (db.url !== null) {
    const store = await openPostgresStore({
      url: db.url, poolSize: db.poolSize, connectTimeoutMs: db.connectTimeoutMs, statementTimeoutMs: db.statementTimeoutMs,
      idleTimeoutMs: db.idleTimeoutMs,
      onBackgroundError: (err) => log.warn({ err }, 'a PostgreSQL connection failed in the background; it is opened again'),
    });
    const guarded = guardStorage(store, {
      isFull: isPostgresStorageFullError, isUnavailable: isPostgresUnavailableError, retryAfterSeconds: config.retryAfterSeconds, log, clock: Date.now,
    });
    // Nodes starting together migrate once (the migration lock); a database not up yet is waited for.
    for (let pause = START_RETRY_MS; ; pause = Math.min(pause * 2, START_RETRY_MAX_MS)) {
      try {
        await guarded.store.migrate();
        break;
      } catch (e) {
        if (!isPostgresUnavailableError(e) && !isPostgresUnavailableError((e as { cause?: unknown }).cause)) throw e;
        log.warn({ err: e, retry_ms: pause }, 'the database cannot be reached at start; trying again');
        await new Promise((r) => setTimeout(r, pause));
      }
    }
    return { store: guarded.store, storage: guarded, backend: 'postgres' };
  }
  // The store runs on a thread of its own; if that thread dies nothing more can be made durable,
  // so the process stops and recovery at the next start takes over (docs/operations.md).
  const dbPath = join(config.dataDir, 'flowgate.db');
  const threaded = await openThreadedSqliteStore({
    path: dbPath,
    onFailure: (err) => {
      log.fatal({ err }, 'the store thread failed; stopping');
      process.exit(1);
    },
  });
  // A full disk refuses writes with 503 storage_full and makes the server not ready until space returns.
  const guarded = guardStorage(threaded, {
    isFull: (e) => isStorageFullError(e, dbPath), retryAfterSeconds: config.retryAfterSeconds, log, clock: Date.now,
  });
  await guarded.store.migrate();
  return { store: guarded.store, storage: guarded, backend: 'sqlite' };
}
