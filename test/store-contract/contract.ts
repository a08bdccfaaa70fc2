/**
 * The store contract: every backend of `Store` must pass these cases. Written against the Store
 * interface only (no SQL, no driver), so each backend's test file just calls `storeContract`.
 *
 * Each case gets a fresh, migrated store from `makeStore` and cleans it up afterwards. Crash and
 * recovery states (expired leases, dead owners) are written directly instead of waited for.
 */
import { describe, type TestContext } from 'node:test';
import type { Store } from '../../src/store/types.js';
import { accountsContract } from './contract-accounts.js';
import { deliveriesContract } from './contract-deliveries.js';
import { leasesContract } from './contract-leases.js';
import { loginsContract } from './contract-logins.js';
import { runsContract } from './contract-runs.js';
import { workflowsContract } from './contract-workflows.js';
import type { MakeStore, StoreHarness } from './fixtures.js';

export type { MakeStore, StoreHarness } from './fixtures.js';

/** What each group of cases receives: `use` wraps a case body with a fresh migrated store. */
export interface ContractContext {
  use(body: (store: Store, harness: StoreHarness, t: TestContext) => Promise<void>): (t: TestContext) => Promise<void>;
}

export function storeContract(name: string, makeStore: MakeStore): void {
  const ctx: ContractContext = {
    use: (body) => async (t) => {
      const harness = await makeStore();
      try {
        await harness.store.migrate();
        await body(harness.store, harness, t);
      } finally {
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
  });
}
