import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import type { Order } from '../api/types';
import { makeOrder, renderWithProviders } from '../test/helpers';
import { OrdersTable, type OrdersTableProps } from './OrdersTable';

function props(orders: Order[], overrides: Partial<OrdersTableProps> = {}): OrdersTableProps {
  return {
    orders,
    state: 'ready',
    errorMessage: null,
    filtered: false,
    sort: 'created_at',
    order: 'desc',
    onSort: vi.fn(),
    onRetry: vi.fn(),
    onOpen: vi.fn(),
    highlighted: new Set(),
    busy: new Set(),
    deleting: new Set(),
    cooldowns: {},
    now: Date.now(),
    actions: { onSend: vi.fn(), onResend: vi.fn(), onDelete: vi.fn() },
    limit: 50,
    ...overrides,
  };
}

describe('OrdersTable', () => {
  it('shows the seed columns, values in Rupiah and colored status badges', () => {
    const orders = [
      makeOrder({ nama_customer: 'Siti Aminah', estimasi_nilai_barang: 10_000_000, status: 'On Process' }),
      makeOrder({
        nama_customer: 'Agus Wijaya',
        nama_barang: 'Emas Antam',
        jenis_barang: 'emas',
        jumlah_barang: 25,
        estimasi_nilai_barang: 1_250_500,
        status: 'Verified',
        wilayah: 'Surabaya',
      }),
    ];
    renderWithProviders(<OrdersTable {...props(orders)} />);

    const table = screen.getByRole('table', { name: 'Daftar pesanan aktif' });
    for (const header of ['Pelanggan', 'Email', 'Barang', 'Jenis', 'Jumlah', 'Nilai Taksiran', 'Wilayah', 'Status', 'Aksi']) {
      expect(within(table).getByRole('columnheader', { name: new RegExp(header) })).toBeInTheDocument();
    }
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getByTestId('value')).toHaveTextContent('Rp 10.000.000');
    expect(within(rows[1]!).getByTestId('value')).toHaveTextContent('Rp 1.250.500');
    expect(within(rows[1]!).getAllByText('25 gram').length).toBeGreaterThan(0);
    expect(within(rows[0]!).getByText('On Process')).toHaveAttribute('data-status', 'On Process');
    expect(within(rows[0]!).getByText('On Process').className).toMatch(/yellow/);
    expect(within(rows[1]!).getByText('Verified').className).toMatch(/green/);
  });

  it('sorts by clicking a column header and marks the sorted column', async () => {
    const user = userEvent.setup();
    const p = props([makeOrder()], { sort: 'estimasi_nilai_barang', order: 'asc' });
    renderWithProviders(<OrdersTable {...p} />);
    const valueHeader = screen.getByRole('columnheader', { name: /Nilai Taksiran/ });
    expect(valueHeader).toHaveAttribute('aria-sort', 'ascending');
    expect(screen.getByRole('columnheader', { name: /Pelanggan/ })).toHaveAttribute('aria-sort', 'none');

    await user.click(within(screen.getByRole('columnheader', { name: /Pelanggan/ })).getByRole('button'));
    expect(p.onSort).toHaveBeenCalledWith('nama_customer');
    await user.click(within(screen.getByRole('columnheader', { name: /Dibuat/ })).getByRole('button'));
    expect(p.onSort).toHaveBeenCalledWith('created_at');
  });

  it('opens the detail drawer from the customer name', async () => {
    const user = userEvent.setup();
    const order = makeOrder({ nama_customer: 'Rina Kartika' });
    const p = props([order]);
    renderWithProviders(<OrdersTable {...p} />);
    await user.click(screen.getByRole('button', { name: 'Lihat detail pesanan Rina Kartika' }));
    expect(p.onOpen).toHaveBeenCalledWith(order);
  });

  it('has skeleton, empty and error states', async () => {
    const user = userEvent.setup();
    const { rerender } = renderWithProviders(<OrdersTable {...props([], { state: 'loading' })} />);
    expect(screen.getByText('Memuat pesanan...')).toBeInTheDocument();
    expect(screen.getByRole('table').closest('[aria-busy]')).toHaveAttribute('aria-busy', 'true');

    rerender(<OrdersTable {...props([])} />);
    expect(screen.getByText('Tidak ada pesanan.')).toBeInTheDocument();
    rerender(<OrdersTable {...props([], { filtered: true })} />);
    expect(screen.getByText('Tidak ada pesanan yang cocok dengan filter ini.')).toBeInTheDocument();

    const onRetry = vi.fn();
    rerender(<OrdersTable {...props([], { state: 'error', errorMessage: 'Server tidak dapat dihubungi.', onRetry })} />);
    const alert = screen.getByText('Pesanan tidak dapat dimuat.').closest<HTMLElement>('[role="alert"]')!;
    expect(alert).toHaveTextContent('Server tidak dapat dihubungi.');
    await user.click(within(alert).getByRole('button', { name: 'Coba lagi' }));
    expect(onRetry).toHaveBeenCalled();
  });

  it('shows "data dihapus" where an erased customer\'s name, e-mail and item were', async () => {
    const user = userEvent.setup();
    const erased = makeOrder({
      id: '0190a0c2-7d1e-7c3a-9f00-3b2a1c0d9e8f',
      nama_customer: null,
      email: null,
      nama_barang: null,
      data_dihapus: true,
      estimasi_nilai_barang: 7_500_000,
      wilayah: 'Bali',
    });
    const kept = makeOrder({ nama_customer: 'Siti Aminah' });
    const p = props([kept, erased], { sort: 'nama_customer', order: 'asc' });
    renderWithProviders(<OrdersTable {...p} />);

    const row = screen.getAllByRole('row')[2]!;
    const open = within(row).getByRole('button', { name: 'Lihat detail pesanan data dihapus (0190A0C2)' });
    expect(open).toHaveTextContent('data dihapus');
    // Name, e-mail and item; nothing personal is left in the row.
    expect(within(row).getAllByText('data dihapus')).toHaveLength(3);
    for (const shown of within(row).getAllByText('data dihapus')) expect(shown).toHaveAttribute('data-erased', 'true');
    expect(row).not.toHaveTextContent('Budi');
    expect(row).not.toHaveTextContent('@');
    expect(row).not.toHaveTextContent('Tidak diketahui');
    // The facts that are not personal stay.
    expect(within(row).getByTestId('value')).toHaveTextContent('Rp 7.500.000');
    expect(row).toHaveTextContent('Bali');
    // No mail can go to an erased customer.
    const send = within(row).getByRole('button', { name: 'Kirim Verifikasi' });
    expect(send).toHaveAttribute('aria-disabled', 'true');
    expect(send).toHaveAccessibleDescription('Data pribadi pelanggan sudah dihapus');
    await user.click(send);
    expect(p.actions.onSend).not.toHaveBeenCalled();
    await user.click(open);
    expect(p.onOpen).toHaveBeenCalledWith(erased);

    // The other row is untouched, and the name column still sorts.
    expect(screen.getAllByRole('row')[1]).toHaveTextContent('Siti Aminah');
    await user.click(within(screen.getByRole('columnheader', { name: /Pelanggan/ })).getByRole('button'));
    expect(p.onSort).toHaveBeenCalledWith('nama_customer');
  });

  it('keeps "Tidak diketahui" for an order whose creation was not seen yet (not erased)', () => {
    const early = makeOrder({ nama_customer: null, email: null, nama_barang: null });
    renderWithProviders(<OrdersTable {...props([early])} />);
    const row = screen.getAllByRole('row')[1]!;
    expect(within(row).getByRole('button', { name: 'Lihat detail pesanan Tidak diketahui' })).toBeInTheDocument();
    expect(within(row).queryByText('data dihapus')).not.toBeInTheDocument();
  });

  it('marks a newly arrived order', () => {
    const order = makeOrder();
    renderWithProviders(<OrdersTable {...props([order], { highlighted: new Set([order.id]) })} />);
    const row = screen.getAllByRole('row')[1]!;
    expect(row).toHaveAttribute('data-new', 'true');
    expect(within(row).getByText('Baru')).toBeInTheDocument();
  });
});
