import { useEffect, useMemo } from 'react';

import { useApi } from '../api/context';
import type { ChangeEvent, HandoffEvent } from '../api/types';
import { useLiveFeed, type ConnectionState, type EventSourceFactory } from './useLiveFeed';

export const POLL_INTERVAL_MS = 30_000;

/**
 * The dashboard's live feed: each change goes to `onChange`, each hand-off event to `onHandoff`;
 * `onReload` runs when the feed cannot say what changed (resync) and every 30 s while the feed
 * is not live.
 */
export function useLiveOrders(
  onChange: (change: ChangeEvent) => void,
  onReload: () => void,
  createEventSource?: EventSourceFactory,
  onHandoff?: (event: HandoffEvent) => void,
): ConnectionState {
  const api = useApi();
  const handlers = useMemo(() => ({ onChange, onResync: onReload, onHandoff }), [onChange, onReload, onHandoff]);
  const connection = useLiveFeed(api.eventsUrl(), handlers, createEventSource);

  useEffect(() => {
    if (connection === 'live') return;
    const timer = setInterval(onReload, POLL_INTERVAL_MS);
    return () => clearInterval(timer);
  }, [connection, onReload]);

  return connection;
}
