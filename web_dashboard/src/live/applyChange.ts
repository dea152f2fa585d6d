/**
 * Applying one live change to the page on screen, without asking the server: the changed order
 * is replaced where it is, removed when it no longer belongs (expired, deleted, filtered out),
 * or inserted where the current sort puts it when it belongs to this page.
 */
import { isActiveStatus, type Order, type OrderPage, type OrderQuery } from '../api/types';

export type ChangeEffect = 'updated' | 'inserted' | 'removed' | 'none';

/**
 * Whether `order` would be in the list for `query` (the server's filters, mirrored). An order
 * whose creation the projection has not seen yet is not listed; an erased one is (its personal
 * fields are null for good, and no search text matches them).
 */
export function matchesQuery(order: Order, query: OrderQuery): boolean {
  if (!isActiveStatus(order.status)) return false;
  if (order.nama_customer === null && !order.data_dihapus) return false;
  if (query.status && order.status !== query.status) return false;
  if (query.wilayah && order.wilayah?.trim() !== query.wilayah.trim()) return false;
  const q = query.q.trim().toLowerCase();
  if (q) {
    const haystack = [order.nama_customer, order.nama_barang, order.email]
      .filter((v): v is string => typeof v === 'string')
      .join('\n')
      .toLowerCase();
    if (!haystack.includes(q)) return false;
  }
  return true;
}

function sortValue(order: Order, query: OrderQuery): number | string {
  switch (query.sort) {
    case 'created_at':
      return order.created_at ? Date.parse(order.created_at) : 0;
    case 'estimasi_nilai_barang':
      return order.estimasi_nilai_barang ?? 0;
    case 'nama_customer':
      return order.nama_customer ?? '';
  }
}

/** Negative when `a` comes before `b` in the list for `query` (ties broken by id, as the server does). */
export function compareOrders(a: Order, b: Order, query: OrderQuery): number {
  const va = sortValue(a, query);
  const vb = sortValue(b, query);
  let cmp = va < vb ? -1 : va > vb ? 1 : 0;
  if (cmp === 0) cmp = a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  return query.order === 'desc' ? -cmp : cmp;
}

export function applyChange(
  page: OrderPage,
  order: Order,
  query: OrderQuery,
  options: { firstPage: boolean; created: boolean },
): { page: OrderPage; effect: ChangeEffect } {
  const index = page.orders.findIndex((o) => o.id === order.id);
  const belongs = matchesQuery(order, query);
  const adjustTotal = (delta: number) =>
    page.totalCount === null ? null : Math.max(0, page.totalCount + delta);

  if (index >= 0) {
    if (belongs) {
      const orders = page.orders.slice();
      orders[index] = order;
      return { page: { ...page, orders }, effect: 'updated' };
    }
    return {
      page: {
        ...page,
        orders: page.orders.filter((o) => o.id !== order.id),
        totalCount: adjustTotal(-1),
      },
      effect: 'removed',
    };
  }

  if (!belongs) return { page, effect: 'none' };
  // Only orders that are new to the list can appear; an updated order that is not on this page
  // belongs to another one.
  if (!options.created) return { page, effect: 'none' };

  const totalCount = adjustTotal(1);
  const position = page.orders.findIndex((o) => compareOrders(order, o, query) < 0);
  const atEnd = position === -1;
  if (atEnd && page.nextCursor !== null) return { page: { ...page, totalCount }, effect: 'none' };
  if (position === 0 && !options.firstPage) return { page: { ...page, totalCount }, effect: 'none' };
  const orders = page.orders.slice();
  orders.splice(atEnd ? orders.length : position, 0, order);
  return { page: { ...page, orders, totalCount }, effect: 'inserted' };
}
