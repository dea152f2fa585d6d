/**
 * The operator's session. On mount the provider asks `GET /dashboard/auth/me` (`loading`), then
 * keeps the operator and CSRF token it answers (`authenticated`) or shows the login page
 * (`anonymous`, see App.tsx). `login` and `logout` call the API; a 401 from any call
 * (`sessionExpired`, wired into the API client) goes back to `anonymous` with `expired` set.
 * Components only use `useAuth().can(...)`.
 */
import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';

import { createApiClient, isApiError, type SessionInfo } from '../api/client';
import { AuthContext, type AuthValue } from './context';
import { resendCooldownMs } from '../lib/actions';
import { ANONYMOUS, allows, type AuthState, type Permission } from './permissions';

const LOADING: AuthState = { status: 'loading', user: null, csrfToken: null };

function signedIn(info: SessionInfo): AuthState {
  return { status: 'authenticated', user: info.operator, csrfToken: info.csrf_token, limits: info.limits };
}

export function AuthProvider({
  children,
  initial,
  fetch,
}: {
  children: ReactNode;
  /** A known state (tests): skips the `/auth/me` check. */
  initial?: AuthState;
  fetch?: typeof globalThis.fetch;
}) {
  const [state, setState] = useState<AuthState>(initial ?? LOADING);
  const checkSession = initial === undefined;

  useEffect(() => {
    if (!checkSession) return;
    const controller = new AbortController();
    createApiClient(fetch ? { fetch } : {})
      .me(controller.signal)
      .then((info) => setState(signedIn(info)))
      .catch((e: unknown) => {
        if (isApiError(e) && e.kind === 'aborted') return;
        setState(ANONYMOUS);
      });
    return () => controller.abort();
  }, [checkSession, fetch]);

  const sessionExpired = useCallback(() => {
    setState((s) => (s.status === 'authenticated' ? { ...ANONYMOUS, expired: true } : s));
  }, []);

  const login = useCallback(
    async (username: string, password: string) => {
      const info = await createApiClient(fetch ? { fetch } : {}).login(username, password);
      setState(signedIn(info));
    },
    [fetch],
  );

  const { csrfToken } = state;
  const logout = useCallback(async () => {
    try {
      await createApiClient({ ...(fetch ? { fetch } : {}), getCsrfToken: () => csrfToken }).logout();
    } catch {
      // Signed out here either way; the server's session ends with its cookie or expires.
    }
    setState(ANONYMOUS);
  }, [fetch, csrfToken]);

  const value = useMemo<AuthValue>(
    () => ({
      ...state,
      can: (p: Permission) => allows(state, p),
      resendCooldownMs: resendCooldownMs(state.limits),
      login,
      logout,
      sessionExpired,
    }),
    [state, login, logout, sessionExpired],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
