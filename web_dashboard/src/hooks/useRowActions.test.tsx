import { act, renderHook, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { createApiClient } from '../api/client';
import type { ChangeEvent, Order } from '../api/types';
import { fakeFetch, jsonResponse, makeOrder, providersWith } from '../test/helpers';
import { useRowActions } from './useRowActions';

afterEach(() => vi.useRealTimers());

function mount(answer: (method: string, url: URL) => Response | undefined) {
  const fetch = fakeFetch((url, init) => answer(init.method ?? 'GET', url));
  const options = { removeOrder: vi.fn(), reload: vi.fn(), reloadStatsSoon: vi.fn(), onRowDeleted: vi.fn() };
  const hook = renderHook(() => useRowActions(options), { wrapper: providersWith({ client: createApiClient({ fetch }) }) });
  return { fetch, hook, options };
}

function change(type: string, order: Order): ChangeEvent {
  return { seq: 1, type, order_id: order.id, order };
}

const accepted = (order: Order) => jsonResponse({ message: 'ok', order_id: order.id }, { status: 202 });

describe('useRowActions', () => {
  it('keeps a sent order busy until the feed reports it, then toasts its outcome', async () => {
    const budi = makeOrder({ nama_customer: 'Budi Santoso', email: 'budi@example.com' });
    const { hook, fetch } = mount((method) => (method === 'POST' ? accepted(budi) : undefined));

    act(() => hook.result.current.actions.onSend(budi));
    expect(hook.result.current.busy.has(budi.id)).toBe(true);
    expect(await screen.findByText('Mengirim kode verifikasi ke budi@example.com')).toBeInTheDocument();
    expect(fetch.mock.calls[0]?.[0]).toBe(`/dashboard/verification/${budi.id}`);

    // A new order says nothing about this send; any other change does.
    act(() => hook.result.current.onFeedChange(change('order.created', budi)));
    expect(hook.result.current.busy.has(budi.id)).toBe(true);
    act(() => hook.result.current.onFeedChange(change('verification.requested', { ...budi, sending: true })));
    expect(hook.result.current.busy.has(budi.id)).toBe(false);

    act(() => hook.result.current.onFeedChange(change('verification.sent', budi)));
    expect(await screen.findByText('Kode verifikasi terkirim ke budi@example.com')).toBeInTheDocument();
    act(() => hook.result.current.onFeedChange(change('order.verified', budi)));
    expect(await screen.findByText('Order Budi Santoso terverifikasi')).toBeInTheDocument();

    // Verified is final: a later change is not toasted again.
    act(() => hook.result.current.onFeedChange(change('verification.sent', { ...budi, email: 'lain@example.com' })));
    expect(screen.queryByText('Kode verifikasi terkirim ke lain@example.com')).not.toBeInTheDocument();
  });

  it('does not toast outcomes of orders this operator did not send', () => {
    const { hook } = mount(() => undefined);
    const siti = makeOrder({ email: 'siti@example.com' });
    act(() => hook.result.current.onFeedChange(change('verification.sent', siti)));
    expect(screen.queryByText(/siti@example.com/)).not.toBeInTheDocument();
  });

  it('resends on the resend path, and reloads when the feed stays silent for 5 s', async () => {
    const budi = makeOrder({ status: 'On Verification' });
    const { hook, fetch, options } = mount((method) => (method === 'POST' ? accepted(budi) : undefined));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    await act(async () => {
      hook.result.current.actions.onResend(budi);
      await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(1));
    });
    expect(fetch.mock.calls[0]?.[0]).toBe(`/dashboard/verification/${budi.id}/resend`);
    await vi.waitFor(() => expect(vi.getTimerCount()).toBeGreaterThan(0));
    act(() => {
      vi.advanceTimersByTime(5_000);
    });
    expect(hook.result.current.busy.has(budi.id)).toBe(false);
    expect(options.reload).toHaveBeenCalledTimes(1);
  });

  it('starts the cool-down from Retry-After on a 429', async () => {
    const budi = makeOrder();
    const { hook } = mount(() => jsonResponse({ detail: 'Terlalu sering' }, { status: 429, headers: { 'Retry-After': '42' } }));
    const before = Date.now();
    act(() => hook.result.current.actions.onSend(budi));
    expect(await screen.findByText('Tunggu 42 detik sebelum mengirim ulang')).toBeInTheDocument();
    expect(hook.result.current.busy.has(budi.id)).toBe(false);
    const until = hook.result.current.cooldowns[budi.id] ?? 0;
    expect(until).toBeGreaterThanOrEqual(before + 42_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 42_000);
  });

  it('takes an order gone on the server off the page, and reloads after a refusal', async () => {
    const gone = makeOrder();
    const refused = makeOrder();
    const { hook, options } = mount((_method, url) =>
      url.pathname.endsWith(gone.id)
        ? jsonResponse({ detail: 'Not Found' }, { status: 404 })
        : jsonResponse({ detail: 'Batas pengiriman tercapai' }, { status: 400 }),
    );
    act(() => hook.result.current.actions.onSend(gone));
    expect(await screen.findByText('Order tidak ditemukan; mungkin sudah dihapus atau kedaluwarsa')).toBeInTheDocument();
    expect(options.removeOrder).toHaveBeenCalledWith(gone.id);
    expect(options.onRowDeleted).not.toHaveBeenCalled();

    act(() => hook.result.current.actions.onSend(refused));
    expect(await screen.findByText('Gagal: Batas pengiriman tercapai')).toBeInTheDocument();
    expect(options.reload).toHaveBeenCalledTimes(1);
  });

  it('deletes only after confirmation, then removes the row and refreshes the stats', async () => {
    const budi = makeOrder({ nama_customer: 'Budi Santoso' });
    const { hook, fetch, options } = mount((method) => (method === 'DELETE' ? jsonResponse({ message: 'ok' }) : undefined));

    act(() => hook.result.current.actions.onDelete(budi, document.body));
    expect(hook.result.current.confirm).toBe(budi);
    act(() => hook.result.current.cancelDelete());
    expect(hook.result.current.confirm).toBeNull();
    expect(fetch).not.toHaveBeenCalled();

    act(() => hook.result.current.actions.onDelete(budi, document.body));
    act(() => void hook.result.current.deleteConfirmed());
    expect(hook.result.current.confirm).toBeNull();
    expect(hook.result.current.deleting.has(budi.id)).toBe(true);
    expect(await screen.findByText('Order Budi Santoso berhasil dihapus')).toBeInTheDocument();
    await waitFor(() => expect(hook.result.current.deleting.has(budi.id)).toBe(false));
    expect(options.onRowDeleted).toHaveBeenCalledTimes(1);
    expect(options.removeOrder).toHaveBeenCalledWith(budi.id);
    expect(options.reloadStatsSoon).toHaveBeenCalledTimes(1);
  });

  it('keeps the row when the deletion fails', async () => {
    const budi = makeOrder();
    const { hook, options } = mount(() => jsonResponse({ detail: 'Tidak boleh' }, { status: 403 }));
    act(() => hook.result.current.actions.onDelete(budi, document.body));
    act(() => void hook.result.current.deleteConfirmed());
    expect(await screen.findByText('Gagal: Tidak boleh')).toBeInTheDocument();
    await waitFor(() => expect(hook.result.current.deleting.size).toBe(0));
    expect(options.removeOrder).not.toHaveBeenCalled();
    expect(options.onRowDeleted).not.toHaveBeenCalled();
  });
});
