/**
 * The PostgreSQL store: the shared contract, each case on a fresh schema of one database made for
 * this file, with a second store on the same schema for the race cases (another node). What only
 * PostgreSQL has is in postgres-specifics.test.ts.
 */
import { after, describe } from 'node:test';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { createTestDatabase, skipReason } from '../helpers/postgres.js';
import { contract, type StoreHarness } from './contract.js';

const skip = await skipReason();

if (skip) {
  describe('store contract: postgres', { skip }, () => {});
} else {
  const database = await createTestDatabase();
  after(async () => { await database.drop(); });
  /** The admin side: makes and drops the schemas. */
  const admin = await openPostgresStore({ url: database.url, poolSize: 2 });
  after(async () => { await admin.close(); });
  let n = 0;
  type PgHarness = StoreHarness & { url: string };
  // The contract's times are fixed in the past (T0): leases are judged by the caller's clock only.
  const open = (url: string): Promise<PostgresStore> => openPostgresStore({ url, leaseClock: 'caller', poolSize: 4 });
  contract<PgHarness>('postgres', async () => {
    // A schema per case: a fresh, empty store without making a database each time.
    const schema = `c${++n}_${process.pid}`;
    await admin.db.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(database.url);
    url.searchParams.set('options', `-c search_path=${schema}`);
    let current = await open(url.toString());
    return {
      store: current,
      url: url.toString(),
      reopen: async () => (current = await open(url.toString())),
      cleanup: async () => {
        await current.close();
        await admin.db.query(`DROP SCHEMA ${schema} CASCADE`);
      },
    };
  }, { openSecond: (harness) => open(harness.url) });
}
