import { describe, expect, it } from 'vitest';

import type { OrderPage, OrderQuery } from '../api/types';
import { makeOrder } from '../test/helpers';
import { applyChange, matchesQuery } from './applyChange';

const QUERY: OrderQuery = { status: '', wilayah: '', q: '', sort: 'created_at', order: 'desc', limit: 50 };

function page(...orders: ReturnType<typeof makeOrder>[]): OrderPage {
  return { orders, nextCursor: null, totalCount: orders.length };
}

describe('matchesQuery', () => {
  it('mirrors the server filters', () => {
    const order = makeOrder({ status: 'Verified', wilayah: 'Bandung', nama_customer: 'Siti Aminah', email: 'siti@x.id' });
    expect(matchesQuery(order, QUERY)).toBe(true);
    expect(matchesQuery(order, { ...QUERY, status: 'On Process' })).toBe(false);
    expect(matchesQuery(order, { ...QUERY, wilayah: 'Jakarta' })).toBe(false);
    expect(matchesQuery(order, { ...QUERY, q: 'AMINAH' })).toBe(true);
    expect(matchesQuery(order, { ...QUERY, q: 'siti@x' })).toBe(true);
    expect(matchesQuery(order, { ...QUERY, q: 'budi' })).toBe(false);
    expect(matchesQuery({ ...order, status: 'Expired' }, QUERY)).toBe(false);
  });
});

describe('matchesQuery and erased orders', () => {
  it('keeps an erased order listed, though no search text matches it', () => {
    const erased = makeOrder({ nama_customer: null, email: null, nama_barang: null, data_dihapus: true });
    expect(matchesQuery(erased, QUERY)).toBe(true);
    expect(matchesQuery(erased, { ...QUERY, q: 'budi' })).toBe(false);
    // Not erased, creation not seen yet: not listed, as the server does.
    expect(matchesQuery({ ...erased, data_dihapus: false }, QUERY)).toBe(false);
  });

  it('blanks an order in place when its customer is erased, sorted by name or not', () => {
    const budi = makeOrder({ nama_customer: 'Budi Santoso' });
    const siti = makeOrder({ nama_customer: 'Siti Aminah' });
    const erased = { ...budi, nama_customer: null, email: null, nama_barang: null, data_dihapus: true };
    for (const query of [QUERY, { ...QUERY, sort: 'nama_customer' as const, order: 'asc' as const }]) {
      const result = applyChange(page(budi, siti), erased, query, { firstPage: true, created: false });
      expect(result.effect).toBe('updated');
      expect(result.page.orders).toEqual([erased, siti]);
      expect(result.page.totalCount).toBe(2);
    }
  });
});

describe('applyChange', () => {
  const older = makeOrder({ created_at: '2024-05-01T08:00:00Z' });
  const newer = makeOrder({ created_at: '2024-05-02T08:00:00Z' });

  it('replaces an order on the page in place', () => {
    const updated = { ...older, status: 'On Verification' as const };
    const result = applyChange(page(newer, older), updated, QUERY, { firstPage: true, created: false });
    expect(result.effect).toBe('updated');
    expect(result.page.orders.map((o) => o.status)).toEqual(['On Process', 'On Verification']);
  });

  it('removes orders that leave the list or the filter', () => {
    const gone = applyChange(page(newer, older), { ...older, status: 'Deleted' }, QUERY, { firstPage: true, created: false });
    expect(gone.effect).toBe('removed');
    expect(gone.page.orders).toEqual([newer]);
    expect(gone.page.totalCount).toBe(1);

    const filtered = { ...QUERY, status: 'On Process' as const };
    const moved = applyChange(page(newer), { ...newer, status: 'On Verification' }, filtered, { firstPage: true, created: false });
    expect(moved.effect).toBe('removed');
  });

  it('inserts a new order where the sort puts it', () => {
    const newest = makeOrder({ created_at: '2024-05-03T08:00:00Z' });
    const result = applyChange(page(newer, older), newest, QUERY, { firstPage: true, created: true });
    expect(result.effect).toBe('inserted');
    expect(result.page.orders.map((o) => o.id)).toEqual([newest.id, newer.id, older.id]);
    expect(result.page.totalCount).toBe(3);

    const byValue = { ...QUERY, sort: 'estimasi_nilai_barang' as const, order: 'asc' as const };
    const cheap = makeOrder({ estimasi_nilai_barang: 1 });
    const mid = makeOrder({ estimasi_nilai_barang: 500 });
    const dear = makeOrder({ estimasi_nilai_barang: 1000 });
    const sorted = applyChange(page(cheap, dear), mid, byValue, { firstPage: true, created: true });
    expect(sorted.page.orders.map((o) => o.id)).toEqual([cheap.id, mid.id, dear.id]);
  });

  it('leaves new orders that belong to another page or another filter alone', () => {
    const newest = makeOrder({ created_at: '2024-05-03T08:00:00Z' });
    expect(applyChange(page(newer, older), newest, QUERY, { firstPage: false, created: true }).effect).toBe('none');

    const oldest = makeOrder({ created_at: '2024-04-01T08:00:00Z' });
    const more = { ...page(newer, older), nextCursor: 'c' };
    expect(applyChange(more, oldest, QUERY, { firstPage: true, created: true }).effect).toBe('none');

    const elsewhere = makeOrder({ wilayah: 'Medan' });
    expect(applyChange(page(newer), elsewhere, { ...QUERY, wilayah: 'Jakarta' }, { firstPage: true, created: true }).effect).toBe('none');
    expect(applyChange(page(newer), makeOrder(), QUERY, { firstPage: true, created: false }).effect).toBe('none');
  });
});
