import type { ChangeEvent } from '../api/types';
import type { ToastInput } from '../components/toast/context';
import type { Translate } from '../i18n/context';
import { customerLabel } from './privacy';

/**
 * What a live change means to the operator who asked for the order's verification: the toast to
 * show (if any), and whether the outcome is final (the order need not be watched any longer).
 */
export function sendOutcome(change: ChangeEvent, t: Translate): { toast: ToastInput | null; final: boolean } {
  const order = change.order;
  const email = order.email ?? '';
  const name = order.nama_customer ?? (order.data_dihapus ? customerLabel(order, t) : '');
  switch (change.type) {
    case 'verification.sent':
      return { toast: { tone: 'success', message: t('toast.sent', { email }) }, final: false };
    case 'verification.failed':
      return {
        toast: {
          tone: 'error',
          message: order.last_error
            ? t('toast.failed', { email, reason: order.last_error })
            : t('toast.failed.noReason', { email }),
        },
        final: true,
      };
    case 'order.verified':
      return { toast: { tone: 'success', message: t('toast.verified', { name }) }, final: true };
    case 'order.expired':
    case 'order.deleted':
      return { toast: null, final: true };
    default:
      return { toast: null, final: false };
  }
}
