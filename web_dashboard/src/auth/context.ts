import { createContext, useContext } from 'react';

import type { AuthState, Permission } from './permissions';

export interface AuthValue extends AuthState {
  can: (permission: Permission) => boolean;
  /** How long after a mail the server allows a resend (its RESEND_COOLDOWN). */
  resendCooldownMs: number;
  /** Signs in; throws the API's error (401 wrong credentials, 429 with `retryAfter`, ...). */
  login: (username: string, password: string) => Promise<void>;
  /** Ends the session on the server (with the CSRF header) and here. */
  logout: () => Promise<void>;
  /** Called by the API client on a 401: the session ended. */
  sessionExpired: () => void;
}

export const AuthContext = createContext<AuthValue | null>(null);

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth must be used inside <AuthProvider>');
  return value;
}
