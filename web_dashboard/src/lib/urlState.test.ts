import { describe, expect, it } from 'vitest';

import { DEFAULT_QUERY, readUrlState, writeUrlState } from './urlState';

describe('URL state', () => {
  it('round-trips the filters and the open order', () => {
    const query = { ...DEFAULT_QUERY, status: 'Verified' as const, wilayah: 'Jawa Barat', q: 'emas', sort: 'nama_customer' as const, order: 'desc' as const, limit: 100 };
    const search = writeUrlState(query, 'abc');
    expect(readUrlState(search)).toEqual({ query, orderId: 'abc' });
    expect(writeUrlState(DEFAULT_QUERY, null)).toBe('');
  });

  it('ignores values the API would refuse', () => {
    expect(readUrlState('?status=Expired&sort=id&dir=up&limit=5000').query).toEqual(DEFAULT_QUERY);
  });
});
