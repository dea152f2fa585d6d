import { renderHook } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { useLater } from './useLater';

afterEach(() => vi.useRealTimers());

describe('useLater', () => {
  it('runs a callback after its delay', () => {
    vi.useFakeTimers();
    const { result } = renderHook(() => useLater());
    const fn = vi.fn();
    result.current(fn, 1000);
    vi.advanceTimersByTime(999);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('clears the timers still pending when the component unmounts', () => {
    vi.useFakeTimers();
    const { result, unmount } = renderHook(() => useLater());
    const done = vi.fn();
    const pending = vi.fn();
    result.current(done, 10);
    result.current(pending, 5000);
    vi.advanceTimersByTime(10);
    unmount();
    vi.advanceTimersByTime(10_000);
    expect(done).toHaveBeenCalledTimes(1);
    expect(pending).not.toHaveBeenCalled();
  });

  it('keeps the same function across renders', () => {
    const { result, rerender } = renderHook(() => useLater());
    const first = result.current;
    rerender();
    expect(result.current).toBe(first);
  });
});
