import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { createApiClient } from '../api/client';
import type { Order, OrderDetail } from '../api/types';
import type { AuthState } from '../auth/permissions';
import { ADMIN_SESSION, fakeFetch, jsonResponse, makeOrder, renderWithProviders, urlOf } from '../test/helpers';
import { OrderDrawer } from './OrderDrawer';

const ORDER_ID = '0190a0c2-7d1e-7c3a-9f00-3b2a1c0d9e8f';

const OPERATOR_SESSION: AuthState = {
  status: 'authenticated',
  user: { id: 2, username: 'dodi', display_name: 'Dodi', role: 'operator' },
  csrfToken: 'csrf-operator',
};

function erasedOrder(overrides: Partial<Order> = {}): Order {
  return makeOrder({
    id: ORDER_ID,
    nama_customer: null,
    email: null,
    nama_barang: null,
    id_percakapan: null,
    data_dihapus: true,
    status: 'Verified',
    wilayah: 'Bali',
    ...overrides,
  });
}

function detailOf(order: Order, history: OrderDetail['history'] = []): OrderDetail {
  return { order, history };
}

function setup(server: { detail: OrderDetail; erase?: () => Response }, auth: AuthState = ADMIN_SESSION) {
  const fetch = fakeFetch((url, init) => {
    const method = init.method ?? 'GET';
    if (url.pathname === `/dashboard/orders/${ORDER_ID}` && method === 'GET') return jsonResponse(server.detail);
    if (url.pathname === '/dashboard/admin/erasures' && method === 'POST') {
      if (server.erase) return server.erase();
      // The projection blanks the order a moment after the answer.
      setTimeout(() => {
        server.detail = detailOf(erasedOrder({ status: server.detail.order.status }));
      }, 200);
      return jsonResponse({ subject: 'ab'.repeat(32), generation: 1, pesanan: 2, handoff: 1 }, { status: 202 });
    }
    return undefined;
  });
  const onErased = vi.fn();
  const onClose = vi.fn();
  const client = createApiClient({ fetch, getCsrfToken: () => auth.csrfToken });
  renderWithProviders(<OrderDrawer orderId={ORDER_ID} version={0} onClose={onClose} onErased={onErased} />, {
    client,
    auth,
  });
  const erasures = () =>
    fetch.mock.calls.filter(([input, init]) => urlOf(input).pathname === '/dashboard/admin/erasures' && init?.method === 'POST');
  return { onErased, onClose, erasures };
}

describe('OrderDrawer and erased data', () => {
  it('shows "data dihapus" for the name, e-mail, item and conversation, and keeps the facts', async () => {
    setup({
      detail: detailOf(erasedOrder({ estimasi_nilai_barang: 7_500_000 }), [
        { seq: 1, type: 'order.created', occurred_at: '2025-01-02T03:04:05Z', actor: 'n8n', data: { wilayah: 'Bali', nama_customer: null } },
        {
          seq: 9,
          type: 'customer.erased',
          occurred_at: '2025-03-04T05:06:07Z',
          actor: 'ani',
          data: { dasar: 'permintaan', alasan: 'PDP-2025-0142' },
        },
      ]),
    });
    const drawer = await screen.findByRole('dialog', { name: 'Detail Pesanan' });
    await within(drawer).findByTestId('drawer-erased');
    const erased = within(drawer).getAllByText('data dihapus');
    // Name, e-mail, item, conversation.
    expect(erased).toHaveLength(4);
    for (const e of erased) expect(e).toHaveAttribute('data-erased', 'true');
    expect(within(drawer).getByText('Barang').nextElementSibling).toHaveTextContent('data dihapus');
    expect(within(drawer).getByText('ID percakapan').nextElementSibling).toHaveTextContent('data dihapus');
    expect(within(drawer).getByText('Wilayah').nextElementSibling).toHaveTextContent('Bali');
    expect(within(drawer).getByText('Nilai Taksiran').nextElementSibling).toHaveTextContent('Rp 7.500.000');
    expect(within(drawer).getByTestId('drawer-erased')).toHaveTextContent(
      'Data pribadi pelanggan ini sudah dihapus (UU PDP).',
    );
    expect(drawer).not.toHaveTextContent('Tidak diketahui');

    // The erasure is in the history, with its reason.
    const entry = drawer.querySelector('[data-event="customer.erased"]')!;
    expect(entry).toHaveTextContent('Data pribadi pelanggan dihapus');
    expect(entry).toHaveTextContent('oleh ani');
    expect(entry).toHaveTextContent('Alasan: PDP-2025-0142');
    // Nothing left to erase.
    expect(within(drawer).queryByRole('button', { name: 'Hapus data pribadi' })).not.toBeInTheDocument();
  });

  it("lets an admin erase the order's customer, after the same confirmation, with a reason", async () => {
    const user = userEvent.setup();
    const order = makeOrder({ id: ORDER_ID, nama_customer: 'Budi Santoso', email: 'budi@example.com' });
    const { onErased, onClose, erasures } = setup({ detail: detailOf(order) });
    const drawer = await screen.findByRole('dialog', { name: 'Detail Pesanan' });
    await within(drawer).findByText('Budi Santoso');
    const action = within(drawer).getByRole('button', { name: 'Hapus data pribadi' });
    await user.click(action);

    const dialog = screen.getByRole('alertdialog', { name: 'Hapus data pribadi pelanggan?' });
    expect(dialog).toHaveAccessibleDescription(/dari SEMUA pesanannya dan permintaan bantuannya, bukan hanya satu pesanan/);
    expect(dialog).toHaveAccessibleDescription(/tidak dapat dibatalkan/);
    expect(within(dialog).getByTestId('erase-target')).toHaveTextContent('Pelanggan pesanan 0190A0C2');

    // Esc closes the confirmation only: the drawer stays, and focus returns to the action.
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
    expect(onClose).not.toHaveBeenCalled();
    expect(action).toHaveFocus();

    await user.click(action);
    const again = screen.getByRole('alertdialog');
    const reason = within(again).getByLabelText('Alasan (nomor permintaan)');
    await user.type(reason, 'ab');
    await user.click(within(again).getByRole('button', { name: 'Ya, hapus permanen' }));
    expect(reason).toHaveAccessibleDescription(/Alasan minimal 3 karakter\./);
    expect(erasures()).toHaveLength(0);

    await user.clear(reason);
    await user.type(reason, 'PDP-2025-0142');
    await user.click(within(again).getByRole('button', { name: 'Ya, hapus permanen' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument());
    expect(erasures()).toHaveLength(1);
    const [, init] = erasures()[0]!;
    expect(JSON.parse(init?.body as string)).toEqual({ order_id: ORDER_ID, alasan: 'PDP-2025-0142' });
    expect((init?.headers as Record<string, string>)['X-CSRF-Token']).toBe('csrf-admin');
    expect(await screen.findByText('Data pribadi dihapus dari 2 pesanan dan 1 permintaan bantuan.')).toBeInTheDocument();
    expect(onErased).toHaveBeenCalledWith({ subject: 'ab'.repeat(32), generation: 1, pesanan: 2, handoff: 1 });

    // The drawer reads the order again until the projection has blanked it.
    await within(drawer).findByTestId('drawer-erased', {}, { timeout: 3000 });
    expect(drawer).not.toHaveTextContent('Budi Santoso');
    expect(drawer).not.toHaveTextContent('budi@example.com');
  });

  it('keeps the confirmation open with the server\'s reason when the erasure fails', async () => {
    const user = userEvent.setup();
    const order = makeOrder({ id: ORDER_ID });
    setup({
      detail: detailOf(order),
      erase: () =>
        jsonResponse(
          { detail: [{ loc: ['body', 'alasan'], msg: 'alasan tidak boleh memuat @', type: 'value_error' }] },
          { status: 422 },
        ),
    });
    const drawer = await screen.findByRole('dialog', { name: 'Detail Pesanan' });
    await user.click(await within(drawer).findByRole('button', { name: 'Hapus data pribadi' }));
    const dialog = screen.getByRole('alertdialog');
    const reason = within(dialog).getByLabelText('Alasan (nomor permintaan)');
    await user.type(reason, 'PDP-1');
    await user.click(within(dialog).getByRole('button', { name: 'Ya, hapus permanen' }));
    await waitFor(() => expect(reason).toHaveAttribute('aria-invalid', 'true'));
    expect(reason).toHaveAccessibleDescription(/alasan tidak boleh memuat @/);
    expect(screen.getByRole('alertdialog')).toBeInTheDocument();
  });

  it('offers no erasure to an operator', async () => {
    setup({ detail: detailOf(makeOrder({ id: ORDER_ID, nama_customer: 'Budi Santoso' })) }, OPERATOR_SESSION);
    const drawer = await screen.findByRole('dialog', { name: 'Detail Pesanan' });
    await within(drawer).findByText('Budi Santoso');
    expect(within(drawer).queryByRole('button', { name: 'Hapus data pribadi' })).not.toBeInTheDocument();
  });
});
