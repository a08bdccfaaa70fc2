/** Corezoid-style API logins: numeric login, tenant, name and the sealed secret. Off the hot path (callers cache). */
import type Database from 'better-sqlite3';
import type { ApiLogin } from '../types.js';

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

interface LoginRow {
  login: number;
  tenant: string;
  name: string | null;
  secret: string;
  created_at: number;
}

const rowToLogin = (r: LoginRow): ApiLogin => ({
  login: r.login, tenant: r.tenant, name: r.name, secret_ciphertext: r.secret, created_at: r.created_at,
});

export class LoginQueries {
  private readonly byLogin: Stmt<[number], LoginRow>;
  private readonly ofTenant: Stmt<[string], LoginRow>;
  private readonly remove: Stmt<[string, number]>;
  private readonly createTx;

  constructor(db: Database.Database) {
    this.byLogin = db.prepare('SELECT * FROM api_logins WHERE login = ?');
    this.ofTenant = db.prepare('SELECT * FROM api_logins WHERE tenant = ? ORDER BY login');
    this.remove = db.prepare('DELETE FROM api_logins WHERE tenant = ? AND login = ?');
    const ensureTenant = db.prepare<[string, number]>('INSERT INTO tenants (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING');
    const next = db.prepare<[], number>("UPDATE sequences SET next = next + 1 WHERE name = 'api_login' RETURNING next - 1").pluck();
    const taken = db.prepare<[number], number>('SELECT 1 FROM api_logins WHERE login = ?').pluck();
    const insert = db.prepare<[number, string, string | null, string, number]>(
      'INSERT INTO api_logins (login, tenant, name, secret, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.createTx = db.transaction((input: Omit<ApiLogin, 'login'> & { login?: number }): ApiLogin | null => {
      let login = input.login;
      if (login !== undefined && taken.get(login) !== undefined) return null;
      if (login === undefined) {
        // The next number of the sequence that no brought login holds.
        do {
          login = next.get();
          if (login === undefined) throw new Error('the api_login sequence is missing (was migrate() run?)');
        } while (taken.get(login) !== undefined);
      }
      ensureTenant.run(input.tenant, input.created_at);
      insert.run(login, input.tenant, input.name, input.secret_ciphertext, input.created_at);
      return { login, tenant: input.tenant, name: input.name, secret_ciphertext: input.secret_ciphertext, created_at: input.created_at };
    });
  }

  create(input: Omit<ApiLogin, 'login'> & { login?: number }): ApiLogin | null {
    return this.createTx.immediate(input);
  }

  find(login: number): ApiLogin | null {
    if (!Number.isSafeInteger(login)) return null;
    const row = this.byLogin.get(login);
    return row === undefined ? null : rowToLogin(row);
  }

  list(tenant: string): ApiLogin[] {
    return this.ofTenant.all(tenant).map(rowToLogin);
  }

  delete(tenant: string, login: number): boolean {
    if (!Number.isSafeInteger(login)) return false;
    return this.remove.run(tenant, login).changes === 1;
  }
}
