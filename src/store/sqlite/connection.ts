/**
 * Opening the database file: the pragmas that make commits durable and give one process sole
 * ownership of the file (or, with `shared`, let several stores write it: tests of several writers).
 */
import Database from 'better-sqlite3';

export interface SqliteOptions {
  /** The database file (created if missing). */
  path: string;
  /**
   * How long to wait for a lock held by another connection before failing (ms). With
   * locking_mode=EXCLUSIVE another process holds the lock until it exits, so this only bridges a
   * restart where the old process is still shutting down. Default 5000.
   */
  busyTimeoutMs?: number;
  /** Page cache size in KiB. Default 65536 (64 MiB). */
  cacheKiB?: number;
  /**
   * Several stores (connections in this process, or other processes on this machine) write the
   * file at once: normal locking instead of EXCLUSIVE (WAL keeps its -shm file), writers take turns
   * through the busy timeout, and the store declares `capabilities.concurrentClaimers`, so claims
   * respect the live leases of other owners. What the contract suite's race cases and the
   * several-engines tests open; the server always owns its file alone (the default, false).
   */
  shared?: boolean;
}

/** Raised when another process (or connection) owns the database file. */
export class DatabaseLockedError extends Error {
  readonly code = 'database_locked';
  constructor(path: string, cause: unknown) {
    super(
      `the SQLite database ${path} is in use by another Flowgate process ` +
        '(SQLite stores are single-process: locking_mode=EXCLUSIVE); stop it or use another file',
      { cause },
    );
    this.name = 'DatabaseLockedError';
  }
}

const isBusy = (e: unknown): boolean => {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
};

export function openDatabase(opts: SqliteOptions): Database.Database {
  const db = new Database(opts.path, { timeout: opts.busyTimeoutMs ?? 5000 });
  try {
    // Order matters: EXCLUSIVE before WAL means the wal-index lives in heap memory (no -shm file)
    // and the file lock, once taken, is held until close.
    if (opts.shared !== true) db.pragma('locking_mode = EXCLUSIVE');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') {
      throw new Error(`cannot switch ${opts.path} to WAL mode (journal_mode is ${String(mode)})`);
    }
    // FULL: the WAL is fsynced at every commit, so a committed batch survives power loss.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`cache_size = -${Math.max(1024, Math.floor(opts.cacheKiB ?? 65536))}`);
    db.pragma('temp_store = MEMORY');
    // Take the write lock now, so a second process fails at open rather than at its first write
    // (a shared file gives it back at COMMIT).
    db.exec('BEGIN IMMEDIATE; COMMIT');
  } catch (e) {
    db.close();
    if (isBusy(e)) throw new DatabaseLockedError(opts.path, e);
    throw e;
  }
  return db;
}
