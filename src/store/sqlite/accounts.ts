/** Settings, tenants, API keys and secrets: small tables, off the hot path. */
import type Database from 'better-sqlite3';
import type { ApiKey, SecretMeta, Tenant } from '../../core/types.js';
import { rowToKey, type KeyRow } from './rows.js';

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

export class AccountQueries {
  private readonly settingGet: Stmt<[string], string>;
  private readonly settingPut: Stmt<[string, string]>;
  private readonly tenantEnsure: Stmt<[string, number]>;
  private readonly tenantGet: Stmt<[string], Tenant>;
  private readonly keyInsert: Stmt<[string, string, string, string, string, number]>;
  private readonly keyByHash: Stmt<[string], KeyRow>;
  private readonly keysOfTenant: Stmt<[string], KeyRow>;
  private readonly keyDelete: Stmt<[string, string]>;
  private readonly secretExists: Stmt<[string, string], number>;
  private readonly secretInsert: Stmt<[string, string, string, number, number]>;
  private readonly secretUpdate: Stmt<[string, number, string, string]>;
  private readonly secretValues: Stmt<[string], [string, string]>;
  private readonly secretMetas: Stmt<[string], SecretMeta>;
  private readonly secretDelete: Stmt<[string, string]>;
  private readonly createKeyTx;
  private readonly putSecretTx;

  constructor(db: Database.Database) {
    this.settingGet = db.prepare<[string], string>('SELECT value FROM settings WHERE name = ?').pluck();
    this.settingPut = db.prepare(
      'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    );
    this.tenantEnsure = db.prepare('INSERT INTO tenants (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING');
    this.tenantGet = db.prepare('SELECT id, created_at FROM tenants WHERE id = ?');
    this.keyInsert = db.prepare(
      'INSERT INTO api_keys (id, tenant, name, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.keyByHash = db.prepare('SELECT * FROM api_keys WHERE token_hash = ?');
    this.keysOfTenant = db.prepare('SELECT * FROM api_keys WHERE tenant = ? ORDER BY created_at, id');
    this.keyDelete = db.prepare('DELETE FROM api_keys WHERE tenant = ? AND id = ?');
    this.secretExists = db.prepare<[string, string], number>('SELECT 1 FROM secrets WHERE tenant = ? AND name = ?').pluck();
    this.secretInsert = db.prepare(
      'INSERT INTO secrets (tenant, name, ciphertext, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.secretUpdate = db.prepare('UPDATE secrets SET ciphertext = ?, updated_at = ? WHERE tenant = ? AND name = ?');
    this.secretValues = db.prepare<[string], [string, string]>('SELECT name, ciphertext FROM secrets WHERE tenant = ?').raw();
    this.secretMetas = db.prepare('SELECT name, created_at, updated_at FROM secrets WHERE tenant = ? ORDER BY name');
    this.secretDelete = db.prepare('DELETE FROM secrets WHERE tenant = ? AND name = ?');

    // A key or a secret for a tenant not seen before creates the tenant, in the same commit.
    this.createKeyTx = db.transaction((key: ApiKey) => {
      this.tenantEnsure.run(key.tenant, key.created_at);
      this.keyInsert.run(key.id, key.tenant, key.name, key.role, key.token_hash, key.created_at);
    });
    this.putSecretTx = db.transaction((tenant: string, name: string, ciphertext: string, now: number) => {
      if (this.secretExists.get(tenant, name) === 1) {
        this.secretUpdate.run(ciphertext, now, tenant, name);
        return 'updated' as const;
      }
      this.tenantEnsure.run(tenant, now);
      this.secretInsert.run(tenant, name, ciphertext, now, now);
      return 'created' as const;
    });
  }

  getSetting(name: string): string | null {
    return this.settingGet.get(name) ?? null;
  }

  putSetting(name: string, value: string): void {
    this.settingPut.run(name, value);
  }

  ensureTenant(id: string, now: number): Tenant {
    this.tenantEnsure.run(id, now);
    const tenant = this.tenantGet.get(id);
    if (tenant === undefined) throw new Error(`tenant ${id} could not be created`);
    return { id: tenant.id, created_at: tenant.created_at };
  }

  getTenant(id: string): Tenant | null {
    const tenant = this.tenantGet.get(id);
    return tenant === undefined ? null : { id: tenant.id, created_at: tenant.created_at };
  }

  createKey(key: ApiKey): void {
    this.createKeyTx.immediate(key);
  }

  findKeyByHash(tokenHash: string): ApiKey | null {
    const row = this.keyByHash.get(tokenHash);
    return row === undefined ? null : rowToKey(row);
  }

  listKeys(tenant: string): ApiKey[] {
    return this.keysOfTenant.all(tenant).map(rowToKey);
  }

  deleteKey(tenant: string, id: string): boolean {
    return this.keyDelete.run(tenant, id).changes === 1;
  }

  putSecret(tenant: string, name: string, ciphertext: string, now: number): 'created' | 'updated' {
    return this.putSecretTx.immediate(tenant, name, ciphertext, now);
  }

  getSecretCiphertexts(tenant: string): Map<string, string> {
    return new Map(this.secretValues.all(tenant));
  }

  listSecrets(tenant: string): SecretMeta[] {
    return this.secretMetas.all(tenant).map((s) => ({ name: s.name, created_at: s.created_at, updated_at: s.updated_at }));
  }

  deleteSecret(tenant: string, name: string): boolean {
    return this.secretDelete.run(tenant, name).changes === 1;
  }
}
