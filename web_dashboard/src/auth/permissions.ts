import type { ServerLimits } from '../api/client';

/**
 * Roles and what they may do, as the login issue defines them: admin does everything, manages
 * operators, edits the verification mail's template and handles customers' personal data (erasure and
 * access requests, UU PDP); operator sees orders and sends or resends verification, but cannot delete.
 */
export type Role = 'admin' | 'operator';

export type Permission =
  | 'orders.read'
  | 'verification.send'
  | 'orders.delete'
  | 'operators.manage'
  | 'mailTemplate.manage'
  | 'privacy.manage';

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: [
    'orders.read',
    'verification.send',
    'orders.delete',
    'operators.manage',
    'mailTemplate.manage',
    'privacy.manage',
  ],
  operator: ['orders.read', 'verification.send'],
};

/** The signed-in operator, as `POST /dashboard/auth/login` and `GET /dashboard/auth/me` answer. */
export interface SessionUser {
  id: string | number;
  username: string;
  display_name: string | null;
  role: Role;
}

/**
 * - `loading`: asking the API who is signed in (`GET /dashboard/auth/me`).
 * - `anonymous`: nobody is signed in: the login page shows.
 * - `authenticated`: `user` is signed in; `csrfToken` goes on every write.
 */
export type AuthStatus = 'loading' | 'anonymous' | 'authenticated';

export interface AuthState {
  status: AuthStatus;
  user: SessionUser | null;
  csrfToken: string | null;
  /** Anonymous because a session ended (a 401 mid-session), not because nobody signed in yet. */
  expired?: boolean;
  /** The server's verification settings (absent: the defaults). */
  limits?: ServerLimits | undefined;
}

export const ANONYMOUS: AuthState = { status: 'anonymous', user: null, csrfToken: null };

export function allows(state: AuthState, permission: Permission): boolean {
  if (state.status !== 'authenticated' || !state.user) return false;
  return ROLE_PERMISSIONS[state.user.role].includes(permission);
}
