/**
 * Roles and what they may do, as the login issue defines them: admin does everything and
 * manages operators; operator sees orders and sends or resends verification, but cannot delete.
 */
export type Role = 'admin' | 'operator';

export type Permission = 'orders.read' | 'verification.send' | 'orders.delete' | 'operators.manage';

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: ['orders.read', 'verification.send', 'orders.delete', 'operators.manage'],
  operator: ['orders.read', 'verification.send'],
};

export interface SessionUser {
  username: string;
  role: Role;
}

/**
 * - `disabled`: the API has no login yet (today): everything is allowed, as the API allows it.
 * - `loading`: asking the API who is signed in (`GET /dashboard/auth/me`).
 * - `anonymous`: nobody is signed in: the login page shows.
 * - `authenticated`: `user` is signed in; `csrfToken` goes on every write.
 */
export type AuthStatus = 'disabled' | 'loading' | 'anonymous' | 'authenticated';

export interface AuthState {
  status: AuthStatus;
  user: SessionUser | null;
  csrfToken: string | null;
}

export function allows(state: AuthState, permission: Permission): boolean {
  if (state.status === 'disabled') return true;
  if (state.status !== 'authenticated' || !state.user) return false;
  return ROLE_PERMISSIONS[state.user.role].includes(permission);
}
