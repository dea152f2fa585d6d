import { useMemo, type ReactNode } from 'react';

import { useAuth } from '../auth/context';
import { createApiClient, type ApiClient } from './client';
import { ApiContext } from './context';

/**
 * Provides the API client. Writes carry the session's CSRF token once there is one; a new
 * token (a login) makes a new client, so everything that loads through it reloads.
 */
export function ApiProvider({ children, client }: { children: ReactNode; client?: ApiClient }) {
  const { csrfToken, sessionExpired } = useAuth();
  const api = useMemo(
    () => client ?? createApiClient({ getCsrfToken: () => csrfToken, onUnauthorized: sessionExpired }),
    [client, csrfToken, sessionExpired],
  );
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}
