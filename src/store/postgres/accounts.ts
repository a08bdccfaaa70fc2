/** Settings, tenants, API keys and secrets on PostgreSQL: small tables, off the hot path. */
import type { ApiKey, SecretMeta, Tenant } from '../../core/types.js';
import { rowToKey, type KeyRow } from '../documents.js';
import type { Db } from './connection.js';

const ENSURE_TENANT = 'INSERT INTO tenants (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING';

export class AccountQueries {
  constructor(private readonly db: Db) {}

  async getSetting(name: string): Promise<string | null> {
    const [row] = await this.db.query<{ value: string }>('SELECT value FROM settings WHERE name = $1', [name]);
    return row?.value ?? null;
  }

  async putSetting(name: string, value: string): Promise<void> {
    await this.db.query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }

  /** One statement: the tenant as stored, created when missing. */
  async ensureTenant(id: string, now: number): Promise<Tenant> {
    const [row] = await this.db.query<{ id: string; created_at: number }>(
      `WITH i AS (INSERT INTO tenants (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id, created_at)
       SELECT id, created_at FROM i UNION ALL SELECT id, created_at FROM tenants WHERE id = $1 LIMIT 1`,
      [id, now],
    );
    if (row === undefined) throw new Error(`tenant ${id} could not be created`);
    return { id: row.id, created_at: row.created_at };
  }

  async getTenant(id: string): Promise<Tenant | null> {
    const [row] = await this.db.query<{ id: string; created_at: number }>('SELECT id, created_at FROM tenants WHERE id = $1', [id]);
    return row === undefined ? null : { id: row.id, created_at: row.created_at };
  }

  /** The key's tenant is created too when it does not exist, in the same transaction. */
  async createKey(key: ApiKey): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(ENSURE_TENANT, [key.tenant, key.created_at]);
      await tx.query('INSERT INTO api_keys (id, tenant, name, role, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [key.id, key.tenant, key.name, key.role, key.token_hash, key.created_at]);
    });
  }

  async findKeyByHash(tokenHash: string): Promise<ApiKey | null> {
    const [row] = await this.db.query<KeyRow & Record<string, unknown>>('SELECT * FROM api_keys WHERE token_hash = $1', [tokenHash]);
    return row === undefined ? null : rowToKey(row);
  }

  async listKeys(tenant: string): Promise<ApiKey[]> {
    return (await this.db.query<KeyRow & Record<string, unknown>>('SELECT * FROM api_keys WHERE tenant = $1 ORDER BY created_at, id', [tenant])).map(rowToKey);
  }

  async deleteKey(tenant: string, id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM api_keys WHERE tenant = $1 AND id = $2 RETURNING id', [tenant, id])).length === 1;
  }

  async putSecret(tenant: string, name: string, ciphertext: string, now: number): Promise<'created' | 'updated'> {
    return this.db.transaction(async (tx) => {
      await tx.query(ENSURE_TENANT, [tenant, now]);
      const [row] = await tx.query<{ created: boolean }>(
        `INSERT INTO secrets (tenant, name, ciphertext, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (tenant, name) DO UPDATE SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at
         RETURNING (xmax = 0) AS created`,
        [tenant, name, ciphertext, now],
      );
      return row.created ? 'created' : 'updated';
    });
  }

  async getSecretCiphertexts(tenant: string): Promise<Map<string, string>> {
    const rows = await this.db.query<{ name: string; ciphertext: string }>('SELECT name, ciphertext FROM secrets WHERE tenant = $1', [tenant]);
    return new Map(rows.map((r) => [r.name, r.ciphertext]));
  }

  async listSecrets(tenant: string): Promise<SecretMeta[]> {
    const rows = await this.db.query<{ name: string; created_at: number; updated_at: number }>(
      'SELECT name, created_at, updated_at FROM secrets WHERE tenant = $1 ORDER BY name', [tenant],
    );
    return rows.map((s) => ({ name: s.name, created_at: s.created_at, updated_at: s.updated_at }));
  }

  async deleteSecret(tenant: string, name: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM secrets WHERE tenant = $1 AND name = $2 RETURNING name', [tenant, name])).length === 1;
  }
}
