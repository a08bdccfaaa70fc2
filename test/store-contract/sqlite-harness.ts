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
