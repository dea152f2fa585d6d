import { useCallback, useEffect, useRef, useState } from 'react';

import { useApi } from '../api/context';
import type { Stats } from '../api/types';
import { startRequest } from '../lib/request';
import type { Later } from './useLater';

const STATS_DEBOUNCE_MS = 1_000;

export interface StatsState {
  /** The last stats that arrived (kept while a reload fails). */
  data: Stats | null;
  /** Whether the last load failed. */
  error: boolean;
}

/**
 * The stats cards' and charts' numbers: loaded at once, again on `reload`, and at most once a
 * second on `reloadSoon` (live changes come in bursts).
 */
export function useStats(later: Later) {
  const api = useApi();
  const [stats, setStats] = useState<StatsState>({ data: null, error: false });
  const [tick, setTick] = useState(0);
  useEffect(
    () =>
      startRequest(
        (signal) => api.getStats(signal),
        (data) => setStats({ data, error: false }),
        () => setStats((s) => ({ ...s, error: true })),
      ),
    [api, tick],
  );

  const reload = useCallback(() => setTick((n) => n + 1), []);

  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const reloadSoon = useCallback(() => {
    if (timer.current) return;
    timer.current = later(() => {
      timer.current = null;
      setTick((n) => n + 1);
    }, STATS_DEBOUNCE_MS);
  }, [later]);

  return { stats, reload, reloadSoon };
}
