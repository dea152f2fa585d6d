import { describe, expect, it } from 'vitest';

import type { ChangeEvent, Order } from '../api/types';
import type { Translate } from '../i18n/context';
import { MESSAGES, format } from '../i18n/messages';
import { makeOrder } from '../test/helpers';
import { sendOutcome } from './sendOutcome';

const t: Translate = (key, vars) => format(MESSAGES.id[key], vars);

function change(type: string, order: Order): ChangeEvent {
  return { seq: 1, type, order_id: order.id, order };
}

describe('sendOutcome', () => {
  const budi = makeOrder({ nama_customer: 'Budi Santoso', email: 'budi@example.com' });

  it('toasts a sent code and keeps watching for the verification', () => {
    expect(sendOutcome(change('verification.sent', budi), t)).toEqual({
      toast: { tone: 'success', message: 'Kode verifikasi terkirim ke budi@example.com' },
      final: false,
    });
  });

  it('toasts a failure with or without its reason, and stops watching', () => {
    expect(sendOutcome(change('verification.failed', { ...budi, last_error: 'SMTP 550' }), t)).toEqual({
      toast: { tone: 'error', message: 'Pengiriman ke budi@example.com gagal: SMTP 550' },
      final: true,
    });
    expect(sendOutcome(change('verification.failed', budi), t).toast?.message).toBe('Pengiriman ke budi@example.com gagal');
  });

  it('toasts the verification, and ends silently on expiry or deletion', () => {
    expect(sendOutcome(change('order.verified', budi), t)).toEqual({
      toast: { tone: 'success', message: 'Order Budi Santoso terverifikasi' },
      final: true,
    });
    expect(sendOutcome(change('order.expired', budi), t)).toEqual({ toast: null, final: true });
    expect(sendOutcome(change('order.deleted', budi), t)).toEqual({ toast: null, final: true });
    expect(sendOutcome(change('verification.requested', budi), t)).toEqual({ toast: null, final: false });
  });
});
