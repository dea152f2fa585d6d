import { useId, type MouseEvent, type ReactNode } from 'react';

import type { Order } from '../api/types';
import { useAuth } from '../auth/context';
import { useI18n } from '../i18n/context';
import { resendAvailability, sendAvailability } from '../lib/actions';
import { customerLabel } from '../lib/privacy';

export interface RowActionHandlers {
  onSend: (order: Order) => void;
  onResend: (order: Order) => void;
  onDelete: (order: Order, trigger: HTMLElement) => void;
}

/**
 * A button that, when not allowed, stays focusable (aria-disabled) so keyboard and screen
 * reader users reach the reason too: it is the tooltip and the button's description.
 */
export function ActionButton({
  variant,
  reason,
  onClick,
  children,
  action,
}: {
  variant: 'primary' | 'danger';
  reason: string | undefined;
  onClick: (event: MouseEvent<HTMLButtonElement>) => void;
  children: ReactNode;
  action: string;
}) {
  const reasonId = useId();
  const blocked = reason !== undefined;
  return (
    <>
      <button
        type="button"
        className={variant === 'primary' ? 'btn-primary' : 'btn-danger'}
        aria-disabled={blocked || undefined}
        aria-describedby={blocked ? reasonId : undefined}
        title={reason}
        data-action={action}
        onClick={(event) => {
          if (!blocked) onClick(event);
        }}
      >
        {children}
      </button>
      {blocked ? (
        <span id={reasonId} className="sr-only">
          {reason}
        </span>
      ) : null}
    </>
  );
}

export function RowActions({
  order,
  busy,
  deleting,
  now,
  cooldownOverride,
  handlers,
}: {
  order: Order;
  busy: boolean;
  deleting: boolean;
  now: number;
  cooldownOverride: number | undefined;
  handlers: RowActionHandlers;
}) {
  const { t } = useI18n();
  const { can, resendCooldownMs } = useAuth();
  const canSend = can('verification.send');
  const canDelete = can('orders.delete');
  const name = customerLabel(order, t);
  const sending = order.sending || busy;

  let primary: ReactNode;
  if (order.status === 'On Verification') {
    const resend = resendAvailability(order, {
      canSend,
      busy,
      now,
      cooldownMs: resendCooldownMs,
      override: cooldownOverride,
    });
    let label = t('action.resend');
    if (sending) label = t('action.sending');
    else if (resend.remaining > 0) label = t('action.resendIn', { seconds: resend.remaining });
    primary = (
      <ActionButton
        variant="primary"
        action="resend"
        reason={resend.reason ? t(resend.reason, { seconds: resend.remaining }) : undefined}
        onClick={() => handlers.onResend(order)}
      >
        {sending ? <Spinner /> : null}
        <span className="tabular-nums">{label}</span>
      </ActionButton>
    );
  } else {
    const send = sendAvailability(order, { canSend, busy });
    primary = (
      <ActionButton
        variant="primary"
        action="send"
        reason={send.reason ? t(send.reason) : undefined}
        onClick={() => handlers.onSend(order)}
      >
        {sending ? <Spinner /> : null}
        <span>{sending ? t('action.sending') : t('action.send')}</span>
      </ActionButton>
    );
  }

  return (
    <div role="group" aria-label={t('action.rowLabel', { name })} className="flex flex-nowrap items-center gap-1.5">
      {primary}
      {canDelete ? (
        <ActionButton
          variant="danger"
          action="delete"
          reason={deleting ? t('action.deleting') : undefined}
          onClick={(event) => handlers.onDelete(order, event.currentTarget)}
        >
          {deleting ? t('action.deleting') : t('action.delete')}
        </ActionButton>
      ) : null}
    </div>
  );
}

export function Spinner() {
  return (
    <svg aria-hidden="true" viewBox="0 0 24 24" className="h-3.5 w-3.5 animate-spin" fill="none">
      <circle cx="12" cy="12" r="9" stroke="currentColor" strokeOpacity="0.3" strokeWidth="3" />
      <path d="M21 12a9 9 0 0 0-9-9" stroke="currentColor" strokeWidth="3" strokeLinecap="round" />
    </svg>
  );
}
