import { act, renderHook, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { createApiClient } from '../api/client';
import type { ChangeEvent, Order, OrderQuery } from '../api/types';
import { DEFAULT_QUERY } from '../lib/urlState';
import { fakeFetch, jsonResponse, makeOrder, providersWith, urlOf } from '../test/helpers';
import { useOrderPage } from './useOrderPage';

interface Server {
  orders: Order[];
  nextCursor?: string;
  fail?: boolean;
}

function mount(server: Server, initial: OrderQuery = DEFAULT_QUERY, selectedId: string | null = null) {
  const fetch = fakeFetch((url) => {
    if (url.pathname !== '/dashboard/orders') return undefined;
    if (server.fail) return jsonResponse({ detail: 'Database tidak tersedia' }, { status: 503 });
    const headers: Record<string, string> = { 'X-Total-Count': String(server.orders.length) };
    if (server.nextCursor && !url.searchParams.get('cursor')) headers['X-Next-Cursor'] = server.nextCursor;
    return jsonResponse(server.orders, { headers });
  });
  const hook = renderHook(({ id }) => useOrderPage(initial, id), {
    initialProps: { id: selectedId },
    wrapper: providersWith({ client: createApiClient({ fetch }) }),
  });
  const requests = () => fetch.mock.calls.map(([input]) => urlOf(input).searchParams);
  return { fetch, hook, requests };
}

function change(type: string, order: Order): ChangeEvent {
  return { seq: 1, type, order_id: order.id, order };
}

describe('useOrderPage', () => {
  it('loads the first page, then reports ready', async () => {
    const budi = makeOrder({ nama_customer: 'Budi Santoso' });
    const { hook } = mount({ orders: [budi] });
    expect(hook.result.current.loading).toBe(true);
    expect(hook.result.current.tableState).toBe('loading');
    await waitFor(() => expect(hook.result.current.tableState).toBe('ready'));
    expect(hook.result.current.page.orders).toEqual([budi]);
    expect(hook.result.current.page.totalCount).toBe(1);
    expect(hook.result.current.pageNumber).toBe(1);
    expect(hook.result.current.hasPrevious).toBe(false);
    expect(hook.result.current.hasNext).toBe(false);
  });

  it("words a failed load in the operator's language", async () => {
    const { hook } = mount({ orders: [], fail: true });
    await waitFor(() => expect(hook.result.current.tableState).toBe('error'));
    expect(hook.result.current.error).toBe('Gagal: Database tidak tersedia');
  });

  it('pages forward with the cursor and back without it', async () => {
    const { hook, requests } = mount({ orders: [makeOrder()], nextCursor: 'page-2' });
    await waitFor(() => expect(hook.result.current.hasNext).toBe(true));
    act(() => hook.result.current.goNext());
    expect(hook.result.current.pageNumber).toBe(2);
    await waitFor(() => expect(hook.result.current.loading).toBe(false));
    expect(requests().at(-1)?.get('cursor')).toBe('page-2');
    expect(hook.result.current.hasPrevious).toBe(true);
    expect(hook.result.current.hasNext).toBe(false);

    act(() => hook.result.current.goPrevious());
    expect(hook.result.current.pageNumber).toBe(1);
    await waitFor(() => expect(hook.result.current.loading).toBe(false));
    expect(requests().at(-1)?.get('cursor')).toBeNull();
  });

  it('starts again from the first page when the filters change', async () => {
    const { hook, requests } = mount({ orders: [makeOrder()], nextCursor: 'page-2' });
    await waitFor(() => expect(hook.result.current.hasNext).toBe(true));
    act(() => hook.result.current.goNext());
    await waitFor(() => expect(hook.result.current.loading).toBe(false));

    act(() => hook.result.current.changeFilters({ status: 'Verified' }));
    expect(hook.result.current.pageNumber).toBe(1);
    await waitFor(() => expect(hook.result.current.loading).toBe(false));
    const last = requests().at(-1);
    expect(last?.get('status')).toBe('Verified');
    expect(last?.get('cursor')).toBeNull();
  });

  it('sorts a new column in its default direction and flips a sorted one', async () => {
    const { hook } = mount({ orders: [] });
    act(() => hook.result.current.sortBy('nama_customer'));
    expect(hook.result.current.query).toMatchObject({ sort: 'nama_customer', order: 'asc' });
    act(() => hook.result.current.sortBy('nama_customer'));
    expect(hook.result.current.query).toMatchObject({ sort: 'nama_customer', order: 'desc' });
    act(() => hook.result.current.sortBy('estimasi_nilai_barang'));
    expect(hook.result.current.query).toMatchObject({ sort: 'estimasi_nilai_barang', order: 'desc' });
    await waitFor(() => expect(hook.result.current.loading).toBe(false));
  });

  it('searches once typing settles; reset clears filters and search but keeps the sort', async () => {
    const { hook, requests } = mount({ orders: [] });
    act(() => hook.result.current.setSearch('  budi '));
    expect(hook.result.current.search).toBe('  budi ');
    expect(hook.result.current.query.q).toBe('');
    await waitFor(() => expect(hook.result.current.query.q).toBe('budi'));
    await waitFor(() => expect(requests().at(-1)?.get('q')).toBe('budi'));

    act(() => {
      hook.result.current.changeFilters({ wilayah: 'Bandung' });
      hook.result.current.sortBy('nama_customer');
    });
    act(() => hook.result.current.resetFilters());
    expect(hook.result.current.search).toBe('');
    expect(hook.result.current.filters).toEqual({ ...DEFAULT_QUERY, sort: 'nama_customer', order: 'asc' });
    await waitFor(() => expect(hook.result.current.query.q).toBe(''));
  });

  it('keeps the address bar in step with the view and the open order', async () => {
    const { hook } = mount({ orders: [] }, { ...DEFAULT_QUERY, wilayah: 'Bandung' }, 'abc');
    expect(window.location.search).toBe('?wilayah=Bandung&order=abc');
    act(() => hook.result.current.changeFilters({ status: 'Verified' }));
    expect(window.location.search).toBe('?status=Verified&wilayah=Bandung&order=abc');
    hook.rerender({ id: null });
    expect(window.location.search).toBe('?status=Verified&wilayah=Bandung');
    await waitFor(() => expect(hook.result.current.loading).toBe(false));
  });

  it('applies live changes: a new order in view is reported, one outside it is not', async () => {
    const budi = makeOrder({ nama_customer: 'Budi Santoso', created_at: '2024-05-01T08:00:00Z' });
    const { hook } = mount({ orders: [budi] }, { ...DEFAULT_QUERY, wilayah: 'Jakarta' });
    await waitFor(() => expect(hook.result.current.tableState).toBe('ready'));

    const siti = makeOrder({ nama_customer: 'Siti Aminah', wilayah: 'Jakarta', created_at: '2024-05-02T08:00:00Z' });
    let inView = false;
    act(() => {
      inView = hook.result.current.applyLiveChange(change('order.created', siti));
    });
    expect(inView).toBe(true);
    expect(hook.result.current.page.orders.map((o) => o.nama_customer)).toEqual(['Siti Aminah', 'Budi Santoso']);

    const elsewhere = makeOrder({ wilayah: 'Bandung' });
    act(() => {
      inView = hook.result.current.applyLiveChange(change('order.created', elsewhere));
    });
    expect(inView).toBe(false);
    act(() => {
      inView = hook.result.current.applyLiveChange(change('order.verified', { ...budi, status: 'Verified' }));
    });
    expect(inView).toBe(false);
    expect(hook.result.current.page.orders.map((o) => o.status)).toEqual(['On Process', 'Verified']);
  });

  it('removes an order at once and counts it out of the total', async () => {
    const budi = makeOrder();
    const siti = makeOrder();
    const { hook } = mount({ orders: [budi, siti] });
    await waitFor(() => expect(hook.result.current.tableState).toBe('ready'));
    act(() => hook.result.current.removeOrder(budi.id));
    expect(hook.result.current.page.orders).toEqual([siti]);
    expect(hook.result.current.page.totalCount).toBe(1);
    const page = hook.result.current.page;
    act(() => hook.result.current.removeOrder('not-on-this-page'));
    expect(hook.result.current.page).toBe(page);
  });

  it('reloads the same page on reload', async () => {
    const { hook, fetch } = mount({ orders: [] });
    await waitFor(() => expect(hook.result.current.loading).toBe(false));
    act(() => hook.result.current.reload());
    expect(hook.result.current.loading).toBe(true);
    await waitFor(() => expect(hook.result.current.loading).toBe(false));
    expect(fetch).toHaveBeenCalledTimes(2);
  });
});
