import { useMemo, type ReactNode } from 'react';

import { useAuth } from '../auth/context';
import { createApiClient, type ApiClient } from './client';
import { ApiContext } from './context';

/**
 * Provides the API client. Writes carry the session's CSRF token; a new token (a login) makes a
 * new client, so everything that loads through it reloads. A 401 ends the session (login page).
 */
export function ApiProvider({
  children,
  client,
  fetch,
}: {
  children: ReactNode;
  client?: ApiClient;
  fetch?: typeof globalThis.fetch;
}) {
  const { csrfToken, sessionExpired } = useAuth();
  const api = useMemo(
    () =>
      client ??
      createApiClient({
        ...(fetch ? { fetch } : {}),
        getCsrfToken: () => csrfToken,
        onUnauthorized: sessionExpired,
      }),
    [client, fetch, csrfToken, sessionExpired],
  );
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}
