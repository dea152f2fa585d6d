import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { FakeEventSource, createFakeEventSource, makeHandoff, makeOrder, providersWith } from '../test/helpers';
import { useLiveOrders } from './useLiveOrders';

beforeEach(() => FakeEventSource.reset());
afterEach(() => vi.useRealTimers());

function mount() {
  const onChange = vi.fn();
  const onReload = vi.fn();
  const onHandoff = vi.fn();
  const hook = renderHook(() => useLiveOrders(onChange, onReload, createFakeEventSource, onHandoff), {
    wrapper: providersWith(),
  });
  return { hook, onChange, onReload, onHandoff };
}

describe('useLiveOrders', () => {
  it('listens on the events URL and passes changes on', () => {
    const { hook, onChange } = mount();
    const es = FakeEventSource.latest();
    expect(es.url).toBe('/dashboard/events');
    act(() => es.open());
    expect(hook.result.current).toBe('live');
    const order = makeOrder();
    act(() => es.emit('change', { seq: 1, type: 'order.created', order_id: order.id, order }));
    expect(onChange).toHaveBeenCalledWith({ seq: 1, type: 'order.created', order_id: order.id, order });
  });

  it('passes hand-off events on', () => {
    const { onChange, onReload, onHandoff } = mount();
    const es = FakeEventSource.latest();
    act(() => es.open());
    const handoff = makeHandoff();
    const event = { seq: 2, type: 'customer.handoff_closed', order_id: handoff.id, order: null, handoff };
    act(() => es.emit('handoff', event));
    expect(onHandoff).toHaveBeenCalledWith(event);
    expect(onChange).not.toHaveBeenCalled();
    expect(onReload).not.toHaveBeenCalled();
  });

  it('reloads every 30 s while the feed is not live, and on resync', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { onReload } = mount();
    const es = FakeEventSource.latest();
    act(() => {
      vi.advanceTimersByTime(30_000);
    });
    expect(onReload).toHaveBeenCalledTimes(1);

    act(() => es.open());
    act(() => {
      vi.advanceTimersByTime(60_000);
    });
    expect(onReload).toHaveBeenCalledTimes(1);

    act(() => es.emit('resync', '{}'));
    expect(onReload).toHaveBeenCalledTimes(2);

    act(() => es.fail(true));
    act(() => {
      vi.advanceTimersByTime(30_000);
    });
    expect(onReload).toHaveBeenCalledTimes(3);
  });
});
