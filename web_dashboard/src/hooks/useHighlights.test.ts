import { act, renderHook } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { useHighlights } from './useHighlights';
import { useLater } from './useLater';

afterEach(() => vi.useRealTimers());

describe('useHighlights', () => {
  it('marks a row for five seconds', () => {
    vi.useFakeTimers();
    const { result } = renderHook(() => useHighlights(useLater()));
    act(() => result.current.highlight('a'));
    act(() => {
      vi.advanceTimersByTime(2_000);
    });
    act(() => result.current.highlight('b'));
    expect([...result.current.highlighted]).toEqual(['a', 'b']);
    act(() => {
      vi.advanceTimersByTime(3_000);
    });
    expect([...result.current.highlighted]).toEqual(['b']);
    act(() => {
      vi.advanceTimersByTime(2_000);
    });
    expect(result.current.highlighted.size).toBe(0);
  });
});
