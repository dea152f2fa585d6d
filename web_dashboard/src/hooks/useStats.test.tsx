import { act, renderHook, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { createApiClient } from '../api/client';
import { fakeFetch, jsonResponse, makeStats, providersWith } from '../test/helpers';
import type { Later } from './useLater';
import { useStats } from './useStats';

/** A `later` whose callbacks the test runs by hand. */
function manualLater() {
  const pending: { fn: () => void; ms: number }[] = [];
  const later: Later = (fn, ms) => {
    pending.push({ fn, ms });
    return setTimeout(() => undefined, 0);
  };
  const runAll = () => {
    for (const { fn } of pending.splice(0)) fn();
  };
  return { later, pending, runAll };
}

function mount(answers: (() => Response)[]) {
  let n = 0;
  const fetch = fakeFetch((url) => {
    if (url.pathname !== '/dashboard/stats') return undefined;
    const answer = answers[Math.min(n, answers.length - 1)]!;
    n += 1;
    return answer();
  });
  const timers = manualLater();
  const hook = renderHook(() => useStats(timers.later), { wrapper: providersWith({ client: createApiClient({ fetch }) }) });
  return { fetch, hook, timers };
}

describe('useStats', () => {
  it('loads the stats, and keeps the last ones when a reload fails', async () => {
    const { hook, fetch } = mount([
      () => jsonResponse(makeStats({ total: 7 })),
      () => jsonResponse({ detail: 'down' }, { status: 503 }),
      () => jsonResponse(makeStats({ total: 8 })),
    ]);
    expect(hook.result.current.stats).toEqual({ data: null, error: false });
    await waitFor(() => expect(hook.result.current.stats.data?.total).toBe(7));

    act(() => hook.result.current.reload());
    await waitFor(() => expect(hook.result.current.stats.error).toBe(true));
    expect(hook.result.current.stats.data?.total).toBe(7);

    act(() => hook.result.current.reload());
    await waitFor(() => expect(hook.result.current.stats).toEqual({ data: expect.objectContaining({ total: 8 }) as unknown, error: false }));
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it('reloads once per second at most on reloadSoon', async () => {
    const { hook, fetch, timers } = mount([() => jsonResponse(makeStats())]);
    await waitFor(() => expect(hook.result.current.stats.data).not.toBeNull());
    expect(fetch).toHaveBeenCalledTimes(1);

    act(() => {
      hook.result.current.reloadSoon();
      hook.result.current.reloadSoon();
      hook.result.current.reloadSoon();
    });
    expect(timers.pending).toHaveLength(1);
    expect(timers.pending[0]?.ms).toBe(1000);
    expect(fetch).toHaveBeenCalledTimes(1);

    act(() => timers.runAll());
    await waitFor(() => expect(fetch).toHaveBeenCalledTimes(2));

    // Once the reload ran, the next change schedules another one.
    act(() => hook.result.current.reloadSoon());
    expect(timers.pending).toHaveLength(1);
  });

  it('keeps reload and reloadSoon the same across renders', () => {
    const { hook } = mount([() => jsonResponse(makeStats())]);
    const { reload, reloadSoon } = hook.result.current;
    hook.rerender();
    expect(hook.result.current.reload).toBe(reload);
    expect(hook.result.current.reloadSoon).toBe(reloadSoon);
  });
});
