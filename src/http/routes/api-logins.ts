/**
 * Corezoid-style API logins (docs/spec.md §4, §5.1, §8.19): a global numeric login and a secret that signs
 * requests to the ops API and the Sync API. The secret is shown once; it is stored sealed with the
 * server's master key because checking a signature needs it in clear.
 */
import { randomInt } from 'node:crypto';
import { FlowgateError, notFound, validationFailed, type FieldProblem } from '../../core/errors.js';
import type { ApiLogin } from '../../store/types.js';
import { loginDirectory } from '../compat/corezoid-sign.js';
import type { Ctx, RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { sendJson } from '../problem.js';
import { jsonObjectBody } from '../request.js';

const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 40 characters of 62: about 238 bits. Letters and digits only, so it pastes into any client config. */
const SECRET_LENGTH = 40;

export function newLoginSecret(): string {
  let s = '';
  for (let i = 0; i < SECRET_LENGTH; i++) s += SECRET_ALPHABET[randomInt(SECRET_ALPHABET.length)];
  return s;
}

/** A brought secret: whatever the client signs with, within reason. */
const BROUGHT_SECRET_RE = /^[\x21-\x7e]{16,256}$/;

const loginView = (l: ApiLogin): Record<string, unknown> => ({
  login: l.login, name: l.name, tenant: l.tenant, created_at: new Date(l.created_at).toISOString(),
});

export function apiLoginRoutes(d: RouteDeps): RouteDef[] {
  const directory = loginDirectory(d.store, d.secretBox, d.log, d.engine.caches);

  const create = async (ctx: Ctx): Promise<void> => {
    const body = await jsonObjectBody(ctx);
    const { name, login: wanted, secret: given } = body;
    const problems: FieldProblem[] = [];
    if (name !== undefined && name !== null && (typeof name !== 'string' || name.length > 128)) {
      problems.push({ path: 'name', message: 'must be a string of at most 128 characters' });
    }
    // A client moving over brings the login number and secret it already signs with.
    if (wanted !== undefined && (typeof wanted !== 'number' || !Number.isSafeInteger(wanted) || wanted < 1)) {
      problems.push({ path: 'login', message: 'must be a positive integer (the API login your client already uses)' });
    }
    if (given !== undefined && (typeof given !== 'string' || !BROUGHT_SECRET_RE.test(given))) {
      problems.push({ path: 'secret', message: 'must be 16 to 256 printable ASCII characters without spaces' });
    }
    if (problems.length) throw validationFailed(problems, 'Invalid API login request');
    const secret = typeof given === 'string' ? given : newLoginSecret();
    const tenant = ctx.principal.tenant;
    const login = await d.store.createApiLogin({
      tenant, name: typeof name === 'string' && name.trim() !== '' ? name.trim() : null,
      secret_ciphertext: d.secretBox.seal(secret), created_at: d.clock(), ...(typeof wanted === 'number' ? { login: wanted } : {}),
    });
    if (!login) {
      // Login numbers are global; who holds one is said only to an admin of the holder's tenant.
      const holder = await d.store.findApiLogin(wanted as number);
      throw new FlowgateError('conflict', holder?.tenant === tenant
        ? `API login ${wanted} already exists in this tenant${holder.name ? ` (${holder.name})` : ''}`
        : `API login ${wanted} is taken`);
    }
    directory.forget(login.login);
    sendJson(ctx.res, 201, { ...loginView(login), secret }, { Location: `${ctx.base}/v1/api-logins/${login.login}` });
  };

  const list = async (ctx: Ctx): Promise<void> => {
    const items = await d.store.listApiLogins(ctx.principal.tenant);
    sendJson(ctx.res, 200, { items: items.map(loginView), next_cursor: null });
  };

  const remove = async (ctx: Ctx): Promise<void> => {
    const raw = ctx.params.login!;
    const login = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(login) || !(await d.store.deleteApiLogin(ctx.principal.tenant, login))) throw notFound(`API login ${raw}`);
    directory.forget(login);
    ctx.res.writeHead(204).end();
  };

  return [
    { method: 'POST', path: '/v1/api-logins', auth: 'admin', name: 'api-logins.create', handler: create },
    { method: 'GET', path: '/v1/api-logins', auth: 'admin', name: 'api-logins.list', handler: list },
    { method: 'DELETE', path: '/v1/api-logins/:login', auth: 'admin', name: 'api-logins.delete', handler: remove },
  ];
}
