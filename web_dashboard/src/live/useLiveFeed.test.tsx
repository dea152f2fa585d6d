import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { FakeEventSource, createFakeEventSource, makeHandoff, makeOrder } from '../test/helpers';
import { useLiveFeed } from './useLiveFeed';

beforeEach(() => FakeEventSource.reset());
afterEach(() => vi.useRealTimers());

function mount() {
  const handlers = { onChange: vi.fn(), onResync: vi.fn(), onHandoff: vi.fn() };
  const hook = renderHook(() => useLiveFeed('/dashboard/events', handlers, createFakeEventSource));
  return { handlers, hook };
}

describe('useLiveFeed', () => {
  it('passes change events on and ignores malformed ones', () => {
    const { handlers, hook } = mount();
    const es = FakeEventSource.latest();
    expect(hook.result.current).toBe('connecting');
    act(() => es.emit('ready', '{}'));
    expect(hook.result.current).toBe('live');

    const order = makeOrder();
    act(() => es.emit('change', { seq: 7, type: 'order.created', order_id: order.id, order }, '7'));
    act(() => es.emit('change', 'not json'));
    act(() => es.emit('change', { seq: 8 }));
    expect(handlers.onChange).toHaveBeenCalledTimes(1);
    expect(handlers.onChange).toHaveBeenCalledWith({ seq: 7, type: 'order.created', order_id: order.id, order });
    expect(handlers.onResync).not.toHaveBeenCalled();
  });

  it('passes handoff events to onHandoff, not to onChange, and ignores malformed ones', () => {
    const { handlers } = mount();
    const es = FakeEventSource.latest();
    act(() => es.emit('ready', '{}'));
    const handoff = makeHandoff();
    const event = { seq: 9, type: 'customer.handoff_opened', order_id: handoff.id, order: null, handoff };
    act(() => es.emit('handoff', event, '9'));
    act(() => es.emit('handoff', 'not json'));
    act(() => es.emit('handoff', { seq: 10, type: 'customer.handoff_closed', handoff: null }));
    act(() => es.emit('handoff', { seq: 11, handoff: { id: 5 } }));
    expect(handlers.onHandoff).toHaveBeenCalledTimes(1);
    expect(handlers.onHandoff).toHaveBeenCalledWith(event);
    expect(handlers.onChange).not.toHaveBeenCalled();
    expect(handlers.onResync).not.toHaveBeenCalled();
  });

  it('works without an onHandoff handler', () => {
    const onChange = vi.fn();
    renderHook(() => useLiveFeed('/dashboard/events', { onChange, onResync: vi.fn() }, createFakeEventSource));
    const es = FakeEventSource.latest();
    const handoff = makeHandoff();
    expect(() => {
      act(() => es.emit('handoff', { seq: 1, type: 'customer.handoff_opened', order_id: handoff.id, order: null, handoff }));
    }).not.toThrow();
    expect(onChange).not.toHaveBeenCalled();
  });

  it('reloads on resync and on a fresh ready after a reconnect', () => {
    const { handlers } = mount();
    const es = FakeEventSource.latest();
    act(() => es.emit('ready', '{}'));
    act(() => es.emit('resync', '{}'));
    expect(handlers.onResync).toHaveBeenCalledTimes(1);
    act(() => es.emit('ready', '{}'));
    expect(handlers.onResync).toHaveBeenCalledTimes(2);
  });

  it('goes offline when the browser gives up, and reconnects with back-off', () => {
    vi.useFakeTimers();
    const { hook } = mount();
    const first = FakeEventSource.latest();
    act(() => first.open());
    expect(hook.result.current).toBe('live');

    act(() => first.fail(false));
    expect(hook.result.current).toBe('connecting');
    act(() => first.fail(false));
    expect(hook.result.current).toBe('offline');
    act(() => first.fail(true));
    expect(first.closed).toBe(true);
    expect(FakeEventSource.instances).toHaveLength(1);

    act(() => {
      vi.advanceTimersByTime(1000);
    });
    expect(FakeEventSource.instances).toHaveLength(2);
    const second = FakeEventSource.latest();
    act(() => second.open());
    expect(hook.result.current).toBe('live');
  });

  it('closes the stream on unmount', () => {
    const { hook } = mount();
    const es = FakeEventSource.latest();
    hook.unmount();
    expect(es.closed).toBe(true);
  });
});
