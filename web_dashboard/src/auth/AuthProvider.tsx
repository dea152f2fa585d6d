/**
 * The session, as far as the API has one. Today dashboard-api has no login, so the state is
 * `disabled` and every action is allowed (the API records the actor `dashboard`).
 *
 * When `POST /dashboard/auth/login`, `/logout` and `GET /dashboard/auth/me` land, this provider
 * asks `/auth/me` on mount (status `loading`), keeps the user, role and CSRF token it answers
 * (`authenticated`) or shows the login page (`anonymous`, see App.tsx); `sessionExpired` (a 401
 * from any call) goes back to `anonymous`. Components only use `useAuth().can(...)`.
 */
import { useCallback, useMemo, useState, type ReactNode } from 'react';

import { AuthContext, type AuthValue } from './context';
import { allows, type AuthState, type Permission } from './permissions';

const NO_LOGIN_YET: AuthState = { status: 'disabled', user: null, csrfToken: null };

export function AuthProvider({ children, initial }: { children: ReactNode; initial?: AuthState }) {
  const [state, setState] = useState<AuthState>(initial ?? NO_LOGIN_YET);

  const sessionExpired = useCallback(() => {
    setState((s) => (s.status === 'authenticated' ? { status: 'anonymous', user: null, csrfToken: null } : s));
  }, []);

  const value = useMemo<AuthValue>(
    () => ({ ...state, can: (p: Permission) => allows(state, p), sessionExpired }),
    [state, sessionExpired],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
