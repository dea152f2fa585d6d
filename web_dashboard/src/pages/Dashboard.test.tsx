import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createApiClient } from '../api/client';
import type { ChangeEvent, Order, OrderDetail } from '../api/types';
import {
  FakeEventSource,
  createFakeEventSource,
  fakeFetch,
  jsonResponse,
  makeOrder,
  makeStats,
  renderWithProviders,
  urlOf,
} from '../test/helpers';
import { Dashboard } from './Dashboard';

// Recharts cannot measure anything in jsdom; the charts have their own tests.
vi.mock('../components/charts/ChartsPanel', () => ({
  default: ({ stats }: { stats: { total: number } }) => <p data-testid="charts">{stats.total}</p>,
}));

interface Server {
  orders: Order[];
  nextCursor: string | null;
  details: Record<string, OrderDetail>;
  onPost?: (url: URL) => Response | undefined;
}

function setup(server: Server) {
  const fetch = fakeFetch((url, init) => {
    const method = init.method ?? 'GET';
    if (method === 'GET' && url.pathname === '/dashboard/orders') {
      const headers: Record<string, string> = { 'X-Total-Count': String(server.orders.length) };
      if (server.nextCursor && !url.searchParams.get('cursor')) headers['X-Next-Cursor'] = server.nextCursor;
      return jsonResponse(server.orders, { headers });
    }
    if (method === 'GET' && url.pathname === '/dashboard/stats') return jsonResponse(makeStats());
    if (method === 'GET' && url.pathname.startsWith('/dashboard/orders/')) {
      const detail = server.details[url.pathname.split('/').pop() ?? ''];
      return detail ? jsonResponse(detail) : undefined;
    }
    if (method === 'POST') return server.onPost?.(url);
    if (method === 'DELETE') {
      const id = url.pathname.split('/').pop();
      server.orders = server.orders.filter((o) => o.id !== id);
      return jsonResponse({ message: 'Order berhasil dihapus' });
    }
    return undefined;
  });
  const client = createApiClient({ fetch });
  const view = renderWithProviders(<Dashboard createEventSource={createFakeEventSource} />, { client });
  const calls = (path: string, method = 'GET') =>
    fetch.mock.calls.filter(([input, init]) => {
      const url = urlOf(input);
      return url.pathname === path && (init?.method ?? 'GET') === method;
    });
  return { fetch, view, calls };
}

function change(type: string, order: Order, seq = 1): ChangeEvent {
  return { seq, type, order_id: order.id, order };
}

function emit(event: ChangeEvent) {
  act(() => FakeEventSource.latest().emit('change', event, String(event.seq)));
}

async function rowOf(name: string): Promise<HTMLElement> {
  const button = await screen.findByRole('button', { name: `Lihat detail pesanan ${name}` });
  return button.closest('tr')!;
}

beforeEach(() => FakeEventSource.reset());
afterEach(() => vi.useRealTimers());

describe('Dashboard', () => {
  it('loads orders and stats and shows the live connection state', async () => {
    const budi = makeOrder({ nama_customer: 'Budi Santoso', estimasi_nilai_barang: 10_000_000 });
    setup({ orders: [budi], nextCursor: null, details: {} });

    const row = await rowOf('Budi Santoso');
    expect(within(row).getByTestId('value')).toHaveTextContent('Rp 10.000.000');
    expect(await screen.findByTestId('stat-total')).toHaveTextContent('3');
    expect(screen.getByTestId('stat-On Process')).toHaveTextContent('1');
    expect(screen.getByText('Halaman 1 · 1 pesanan')).toBeInTheDocument();
    expect(await screen.findByTestId('charts')).toHaveTextContent('3');

    const status = screen.getByRole('status', { name: 'Status koneksi' });
    expect(status).toHaveTextContent('Menghubungkan...');
    expect(FakeEventSource.latest().url).toBe('/dashboard/events');
    act(() => FakeEventSource.latest().open());
    expect(status).toHaveTextContent('Live');
    act(() => FakeEventSource.latest().fail(true));
    expect(status).toHaveTextContent('Offline');
  });

  it('applies live changes to the page: new orders highlighted, updates in place, deletions removed', async () => {
    const budi = makeOrder({ nama_customer: 'Budi Santoso', created_at: '2024-05-01T08:00:00Z' });
    const { calls } = setup({ orders: [budi], nextCursor: null, details: {} });
    await rowOf('Budi Santoso');
    act(() => FakeEventSource.latest().open());

    const siti = makeOrder({ nama_customer: 'Siti Aminah', created_at: '2024-05-02T08:00:00Z' });
    emit(change('order.created', siti, 10));
    const sitiRow = await rowOf('Siti Aminah');
    expect(sitiRow).toHaveAttribute('data-new', 'true');
    const rows = screen.getAllByRole('row').slice(1);
    expect(rows[0]).toBe(sitiRow);

    emit(change('order.verified', { ...budi, status: 'Verified' }, 11));
    expect(within(await rowOf('Budi Santoso')).getByText('Verified')).toBeInTheDocument();

    emit(change('order.deleted', { ...siti, status: 'Deleted' }, 12));
    await waitFor(() => expect(screen.queryByText('Siti Aminah')).not.toBeInTheDocument());

    // The stats follow, debounced.
    await waitFor(() => expect(calls('/dashboard/stats').length).toBeGreaterThan(1), { timeout: 2500 });
  });

  it('blanks a row in place when the feed says its customer was erased', async () => {
    const budi = makeOrder({ nama_customer: 'Budi Santoso', email: 'budi@example.com', created_at: '2024-05-01T08:00:00Z' });
    const siti = makeOrder({ nama_customer: 'Siti Aminah', created_at: '2024-05-02T08:00:00Z' });
    setup({ orders: [siti, budi], nextCursor: null, details: {} });
    await rowOf('Budi Santoso');
    act(() => FakeEventSource.latest().open());

    const erased = { ...budi, nama_customer: null, email: null, nama_barang: null, data_dihapus: true };
    emit(change('customer.erased', erased, 40));
    const row = document.querySelector<HTMLElement>(`tr[data-order-id="${budi.id}"]`)!;
    await waitFor(() => expect(within(row).getAllByText('data dihapus').length).toBeGreaterThan(0));
    expect(row).not.toHaveTextContent('Budi Santoso');
    expect(row).not.toHaveTextContent('budi@example.com');
    // Still in its place on the page.
    expect(screen.getAllByRole('row').slice(1).map((r) => r.getAttribute('data-order-id'))).toEqual([siti.id, budi.id]);
  });

  it('sends verification, shows sending, then the outcome from the feed', async () => {
    const user = userEvent.setup();
    const budi = makeOrder({ nama_customer: 'Budi Santoso', email: 'budi@example.com' });
    const { calls } = setup({
      orders: [budi],
      nextCursor: null,
      details: {},
      onPost: () => jsonResponse({ message: 'Email verifikasi sedang dikirim', order_id: budi.id }, { status: 202 }),
    });
    const row = await rowOf('Budi Santoso');
    act(() => FakeEventSource.latest().open());

    await user.click(within(row).getByRole('button', { name: 'Kirim Verifikasi' }));
    expect(calls(`/dashboard/verification/${budi.id}`, 'POST')).toHaveLength(1);
    expect(await screen.findByText('Mengirim kode verifikasi ke budi@example.com')).toBeInTheDocument();
    expect(within(row).getByRole('button', { name: 'Mengirim...' })).toHaveAttribute('aria-disabled', 'true');

    emit(change('verification.requested', { ...budi, sending: true, send_count: 1 }, 20));
    expect(within(row).getByRole('button', { name: 'Mengirim...' })).toBeInTheDocument();

    const sentAt = new Date().toISOString();
    emit(change('verification.sent', { ...budi, status: 'On Verification', send_count: 1, last_sent_at: sentAt }, 21));
    expect(await screen.findByText('Kode verifikasi terkirim ke budi@example.com')).toBeInTheDocument();
    expect(within(row).getByText('On Verification')).toBeInTheDocument();
    expect(within(row).getByRole('button', { name: /^Kirim Ulang \(\d+ d\)$/ })).toHaveAttribute('aria-disabled', 'true');
  });

  it('toasts a failed send with its reason', async () => {
    const user = userEvent.setup();
    const budi = makeOrder({ nama_customer: 'Budi Santoso', email: 'budi@example.com' });
    setup({
      orders: [budi],
      nextCursor: null,
      details: {},
      onPost: () => jsonResponse({ message: 'ok', order_id: budi.id }, { status: 202 }),
    });
    const row = await rowOf('Budi Santoso');
    await user.click(within(row).getByRole('button', { name: 'Kirim Verifikasi' }));
    await screen.findByText('Mengirim kode verifikasi ke budi@example.com');

    emit(change('verification.failed', { ...budi, last_error: 'SMTP 550 mailbox unavailable', send_count: 1 }, 30));
    const toast = await screen.findByText('Pengiriman ke budi@example.com gagal: SMTP 550 mailbox unavailable');
    expect(toast.closest('[role="alert"]')).not.toBeNull();
    expect(within(row).getByText('Pengiriman gagal: SMTP 550 mailbox unavailable')).toBeInTheDocument();
    expect(within(row).getByRole('button', { name: 'Kirim Verifikasi' })).not.toHaveAttribute('aria-disabled');
  });

  it("shows the server's refusal as an error toast, never alert()", async () => {
    const user = userEvent.setup();
    const alertSpy = vi.spyOn(window, 'alert').mockImplementation(() => undefined);
    const budi = makeOrder({ nama_customer: 'Budi Santoso' });
    setup({
      orders: [budi],
      nextCursor: null,
      details: {},
      onPost: () => jsonResponse({ detail: 'Batas 5 kali pengiriman kode untuk order ini sudah tercapai' }, { status: 400 }),
    });
    const row = await rowOf('Budi Santoso');
    await user.click(within(row).getByRole('button', { name: 'Kirim Verifikasi' }));
    expect(await screen.findByText('Gagal: Batas 5 kali pengiriman kode untuk order ini sudah tercapai')).toBeInTheDocument();
    expect(alertSpy).not.toHaveBeenCalled();
  });

  it('deletes after confirming in the dialog', async () => {
    const user = userEvent.setup();
    const budi = makeOrder({ nama_customer: 'Budi Santoso', nama_barang: 'Laptop ASUS', estimasi_nilai_barang: 7_500_000 });
    const { calls } = setup({ orders: [budi], nextCursor: null, details: {} });
    const row = await rowOf('Budi Santoso');

    await user.click(within(row).getByRole('button', { name: 'Hapus' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Hapus pesanan?' });
    expect(dialog).toHaveTextContent('Pesanan Budi Santoso (Laptop ASUS, Rp 7.500.000)');
    await user.click(within(dialog).getByRole('button', { name: 'Batal' }));
    expect(calls(`/dashboard/order/${budi.id}`, 'DELETE')).toHaveLength(0);

    await user.click(within(row).getByRole('button', { name: 'Hapus' }));
    await user.click(screen.getByRole('button', { name: 'Ya, hapus' }));
    expect(await screen.findByText('Order Budi Santoso berhasil dihapus')).toBeInTheDocument();
    expect(calls(`/dashboard/order/${budi.id}`, 'DELETE')).toHaveLength(1);
    expect(screen.queryByRole('button', { name: 'Lihat detail pesanan Budi Santoso' })).not.toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole('heading', { name: 'Pesanan' })).toHaveFocus());
  });

  it('searches after the operator stops typing, and pages with a cursor stack', async () => {
    const user = userEvent.setup();
    const { calls } = setup({ orders: [makeOrder({ nama_customer: 'Budi Santoso' })], nextCursor: 'page-2', details: {} });
    await rowOf('Budi Santoso');

    await user.click(screen.getByRole('button', { name: /Berikutnya/ }));
    await waitFor(() => expect(screen.getByText(/Halaman 2/)).toBeInTheDocument());
    const cursors = () => calls('/dashboard/orders').map(([input]) => urlOf(input).searchParams.get('cursor'));
    expect(cursors()).toContain('page-2');
    await user.click(screen.getByRole('button', { name: /Sebelumnya/ }));
    await waitFor(() => expect(screen.getByText(/Halaman 1/)).toBeInTheDocument());
    expect(screen.getByRole('button', { name: /Sebelumnya/ })).toBeDisabled();

    await user.type(screen.getByRole('searchbox', { name: 'Cari' }), 'budi');
    await waitFor(() => {
      const qs = calls('/dashboard/orders').map(([input]) => urlOf(input).searchParams.get('q'));
      expect(qs).toContain('budi');
    });
    const qs = calls('/dashboard/orders').map(([input]) => urlOf(input).searchParams.get('q'));
    expect(qs.filter((q) => q !== null)).toEqual(['budi']);
    expect(window.location.search).toContain('q=budi');
    const exports = within(screen.getByRole('group', { name: 'Ekspor tampilan saat ini' }));
    const csv = exports.getByRole('link', { name: 'Ekspor CSV' });
    expect(csv).toHaveAttribute('href', '/dashboard/orders/export?format=csv&q=budi&sort=created_at&order=desc');
    const xlsx = exports.getByRole('link', { name: 'Ekspor Excel (XLSX)' });
    expect(xlsx).toHaveAttribute('href', '/dashboard/orders/export?format=xlsx&q=budi&sort=created_at&order=desc');
    expect(xlsx).toHaveAttribute('download');
    const pdf = exports.getByRole('link', { name: 'Ekspor PDF' });
    expect(pdf).toHaveAttribute('href', '/dashboard/orders/export?format=pdf&q=budi&sort=created_at&order=desc');
    expect(pdf).toHaveAttribute('download');
  });

  it('polls every 30 s while the feed is down, and reloads on resync', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { calls } = setup({ orders: [makeOrder({ nama_customer: 'Budi Santoso' })], nextCursor: null, details: {} });
    await rowOf('Budi Santoso');
    act(() => FakeEventSource.latest().open());
    const before = calls('/dashboard/orders').length;

    act(() => {
      vi.advanceTimersByTime(30_000);
    });
    expect(calls('/dashboard/orders')).toHaveLength(before);

    act(() => FakeEventSource.latest().fail(true));
    act(() => {
      vi.advanceTimersByTime(30_000);
    });
    await waitFor(() => expect(calls('/dashboard/orders').length).toBe(before + 1));

    act(() => FakeEventSource.latest().open());
    act(() => FakeEventSource.latest().emit('resync', '{}'));
    await waitFor(() => expect(calls('/dashboard/orders').length).toBe(before + 2));
  });

  it('opens the detail drawer with the history: who, when and why it failed', async () => {
    const user = userEvent.setup();
    const budi = makeOrder({ nama_customer: 'Budi Santoso', last_error: 'SMTP 550' });
    setup({
      orders: [budi],
      nextCursor: null,
      details: {
        [budi.id]: {
          order: budi,
          history: [
            { seq: 1, type: 'order.created', actor: 'n8n', occurred_at: '2024-05-01T08:00:00Z', data: {} },
            { seq: 2, type: 'verification.requested', actor: 'ani', occurred_at: '2024-05-01T08:01:00Z', data: {} },
            { seq: 3, type: 'verification.failed', actor: 'system', occurred_at: '2024-05-01T08:02:00Z', data: { reason: 'SMTP 550' } },
          ],
        },
      },
    });
    const row = await rowOf('Budi Santoso');
    const opener = within(row).getByRole('button', { name: 'Lihat detail pesanan Budi Santoso' });
    await user.click(opener);

    const drawer = screen.getByRole('dialog', { name: 'Detail Pesanan' });
    expect(await within(drawer).findByText('Pengiriman kode gagal')).toBeInTheDocument();
    expect(within(drawer).getByText('Pesanan dibuat')).toBeInTheDocument();
    expect(within(drawer).getByText('Alasan: SMTP 550')).toBeInTheDocument();
    expect(within(drawer).getByText(/oleh sistem/)).toBeInTheDocument();
    expect(within(drawer).getByText(/oleh ani/)).toBeInTheDocument();
    expect(window.location.search).toContain(`order=${budi.id}`);

    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(opener).toHaveFocus();
  });
});
