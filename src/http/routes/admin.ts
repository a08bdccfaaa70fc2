/** Tenant administration: API keys (stored hashed, token shown once) and write-only secrets. */
import { FlowgateError, notFound, validationFailed, type FieldProblem } from '../../core/errors.js';
import type { ApiKey, Role } from '../../core/types.js';
import { issueKey, TENANT_RE } from '../auth.js';
import type { Ctx, RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { sendJson } from '../problem.js';
import { jsonObjectBody } from '../request.js';

const ROLES = new Set<Role>(['admin', 'trigger', 'read']);
const SECRET_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_SECRET_BYTES = 64 * 1024;
const iso = (t: number): string => new Date(t).toISOString();

const keyView = (k: ApiKey): Record<string, unknown> => ({ id: k.id, name: k.name, role: k.role, tenant: k.tenant, created_at: iso(k.created_at) });

export function adminRoutes(d: RouteDeps): RouteDef[] {
  const createKey = async (ctx: Ctx): Promise<void> => {
    const body = await jsonObjectBody(ctx);
    const problems: FieldProblem[] = [];
    const name = body.name;
    if (typeof name !== 'string' || name.trim() === '' || name.length > 128) problems.push({ path: 'name', message: 'must be a non-empty string of at most 128 characters' });
    if (!ROLES.has(body.role as Role)) problems.push({ path: 'role', message: 'must be one of admin, trigger, read' });
    const tenant = body.tenant === undefined ? ctx.principal.tenant : body.tenant;
    if (typeof tenant !== 'string' || !TENANT_RE.test(tenant)) problems.push({ path: 'tenant', message: 'must match [a-z0-9][a-z0-9_-]{0,63}' });
    if (problems.length) throw validationFailed(problems, 'Invalid key request');
    // A tenant's own admin key manages its tenant only; the admin token may create any tenant.
    if (ctx.principal.kind !== 'admin' && tenant !== ctx.principal.tenant) throw new FlowgateError('forbidden', 'a tenant key can only create keys for its own tenant');
    await d.store.ensureTenant(tenant as string);
    const { key, token } = issueKey(tenant as string, (name as string).trim(), body.role as Role, d.clock());
    await d.store.createKey(key);
    sendJson(ctx.res, 201, { ...keyView(key), token }, { Location: `${ctx.base}/v1/keys/${key.id}` });
  };

  const listKeys = async (ctx: Ctx): Promise<void> => {
    const keys = await d.store.listKeys(ctx.principal.tenant);
    sendJson(ctx.res, 200, { items: keys.map(keyView), next_cursor: null });
  };

  const deleteKey = async (ctx: Ctx): Promise<void> => {
    if (!(await d.store.deleteKey(ctx.principal.tenant, ctx.params.id!))) throw notFound('key');
    d.auth.forget();
    ctx.res.writeHead(204).end();
  };

  const secretName = (ctx: Ctx): string => {
    const name = ctx.params.name!;
    if (!SECRET_NAME_RE.test(name)) throw validationFailed([{ path: 'name', message: 'must match [A-Za-z_][A-Za-z0-9_]{0,63}' }], 'Invalid secret name');
    return name;
  };

  const putSecret = async (ctx: Ctx): Promise<void> => {
    const name = secretName(ctx);
    const body = await jsonObjectBody(ctx);
    if (typeof body.value !== 'string' || body.value === '' || Buffer.byteLength(body.value) > MAX_SECRET_BYTES) {
      throw validationFailed([{ path: 'value', message: `must be a non-empty string of at most ${MAX_SECRET_BYTES} bytes` }], 'Invalid secret');
    }
    const tenant = ctx.principal.tenant;
    await d.store.ensureTenant(tenant);
    const outcome = await d.store.putSecret(tenant, name, d.secretBox.seal(body.value));
    d.onSecretsChanged(tenant);
    sendJson(ctx.res, outcome === 'created' ? 201 : 200, { name, created: outcome === 'created' });
  };

  const listSecrets = async (ctx: Ctx): Promise<void> => {
    const items = await d.store.listSecrets(ctx.principal.tenant);
    sendJson(ctx.res, 200, { items: items.map((s) => ({ name: s.name, created_at: iso(s.created_at), updated_at: iso(s.updated_at) })), next_cursor: null });
  };

  const deleteSecret = async (ctx: Ctx): Promise<void> => {
    if (!(await d.store.deleteSecret(ctx.principal.tenant, secretName(ctx)))) throw notFound('secret');
    d.onSecretsChanged(ctx.principal.tenant);
    ctx.res.writeHead(204).end();
  };

  /** The admin token creates tenants explicitly (a tenant is also created by its first key or workflow). */
  const createTenant = async (ctx: Ctx): Promise<void> => {
    if (ctx.principal.kind !== 'admin') throw new FlowgateError('forbidden', 'only the admin token creates tenants');
    const body = await jsonObjectBody(ctx);
    const id = body.id;
    if (typeof id !== 'string' || !TENANT_RE.test(id)) {
      throw validationFailed([{ path: 'id', message: 'must match [a-z0-9][a-z0-9_-]{0,63} (an MPO company_id such as i123456789 fits)' }], 'Invalid tenant');
    }
    if (await d.store.getTenant(id)) throw new FlowgateError('conflict', `tenant ${id} already exists`);
    const tenant = await d.store.ensureTenant(id);
    sendJson(ctx.res, 201, { id: tenant.id, created_at: iso(tenant.created_at) }, { Location: `${ctx.base}/v1/tenants/${tenant.id}` });
  };

  return [
    { method: 'POST', path: '/v1/tenants', auth: 'admin', name: 'tenants.create', handler: createTenant },
    { method: 'POST', path: '/v1/keys', auth: 'admin', name: 'keys.create', handler: createKey },
    { method: 'GET', path: '/v1/keys', auth: 'admin', name: 'keys.list', handler: listKeys },
    { method: 'DELETE', path: '/v1/keys/:id', auth: 'admin', name: 'keys.delete', handler: deleteKey },
    { method: 'PUT', path: '/v1/secrets/:name', auth: 'admin', name: 'secrets.put', handler: putSecret },
    { method: 'GET', path: '/v1/secrets', auth: 'admin', name: 'secrets.list', handler: listSecrets },
    { method: 'DELETE', path: '/v1/secrets/:name', auth: 'admin', name: 'secrets.delete', handler: deleteSecret },
  ];
}
