/**
 * The signed-in caller for the whole app: the stored session and who it is (GET /v1/whoami).
 * `useRole()` tells pages which actions to offer.
 */
import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { whoami, type Role, type Whoami } from './api/index.js';
import { clearSession, onSessionChange, readSession, type Session } from './api/session.js';

interface SessionState {
  session: Session | null;
  me: Whoami | undefined;
  signOut: () => void;
}

const Ctx = createContext<SessionState>({ session: null, me: undefined, signOut: () => undefined });

let snapshot = readSession();
const subscribe = (cb: () => void) => onSessionChange(() => { snapshot = readSession(); cb(); });

export function SessionProvider({ children }: { children: ReactNode }) {
  const session = useSyncExternalStore(subscribe, () => snapshot);
  const qc = useQueryClient();
  const key = session ? `${session.token.slice(-8)}:${session.tenant ?? ''}` : 'none';
  const me = useQuery({ queryKey: ['whoami', key], queryFn: () => whoami(), enabled: !!session, staleTime: 60_000 });
  const [signOut] = useState(() => () => {
    clearSession();
    qc.clear();
  });
  useEffect(() => { if (!session) qc.removeQueries(); }, [session, qc]);
  return <Ctx.Provider value={{ session, me: me.data, signOut }}>{children}</Ctx.Provider>;
}

export const useSession = (): SessionState => useContext(Ctx);

const RANK: Record<Role, number> = { read: 1, trigger: 2, admin: 3 };

export interface RoleInfo {
  role: Role | undefined;
  /** True when the caller's role is at least `role` (start runs: trigger; edit workflows: admin). */
  can: (role: Role) => boolean;
}

/** The caller's role: `can('trigger')` before offering Start, `can('admin')` before edit or archive. */
export function useRole(): RoleInfo {
  const { me } = useSession();
  const role = me?.role;
  return { role, can: (r) => (role ? RANK[role] >= RANK[r] : false) };
}
