/**
 * Which store the server uses: the PostgreSQL store when a database URL is configured (several
 * nodes may share it), else the embedded SQLite store in the data directory, on its own thread.
 * Either way a store that runs out of space refuses writes with `storage_full` (storage-guard.ts).
 * The one place that knows the backends.
 */
import { join } from 'node:path';
import type { Logger } from '../engine/executor.js';
import { isPostgresStorageFullError, openPostgresStore } from '../store/postgres/store.js';
import { isStorageFullError } from '../store/sqlite/store.js';
import { openThreadedSqliteStore } from '../store/sqlite/thread.js';
import type { Store } from '../store/types.js';
import type { Config } from './config.js';
import { guardStorage, type StorageGuard } from './storage-guard.js';

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
    const guarded = guardStorage(store, { isFull: isPostgresStorageFullError, retryAfterSeconds: config.retryAfterSeconds, log, clock: Date.now });
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
  return { store: guarded.store, storage: guarded, backend: 'sqlite' };
}
