/**
 * The signed-in session: the bearer token and, for the admin token, the tenant it acts on. Kept in
 * sessionStorage (gone when the tab closes), read by the API client for every request.
 */
const TOKEN = 'flowgate.token';
const TENANT = 'flowgate.tenant';

export interface Session {
  token: string;
  /** The tenant the admin token acts on (sent as Flowgate-Tenant); null for a tenant key. */
  tenant: string | null;
}

type Listener = () => void;
const listeners = new Set<Listener>();

function storage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}

export function readSession(): Session | null {
  const s = storage();
  const token = s?.getItem(TOKEN);
  if (!token) return null;
  return { token, tenant: s?.getItem(TENANT) || null };
}

export function saveSession(session: Session): void {
  const s = storage();
  s?.setItem(TOKEN, session.token);
  if (session.tenant) s?.setItem(TENANT, session.tenant);
  else s?.removeItem(TENANT);
  for (const l of listeners) l();
}

export function clearSession(): void {
  const s = storage();
  s?.removeItem(TOKEN);
  s?.removeItem(TENANT);
  for (const l of listeners) l();
}

export function onSessionChange(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The headers that name the caller: Authorization and, for an admin session, Flowgate-Tenant. */
export function authHeaders(session: Session | null = readSession()): Record<string, string> {
  if (!session) return {};
  const h: Record<string, string> = { Authorization: `Bearer ${session.token}` };
  if (session.tenant) h['Flowgate-Tenant'] = session.tenant;
  return h;
}
