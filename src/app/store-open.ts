/**
 * Opens the store the configuration names: PostgreSQL when FLOWGATE_DATABASE_URL is set (cluster
 * mode: several nodes on one database), else the embedded SQLite store on its own thread in the data
 * directory. Either way the store is guarded (storage-guard.ts): a full disk answers 503
 * `storage_full`, a database out of reach 503 `unavailable`, both with `Retry-After`, and the node
 * is not ready meanwhile. The only place that knows which backend is used (with app.ts).
 */
import { join } from 'node:path';
import type { Logger } from '../engine/executor.js';
import { isPostgresUnavailableError } from '../store/postgres/errors.js';
import { isPostgresStorageFullError, openPostgresStore } from '../store/postgres/store.js';
import { isStorageFullError } from '../store/sqlite/store.js';
import { openThreadedSqliteStore } from '../store/sqlite/thread.js';
import type { Config } from './config.js';
import { guardStorage, type StorageGuard } from './storage-guard.js';

/** The first pause before the database is tried again at start (ms); it doubles up to the cap. */
const START_RETRY_MS = 500;
const START_RETRY_MAX_MS = 5_000;

export interface OpenedStore extends StorageGuard {
  backend: 'sqlite' | 'postgres';
}

export async function openStore(config: Config, log: Logger & { fatal(obj: object, msg?: string): void }): Promise<OpenedStore> {
  const common = { retryAfterSeconds: config.retryAfterSeconds, log, clock: Date.now };
  if (config.databaseUrl !== null) {
    const pg = await openPostgresStore({
      url: config.databaseUrl, poolSize: config.databasePoolSize,
      onBackgroundError: (err) => log.warn({ err }, 'a PostgreSQL connection without a caller failed (the pool and the hint channel reconnect)'),
    });
    const guard = guardStorage(pg, { ...common, isFull: isPostgresStorageFullError, isUnavailable: isPostgresUnavailableError });
    // Nodes starting together migrate once (the migration lock); a database not up yet is waited for.
    for (let pause = START_RETRY_MS; ; pause = Math.min(pause * 2, START_RETRY_MAX_MS)) {
      try {
        await guard.store.migrate();
        break;
      } catch (e) {
        if (!isPostgresUnavailableError(e) && !isPostgresUnavailableError((e as { cause?: unknown }).cause)) throw e;
        log.warn({ err: e, retry_ms: pause }, 'the database cannot be reached at start; trying again');
        await new Promise((r) => setTimeout(r, pause));
      }
    }
    return withBackend(guard, 'postgres');
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
  const guard = guardStorage(threaded, { ...common, isFull: (e) => isStorageFullError(e, dbPath) });
  await guard.store.migrate();
  return withBackend(guard, 'sqlite');
}

/** The guard's live flags (getters: read at each use), with the backend's name. */
function withBackend(guard: StorageGuard, backend: OpenedStore['backend']): OpenedStore {
  return {
    store: guard.store, backend,
    get full() { return guard.full; },
    get away() { return guard.away; },
  };
}
