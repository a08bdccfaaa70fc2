/**
 * The SQLite store's two forms (in this thread, on a store thread) share how the contract suite
 * gets a fresh database file per case.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../src/store/types.js';
import { storeContract } from './contract.js';

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

/** Runs the store contract against stores made by `open`, one new database file per case. */
export function sqliteContract(name: string, open: (path: string) => Promise<Store>): void {
  storeContract(name, async () => {
    const { dir, path } = await tempDb();
    let current = await open(path);
    return {
      store: current,
      reopen: async () => (current = await open(path)),
      cleanup: async () => {
        await current.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}
