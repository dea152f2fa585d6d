import { act, renderHook } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { makeOrder } from '../test/helpers';
import { useDrawerOrder } from './useDrawerOrder';

describe('useDrawerOrder', () => {
  it('opens and closes, and bumps the version only for changes to the open order', () => {
    const budi = makeOrder();
    const siti = makeOrder();
    const { result } = renderHook(() => useDrawerOrder(null));
    expect(result.current.selectedId).toBeNull();

    act(() => result.current.open(budi.id));
    expect(result.current.selectedId).toBe(budi.id);
    act(() => result.current.onFeedChange({ seq: 1, type: 'order.verified', order_id: siti.id, order: siti }));
    expect(result.current.version).toBe(0);
    act(() => result.current.onFeedChange({ seq: 2, type: 'order.verified', order_id: budi.id, order: budi }));
    expect(result.current.version).toBe(1);

    act(() => result.current.close());
    expect(result.current.selectedId).toBeNull();
    act(() => result.current.onFeedChange({ seq: 3, type: 'order.expired', order_id: budi.id, order: budi }));
    expect(result.current.version).toBe(1);
  });

  it('starts with the order the address named', () => {
    const { result } = renderHook(() => useDrawerOrder('abc'));
    expect(result.current.selectedId).toBe('abc');
  });
});
