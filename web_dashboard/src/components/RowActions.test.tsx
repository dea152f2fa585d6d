import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import type { Order } from '../api/types';
import type { AuthState } from '../auth/permissions';
import { ADMIN_SESSION, makeOrder, renderWithProviders } from '../test/helpers';
import { RowActions } from './RowActions';

function renderActions(order: Order, extra: { busy?: boolean; now?: number; auth?: AuthState; override?: number } = {}) {
  const handlers = { onSend: vi.fn(), onResend: vi.fn(), onDelete: vi.fn() };
  renderWithProviders(
    <RowActions
      order={order}
      busy={extra.busy ?? false}
      deleting={false}
      now={extra.now ?? Date.now()}
      cooldownOverride={extra.override}
      handlers={handlers}
    />,
    extra.auth ? { auth: extra.auth } : {},
  );
  return handlers;
}

describe('RowActions', () => {
  it('sends verification for an order on process', async () => {
    const user = userEvent.setup();
    const order = makeOrder({ status: 'On Process' });
    const handlers = renderActions(order);
    const button = screen.getByRole('button', { name: 'Kirim Verifikasi' });
    expect(button).not.toHaveAttribute('aria-disabled');
    await user.click(button);
    expect(handlers.onSend).toHaveBeenCalledWith(order);
  });

  it('is disabled, with the reason, for verified orders', async () => {
    const user = userEvent.setup();
    const reason = 'Order sudah terverifikasi';
    const handlers = renderActions(makeOrder({ status: 'Verified' }));
    const button = screen.getByRole('button', { name: 'Kirim Verifikasi' });
    expect(button).toHaveAttribute('aria-disabled', 'true');
    expect(button).toHaveAttribute('title', reason);
    expect(button).toHaveAccessibleDescription(reason);
    await user.click(button);
    expect(handlers.onSend).not.toHaveBeenCalled();
  });

  it('shows "Mengirim..." while the mail is on its way', async () => {
    const user = userEvent.setup();
    const handlers = renderActions(makeOrder({ status: 'On Process', sending: true }));
    const button = screen.getByRole('button', { name: 'Mengirim...' });
    expect(button).toHaveAttribute('aria-disabled', 'true');
    expect(button).toHaveAccessibleDescription('Email verifikasi sedang dikirim');
    await user.click(button);
    expect(handlers.onSend).not.toHaveBeenCalled();
  });

  it('offers resend for orders on verification, after the cool-down', () => {
    const sentAt = Date.parse('2024-05-01T10:00:00Z');
    const order = makeOrder({ status: 'On Verification', last_sent_at: new Date(sentAt).toISOString(), send_count: 1 });

    renderActions(order, { now: sentAt + 18_000 });
    const cooling = screen.getByRole('button', { name: 'Kirim Ulang (42 d)' });
    expect(cooling).toHaveAttribute('aria-disabled', 'true');
    expect(cooling).toHaveAccessibleDescription('Tunggu 42 detik sebelum mengirim ulang');
    expect(screen.queryByRole('button', { name: 'Kirim Verifikasi' })).not.toBeInTheDocument();
  });

  it('resends once the cool-down is over, and honours a Retry-After override', async () => {
    const user = userEvent.setup();
    const sentAt = Date.parse('2024-05-01T10:00:00Z');
    const order = makeOrder({ status: 'On Verification', last_sent_at: new Date(sentAt).toISOString() });
    const handlers = renderActions(order, { now: sentAt + 61_000 });
    await user.click(screen.getByRole('button', { name: 'Kirim Ulang' }));
    expect(handlers.onResend).toHaveBeenCalledWith(order);
  });

  it('keeps the reason when a 429 said to wait longer', () => {
    const sentAt = Date.parse('2024-05-01T10:00:00Z');
    const order = makeOrder({ status: 'On Verification', last_sent_at: new Date(sentAt).toISOString() });
    renderActions(order, { now: sentAt + 61_000, override: sentAt + 71_000 });
    expect(screen.getByRole('button', { name: 'Kirim Ulang (10 d)' })).toHaveAttribute('aria-disabled', 'true');
  });

  it("counts the cool-down the server announced in the session's limits", () => {
    const sentAt = Date.parse('2024-05-01T10:00:00Z');
    const order = makeOrder({ status: 'On Verification', last_sent_at: new Date(sentAt).toISOString() });
    renderActions(order, {
      now: sentAt + 2_000,
      auth: { ...ADMIN_SESSION, limits: { resend_cooldown_seconds: 5, max_verification_sends: 3 } },
    });
    expect(screen.getByRole('button', { name: 'Kirim Ulang (3 d)' })).toHaveAttribute('aria-disabled', 'true');
  });

  it('lets an admin delete but not an operator', () => {
    const order = makeOrder();
    renderActions(order, { auth: { status: 'authenticated', user: { id: 1, username: 'ani', display_name: 'Ani', role: 'admin' }, csrfToken: 't' } });
    expect(screen.getByRole('button', { name: 'Hapus' })).toBeInTheDocument();
  });

  it('hides delete from operators', () => {
    renderActions(makeOrder(), {
      auth: { status: 'authenticated', user: { id: 2, username: 'dodi', display_name: 'Dodi', role: 'operator' }, csrfToken: 't' },
    });
    expect(screen.queryByRole('button', { name: 'Hapus' })).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Kirim Verifikasi' })).not.toHaveAttribute('aria-disabled');
  });
});
