/**
 * Corezoid-style API logins on PostgreSQL. New numbers come from a SEQUENCE; numbers handed out
 * skip the ones brought (a brought login ahead of the sequence is passed over when it comes up).
 */
import type { ApiLogin } from '../types.js';
import type { Db } from './connection.js';

interface LoginRow extends Record<string, unknown> {
  login: number;
  tenant: string;
  name: string | null;
  secret: string;
  created_at: number;
}

const rowToLogin = (r: LoginRow): ApiLogin => ({
  login: r.login, tenant: r.tenant, name: r.name, secret_ciphertext: r.secret, created_at: r.created_at,
});

const UNIQUE_VIOLATION = '23505';

export class LoginQueries {
  constructor(private readonly db: Db) {}

  async create(input: Omit<ApiLogin, 'login'> & { login?: number }): Promise<ApiLogin | null> {
    const brought = input.login;
    if (brought !== undefined && !Number.isSafeInteger(brought)) return null;
    for (;;) {
      try {
        return await this.db.transaction(async (tx) => {
          let login = brought;
          if (login === undefined) {
            for (;;) {
              const [row] = await tx.query<{ id: number; held: boolean }>(
                "SELECT s.id, EXISTS (SELECT 1 FROM api_logins WHERE login = s.id) AS held FROM (SELECT nextval('api_login_seq') AS id) s",
              );
              if (!row.held) {
                login = row.id;
                break;
              }
            }
          }
          await tx.query('INSERT INTO tenants (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [input.tenant, input.created_at]);
          const inserted = await tx.query(
            'INSERT INTO api_logins (login, tenant, name, secret, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (login) DO NOTHING RETURNING login',
            [login, input.tenant, input.name, input.secret_ciphertext, input.created_at],
          );
          if (inserted.length === 0) {
            if (brought !== undefined) return null;
            // A number brought by another node at this moment: take the next one.
            throw Object.assign(new Error('login taken meanwhile'), { code: UNIQUE_VIOLATION });
          }
          return { login: login!, tenant: input.tenant, name: input.name, secret_ciphertext: input.secret_ciphertext, created_at: input.created_at };
        });
      } catch (e) {
        if ((e as { code?: string }).code !== UNIQUE_VIOLATION || brought !== undefined) throw e;
      }
    }
  }

  async find(login: number): Promise<ApiLogin | null> {
    if (!Number.isSafeInteger(login)) return null;
    const [row] = await this.db.query<LoginRow>('SELECT * FROM api_logins WHERE login = $1', [login]);
    return row === undefined ? null : rowToLogin(row);
  }

  async list(tenant: string): Promise<ApiLogin[]> {
    return (await this.db.query<LoginRow>('SELECT * FROM api_logins WHERE tenant = $1 ORDER BY login', [tenant])).map(rowToLogin);
  }

  async delete(tenant: string, login: number): Promise<boolean> {
    if (!Number.isSafeInteger(login)) return false;
    return (await this.db.query('DELETE FROM api_logins WHERE tenant = $1 AND login = $2 RETURNING login', [tenant, login])).length === 1;
  }
}
