// Who is signed in, for every page: the user and what their role allows.
import { createContext, useContext } from 'react';
import type { Principal, Role } from './types.ts';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export interface Session {
  user: Principal;
  can: (role: Role) => boolean;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}

export const sessionFor = (user: Principal, signOut: () => void): Session => ({ user, signOut, can: (role) => RANK[user.role] >= RANK[role] });
