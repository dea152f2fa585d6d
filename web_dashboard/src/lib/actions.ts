/** When an order's actions are allowed, and if not, why (as a message key). */
import type { ServerLimits } from '../api/client';
import type { Order } from '../api/types';
import type { MessageKey } from '../i18n/messages';

/** dashboard-api's default `RESEND_COOLDOWN`, for a session that did not say. */
export const DEFAULT_RESEND_COOLDOWN_MS = 60_000;

/** The resend cool-down the server enforces, from the session's limits. */
export function resendCooldownMs(limits: ServerLimits | undefined): number {
  const seconds = limits?.resend_cooldown_seconds;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0
    ? seconds * 1000
    : DEFAULT_RESEND_COOLDOWN_MS;
}

export interface Availability {
  allowed: boolean;
  reason: MessageKey | null;
}

export function sendAvailability(
  order: Order,
  opts: { canSend: boolean; busy: boolean },
): Availability {
  if (!opts.canSend) return { allowed: false, reason: 'reason.noPermission' };
  if (order.sending || opts.busy) return { allowed: false, reason: 'reason.sending' };
  switch (order.status) {
    case 'Verified':
      return { allowed: false, reason: 'reason.verified' };
    case 'On Verification':
      return { allowed: false, reason: 'reason.onVerification' };
    case 'Expired':
    case 'Deleted':
      return { allowed: false, reason: 'reason.notActive' };
    case 'On Process':
      if (order.data_dihapus) return { allowed: false, reason: 'reason.erased' };
      return order.email ? { allowed: true, reason: null } : { allowed: false, reason: 'reason.noEmail' };
  }
}

/**
 * When the resend cool-down ends, in ms since the epoch (0 when there is none); a 429's
 * `Retry-After` (`override`) can push it later.
 */
export function resendReadyAt(order: Order, override: number | undefined, cooldownMs: number): number {
  const sent = order.last_sent_at ? Date.parse(order.last_sent_at) : NaN;
  const fromSent = Number.isNaN(sent) ? 0 : sent + cooldownMs;
  return Math.max(fromSent, override ?? 0);
}

export interface ResendAvailability extends Availability {
  /** Whether the button shows at all (only orders waiting for their code). */
  visible: boolean;
  /** Whole seconds left of the cool-down (0 when over). */
  remaining: number;
}

export function resendAvailability(
  order: Order,
  opts: { canSend: boolean; busy: boolean; now: number; cooldownMs: number; override?: number | undefined },
): ResendAvailability {
  const visible = order.status === 'On Verification';
  const remaining = Math.max(0, Math.ceil((resendReadyAt(order, opts.override, opts.cooldownMs) - opts.now) / 1000));
  if (!visible) return { visible, remaining: 0, allowed: false, reason: null };
  if (!opts.canSend) return { visible, remaining, allowed: false, reason: 'reason.noPermission' };
  if (order.sending || opts.busy) return { visible, remaining, allowed: false, reason: 'reason.sending' };
  // No address is left to send a new code to.
  if (order.data_dihapus) return { visible, remaining, allowed: false, reason: 'reason.erased' };
  if (remaining > 0) return { visible, remaining, allowed: false, reason: 'reason.cooldown' };
  return { visible, remaining, allowed: true, reason: null };
}
