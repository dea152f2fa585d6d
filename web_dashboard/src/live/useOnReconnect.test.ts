import { renderHook } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import type { ConnectionState } from './useLiveFeed';
import { useOnReconnect } from './useOnReconnect';

describe('useOnReconnect', () => {
  it('calls back when the feed is live again after a drop, not on the first connection', () => {
    const onReconnect = vi.fn();
    const hook = renderHook(({ state }: { state: ConnectionState }) => useOnReconnect(state, onReconnect), {
      initialProps: { state: 'connecting' },
    });
    hook.rerender({ state: 'live' });
    expect(onReconnect).not.toHaveBeenCalled();
    hook.rerender({ state: 'connecting' });
    hook.rerender({ state: 'offline' });
    expect(onReconnect).not.toHaveBeenCalled();
    hook.rerender({ state: 'live' });
    expect(onReconnect).toHaveBeenCalledTimes(1);
    hook.rerender({ state: 'live' });
    expect(onReconnect).toHaveBeenCalledTimes(1);
  });
});
