/** When an order's actions are allowed, and if not, why (as a message key). */
import type { Order } from '../api/types';
import type { MessageKey } from '../i18n/messages';

function envSeconds(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** dashboard-api's `RESEND_COOLDOWN` (default 60 s); a 429's `Retry-After` corrects it per order. */
export const RESEND_COOLDOWN_MS =
  envSeconds(import.meta.env.VITE_RESEND_COOLDOWN_SECONDS, 60) * 1000;

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
      return order.email ? { allowed: true, reason: null } : { allowed: false, reason: 'reason.noEmail' };
  }
}

/** When the resend cool-down ends, in ms since the epoch (0 when there is none). */
export function resendReadyAt(order: Order, override: number | undefined): number {
  const sent = order.last_sent_at ? Date.parse(order.last_sent_at) : NaN;
  const fromSent = Number.isNaN(sent) ? 0 : sent + RESEND_COOLDOWN_MS;
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
  opts: { canSend: boolean; busy: boolean; now: number; override?: number | undefined },
): ResendAvailability {
  const visible = order.status === 'On Verification';
  const remaining = Math.max(0, Math.ceil((resendReadyAt(order, opts.override) - opts.now) / 1000));
  if (!visible) return { visible, remaining: 0, allowed: false, reason: null };
  if (!opts.canSend) return { visible, remaining, allowed: false, reason: 'reason.noPermission' };
  if (order.sending || opts.busy) return { visible, remaining, allowed: false, reason: 'reason.sending' };
  if (remaining > 0) return { visible, remaining, allowed: false, reason: 'reason.cooldown' };
  return { visible, remaining, allowed: true, reason: null };
}
