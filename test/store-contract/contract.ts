/**
 * The store contract: every backend of `Store` must pass these cases. Written against the Store
 * interface only (no SQL, no driver). A backend's test file calls the one entry point:
 *
 *   contract('postgres', factory, { openSecond })
 *
 * - `factory()` makes a new, empty database and a first Store on it (not migrated: the suite
 *   migrates it), with `cleanup` to close it and drop the database, and optionally `reopen` to open
 *   the same data again after `store.close()` (a restart; the durability case needs it).
 * - `openSecond(harness)` opens ANOTHER Store on the same data as `harness.store`, as a second node
 *   would (the suite migrates it too, closes it before `cleanup`). Without it the race cases
 *   (contract-races.ts: two claimers, one ref from two handles, a reply raced by a transition,
 *   a lease taken only after it expired, two saves of one workflow) are skipped with that reason.
 *
 * What a backend may legitimately differ in is read from `store.capabilities`, never from its name:
 * with `concurrentClaimers` a live lease of another owner is refused by every claim; without it
 * (one process owns the data) any other owner is a dead process and its runs are taken at once.
 *
 * Each case gets a fresh, migrated database and cleans it up afterwards. Crash and recovery states
 * (expired leases, dead owners) are written directly instead of waited for.
 */
import { describe, type TestContext } from 'node:test';
import type { Store } from '../../src/store/types.js';
import { accountsContract } from './contract-accounts.js';
import { deliveriesContract } from './contract-deliveries.js';
import { leasesContract } from './contract-leases.js';
import { loginsContract } from './contract-logins.js';
import { racesContract } from './contract-races.js';
import { runsContract } from './contract-runs.js';
import { slotsContract } from './contract-slots.js';
import { workflowsContract } from './contract-workflows.js';
import type { StoreHarness } from './fixtures.js';

export type { MakeStore, StoreHarness } from './fixtures.js';

export interface ContractOptions<H extends StoreHarness> {
  /** Opens a second Store on the data of `harness` (another node on the same database). */
  openSecond?: (harness: H) => Promise<Store>;
}

/** What each group of cases receives. */
export interface ContractContext {
  /** Wraps a case body with a fresh migrated store. */
  use(body: (store: Store, harness: StoreHarness, t: TestContext) => Promise<void>): (t: TestContext) => Promise<void>;
  /**
   * Wraps a case body with two migrated stores on the same data (`a` is the harness's own); the
   * case is skipped when the backend cannot open a second one.
   */
  useTwo(body: (a: Store, b: Store, t: TestContext) => Promise<void>): (t: TestContext) => Promise<void>;
}

export function contract<H extends StoreHarness>(name: string, factory: () => Promise<H>, options: ContractOptions<H> = {}): void {
  const ctx: ContractContext = {
    use: (body) => async (t) => {
      const harness = await factory();
      try {
        await harness.store.migrate();
        await body(harness.store, harness, t);
      } finally {
        await harness.cleanup();
      }
    },
    useTwo: (body) => async (t) => {
      const { openSecond } = options;
      if (!openSecond) {
        t.skip('the backend harness opens no second store on the same data (one owner per database)');
        return;
      }
      const harness = await factory();
      let second: Store | null = null;
      try {
        await harness.store.migrate();
        second = await openSecond(harness);
        await second.migrate();
        await body(harness.store, second, t);
      } finally {
        await second?.close();
        await harness.cleanup();
      }
    },
  };
  describe(`store contract: ${name}`, () => {
    describe('settings, tenants, keys, secrets', () => accountsContract(ctx));
    describe('workflows', () => workflowsContract(ctx));
    describe('runs', () => runsContract(ctx));
    describe('timers, leases, recovery, durability', () => leasesContract(ctx));
    describe('API logins', () => loginsContract(ctx));
    describe('result deliveries, webhook secrets', () => deliveriesContract(ctx));
    describe('two stores on the same data', () => racesContract(ctx));
    describe('per-workflow concurrency slots', () => slotsContract(ctx));
  });
}

/** The entry point under its former name (a factory without a second store). */
export const storeContract = (name: string, factory: () => Promise<StoreHarness>): void => contract(name, factory);
