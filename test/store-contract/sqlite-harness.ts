/**
 * The SQLite store's two forms (in this thread, on a store thread) share how the contract suite
 * gets a fresh database file per case.
 *
 * Two handles on one file: the server owns its file alone (locking_mode=EXCLUSIVE; a second
 * owner gets DatabaseLockedError), so the race cases cannot open a second store on an ordinary
 * one. They run on stores opened with `shared: true` instead (SqliteOptions.shared): normal
 * locking, every write verb in an IMMEDIATE transaction so writers take turns on the file lock,
 * and `capabilities.concurrentClaimers` declared, so claims respect another owner's live lease as
 * a multi-node store must. In this thread two shared stores interleave only between verbs (each
 * verb is one synchronous transaction); on two store threads their verbs truly overlap.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../src/store/types.js';
import { contract } from './contract.js';
import type { StoreHarness } from './fixtures.js';

export async function tempDb(): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'flowgate-sqlite-'));
  return { dir, path: join(dir, 'flowgate.db') };
}

/**
 * Opens a store on a new database file, migrates it, hands it to `use`, then closes it and removes
 * the file, whatever `use` did. Returns the (closed) store.
 */
export async function withMigratedStore(open: (path: string) => Promise<Store>, use: (store: Store) => Promise<void>): Promise<Store> {
  const { dir, path } = await tempDb();
  const store = await open(path);
  try {
    await store.migrate();
    await use(store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
  return store;
}

/**
 * Runs the store contract against stores made by `open`, one new database file per case. With
 * `shared`, `open` must open the file for several stores (`shared: true`) and the race cases get a
 * second store from it on the same file.
 */
export function sqliteContract(name: string, open: (path: string) => Promise<Store>, opts: { shared?: boolean } = {}): void {
  type SqliteHarness = StoreHarness & { path: string };
  contract<SqliteHarness>(name, async () => {
    const { dir, path } = await tempDb();
    let current = await open(path);
    return {
      store: current,
      path,
      reopen: async () => (current = await open(path)),
      cleanup: async () => {
        await current.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }, opts.shared ? { openSecond: (harness) => open(harness.path) } : {});
}
