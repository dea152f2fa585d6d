import { useEffect, useRef } from 'react';

import type { ConnectionState } from './useLiveFeed';

/**
 * Calls `onReconnect` when the feed is live again after a drop (not on the first connection).
 * The feed's replay after a reconnect covers orders only, so what else the page shows reloads.
 */
export function useOnReconnect(connection: ConnectionState, onReconnect: () => void): void {
  const phase = useRef<'never' | 'live' | 'dropped'>('never');
  useEffect(() => {
    if (connection === 'live') {
      if (phase.current === 'dropped') onReconnect();
      phase.current = 'live';
    } else if (phase.current === 'live') {
      phase.current = 'dropped';
    }
  }, [connection, onReconnect]);
}
