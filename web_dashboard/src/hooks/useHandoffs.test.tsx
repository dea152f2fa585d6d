import { act, renderHook, screen, waitFor } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { createApiClient } from '../api/client';
import type { Handoff } from '../api/types';
import { useLiveOrders } from '../live/useLiveOrders';
import {
  ADMIN_SESSION,
  FakeEventSource,
  createFakeEventSource,
  fakeFetch,
  jsonResponse,
  makeHandoff,
  providersWith,
  urlOf,
} from '../test/helpers';
import { useHandoffs } from './useHandoffs';

beforeEach(() => FakeEventSource.reset());

/** A server whose open queue the test changes; `closeAnswer` answers every close. */
function server(initial: Handoff[]) {
  const state = {
    open: initial,
    closeAnswer: (id: string): Response => jsonResponse({ handoff_id: id, message: 'ok' }),
  };
  const fetch = fakeFetch((url, init) => {
    const method = init.method ?? 'GET';
    if (url.pathname === '/dashboard/handoffs' && method === 'GET') {
      return jsonResponse({ items: state.open, open: state.open.length });
    }
    const close = /^\/dashboard\/handoffs\/([^/]+)\/close$/.exec(url.pathname);
    if (close?.[1] && method === 'POST') return state.closeAnswer(decodeURIComponent(close[1]));
    return undefined;
  });
  const client = createApiClient({ fetch, getCsrfToken: () => ADMIN_SESSION.csrfToken });
  const calls = (path: string, method = 'GET') =>
    fetch.mock.calls.filter(([input, init]) => urlOf(input).pathname === path && (init?.method ?? 'GET') === method);
  return { state, fetch, client, calls };
}

describe('useHandoffs', () => {
  it('loads the open hand-offs, oldest first as the server lists them', async () => {
    const first = makeHandoff({ nama_customer: 'Siti' });
    const second = makeHandoff({ nama_customer: 'Budi' });
    const { client } = server([first, second]);
    const hook = renderHook(() => useHandoffs(), { wrapper: providersWith({ client }) });
    expect(hook.result.current.items).toBeNull();
    await waitFor(() => expect(hook.result.current.items).toEqual([first, second]));
    expect(hook.result.current.open).toBe(2);
    expect(hook.result.current.error).toBe(false);
  });

  it('closes one at once, with the CSRF header, and toasts it', async () => {
    const first = makeHandoff({ nama_customer: 'Siti' });
    const second = makeHandoff({ nama_customer: 'Budi' });
    const { state, client, calls } = server([first, second]);
    const hook = renderHook(() => useHandoffs(), { wrapper: providersWith({ client }) });
    await waitFor(() => expect(hook.result.current.items).toHaveLength(2));

    let closing: Promise<void> = Promise.resolve();
    act(() => {
      closing = hook.result.current.close(first);
    });
    // Gone before the server answered.
    expect(hook.result.current.items).toEqual([second]);
    expect(hook.result.current.open).toBe(1);
    await act(() => closing);
    const [, init] = calls(`/dashboard/handoffs/${first.id}/close`, 'POST')[0] ?? [];
    expect((init?.headers as Record<string, string>)['X-CSRF-Token']).toBe('csrf-admin');
    expect(await screen.findByText('Permintaan Siti ditandai sudah dihubungi')).toBeInTheDocument();

    // A reload while the projection still lists it keeps it hidden; once it is gone, it stays gone.
    act(() => hook.result.current.reload());
    await waitFor(() => expect(calls('/dashboard/handoffs')).toHaveLength(2));
    expect(hook.result.current.items).toEqual([second]);
    state.open = [second];
    act(() => hook.result.current.reload());
    await waitFor(() => expect(calls('/dashboard/handoffs')).toHaveLength(3));
    expect(hook.result.current.items).toEqual([second]);
    expect(hook.result.current.open).toBe(1);
  });

  it('puts a hand-off back and toasts the error when the close fails', async () => {
    const handoff = makeHandoff();
    const { state, client, calls } = server([handoff]);
    state.closeAnswer = () => jsonResponse({ detail: 'stream busy' }, { status: 503 });
    const hook = renderHook(() => useHandoffs(), { wrapper: providersWith({ client }) });
    await waitFor(() => expect(hook.result.current.items).toHaveLength(1));

    await act(() => hook.result.current.close(handoff));
    expect(hook.result.current.items).toEqual([handoff]);
    expect(hook.result.current.open).toBe(1);
    expect(await screen.findByText('Gagal: stream busy')).toBeInTheDocument();
    // And it asks again what is open.
    await waitFor(() => expect(calls('/dashboard/handoffs')).toHaveLength(2));
  });

  it('reloads when the live feed reports a hand-off', async () => {
    const first = makeHandoff({ nama_customer: 'Siti' });
    const { state, client, calls } = server([first]);
    const hook = renderHook(
      () => {
        const handoffs = useHandoffs();
        useLiveOrders(vi.fn(), vi.fn(), createFakeEventSource, handoffs.reload);
        return handoffs;
      },
      { wrapper: providersWith({ client }) },
    );
    await waitFor(() => expect(hook.result.current.items).toHaveLength(1));
    expect(calls('/dashboard/handoffs')).toHaveLength(1);

    const arrived = makeHandoff({ nama_customer: 'Budi' });
    state.open = [first, arrived];
    const es = FakeEventSource.latest();
    act(() => es.open());
    act(() => es.emit('handoff', { seq: 3, type: 'customer.handoff_opened', order_id: arrived.id, order: null, handoff: arrived }));
    await waitFor(() => expect(hook.result.current.items).toEqual([first, arrived]));
    expect(hook.result.current.open).toBe(2);
    expect(calls('/dashboard/handoffs')).toHaveLength(2);
  });

  it('keeps the last queue and says so when a reload fails', async () => {
    const handoff = makeHandoff();
    let down = false;
    const fetch = fakeFetch((url) => {
      if (url.pathname !== '/dashboard/handoffs') return undefined;
      return down ? jsonResponse({ detail: 'down' }, { status: 503 }) : jsonResponse({ items: [handoff], open: 1 });
    });
    const hook = renderHook(() => useHandoffs(), { wrapper: providersWith({ client: createApiClient({ fetch }) }) });
    await waitFor(() => expect(hook.result.current.items).toHaveLength(1));
    down = true;
    act(() => hook.result.current.reload());
    await waitFor(() => expect(hook.result.current.error).toBe(true));
    expect(hook.result.current.items).toEqual([handoff]);
  });
});
