/**
 * A tenant's secrets, opened for templates (`$secrets`): read sealed from the store, opened with the
 * master key, kept in the node's `secrets` cache (src/engine/caches.ts). A secret that cannot be
 * opened (another master key) is left out and logged, never shown.
 */
import type { Store } from '../store/types.js';
import type { Caches, TtlCache } from './caches.js';
import type { Logger, SecretsPort } from './executor-types.js';
import type { Sealer } from './webhook-secrets.js';

export class TenantSecrets implements SecretsPort {
  private readonly cache: TtlCache<Record<string, string>>;

  constructor(private readonly store: Store, private readonly box: Sealer, private readonly caches: Caches, private readonly log: Logger) {
    this.cache = caches.cache('secrets');
  }

  values(tenant: string): Promise<Record<string, string>> {
    return this.cache.load(tenant, async () => {
      const out: Record<string, string> = {};
      for (const [name, sealed] of await this.store.getSecretCiphertexts(tenant)) {
        try {
          out[name] = this.box.open(sealed);
        } catch {
          this.log.error({ tenant, secret: name }, 'a secret could not be decrypted (wrong FLOWGATE_MASTER_KEY?)');
        }
      }
      return out;
    });
  }

  /** A secret of the tenant was written or deleted through this node: every node reads them again. */
  changed(tenant: string): void {
    this.caches.changed('secrets', tenant);
  }
}
