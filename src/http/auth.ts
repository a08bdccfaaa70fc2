/**
 * Who is calling: the admin token (acts on the tenant named by `Flowgate-Tenant`, else `default`),
 * or a tenant key with a role. Tokens are compared by their SHA-256 digest; keys are stored hashed.
 * A launch-in-context key (`Authorization: Launch <key>`) is no caller here: it reads one run through
 * the launch routes only (src/http/compat/launch-routes.ts), and every other route refuses it (403).
 */
import { FlowgateError } from '../core/errors.js';
import { randomToken, safeEqual, sha256Hex, uuidv7 } from '../core/ids.js';
import type { ApiKey, Role } from '../core/types.js';
import type { Store } from '../store/types.js';
import type { Caches, TtlCache } from '../engine/caches.js';

export interface Principal {
  kind: 'admin' | 'key';
  role: Role;
  tenant: string;
  key_id?: string;
}

const RANK: Record<Role, number> = { read: 1, trigger: 2, admin: 3 };
export const TENANT_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const ADMIN_DEFAULT: Principal = Object.freeze({ kind: 'admin', role: 'admin', tenant: 'default' });

/** The key of an `Authorization: Launch <key>` header (a launch-in-context key), else null. */
export function launchKeyOf(authorization: string | undefined): string | null {
  const m = authorization ? /^Launch\s+(\S+)\s*$/i.exec(authorization) : null;
  return m ? m[1] : null;
}

/** The refusal of a launch-in-context key anywhere but the launch routes. */
export const launchKeyRefused = (): FlowgateError =>
  new FlowgateError('forbidden', 'a launch-in-context key reads only its own run, through GET /launch/api/run and /launch/api/run/events; it is not an API token');

function bearer(authorization: string | undefined): string {
  const m = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  if (!m) {
    if (launchKeyOf(authorization) !== null) throw launchKeyRefused();
    throw unauthorized('an Authorization: Bearer <token> header is required');
  }
  return m[1];
}

/** A new API key and its token (shown once; the store keeps only its hash). */
export function issueKey(tenant: string, name: string, role: Role, now: number): { key: ApiKey; token: string } {
  const token = `fg_${randomToken(32)}`;
  return { key: { id: uuidv7(), tenant, name, role, token_hash: sha256Hex(token), created_at: now }, token };
}

const unauthorized = (detail: string): FlowgateError =>
  new FlowgateError('unauthorized', detail, { headers: { 'WWW-Authenticate': 'Bearer realm="flowgate"' } });

export class Authenticator {
  private readonly adminHash: string;
  /** Key lookups by token hash (the `keys` cache, src/engine/caches.ts; a deleted key is forgotten on every node). */
  private readonly cache: TtlCache<Principal | null>;

  /** Digest of FLOWGATE_METRICS_TOKEN, or null when none is set (then only the admin token scrapes). */
  private readonly metricsHash: string | null;

  constructor(private readonly store: Store, adminToken: string, private readonly caches: Caches, metricsToken: string | null = null) {
    this.adminHash = sha256Hex(adminToken);
    this.metricsHash = metricsToken ? sha256Hex(metricsToken) : null;
    this.cache = caches.cache('keys');
  }

  /**
   * Whether the request may read `/metrics`, which names every tenant's workflows: the server's admin
   * token or FLOWGATE_METRICS_TOKEN (never a tenant's key). Throws 401 without a bearer token.
   */
  mayScrape(authorization: string | undefined): boolean {
    const hash = this.digest(bearer(authorization));
    return safeEqual(hash, this.adminHash) || (this.metricsHash !== null && safeEqual(hash, this.metricsHash));
  }

  /** Resolves the bearer token of a request; throws 401 when missing or unknown. */
  async authenticate(authorization: string | undefined, tenantHeader: string | undefined): Promise<Principal> {
    return this.principalFor(bearer(authorization), tenantHeader);
  }

  /**
   * The principal without a promise when the answer is known at once (the admin token for the
   * default tenant, a key looked up moments ago); undefined means: call `authenticate`. Throws 401
   * for a missing or malformed header, as `authenticate` rejects.
   */
  knownPrincipal(authorization: string | undefined, tenantHeader: string | undefined): Principal | undefined {
    const hash = this.digest(bearer(authorization));
    if (safeEqual(hash, this.adminHash)) {
      const tenant = tenantHeader?.trim() || 'default';
      return tenant === 'default' ? ADMIN_DEFAULT : undefined;
    }
    return this.cache.get(hash) ?? undefined;
  }

  /** Digests of recently seen tokens: a client sends the same token on every request. */
  private readonly digests = new Map<string, string>();

  private digest(token: string): string {
    let hash = this.digests.get(token);
    if (hash === undefined) {
      hash = sha256Hex(token);
      if (this.digests.size >= 1000) this.digests.clear();
      this.digests.set(token, hash);
    }
    return hash;
  }

  async principalFor(token: string, tenantHeader: string | undefined): Promise<Principal> {
    const hash = this.digest(token);
    if (safeEqual(hash, this.adminHash)) {
      const tenant = tenantHeader?.trim() || 'default';
      if (!TENANT_RE.test(tenant)) throw new FlowgateError('bad_request', 'Flowgate-Tenant is not a valid tenant id');
      if (tenant !== 'default' && !(await this.store.getTenant(tenant))) throw new FlowgateError('not_found', `tenant ${tenant} not found: create it with POST /v1/tenants {"id": "${tenant}"} (admin token)`);
      return { kind: 'admin', role: 'admin', tenant };
    }
    const principal = this.cache.get(hash) ?? await this.cache.load(hash, async () => {
      const key = await this.store.findKeyByHash(hash);
      return key ? { kind: 'key', role: key.role, tenant: key.tenant, key_id: key.id } : null;
    });
    if (!principal) throw unauthorized('the token is not valid');
    return principal;
  }

  /** Forgets cached key lookups on every node (after a key is deleted). */
  forget(): void {
    this.caches.changed('keys', '');
  }
}

export function requireRole(p: Principal, role: Role): void {
  if (RANK[p.role] < RANK[role]) throw new FlowgateError('forbidden', `this needs the ${role} role; the token has ${p.role}`);
}
