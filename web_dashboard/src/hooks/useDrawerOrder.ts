import { useCallback, useEffect, useRef, useState } from 'react';

import type { ChangeEvent } from '../api/types';

/**
 * The order open in the detail drawer, and a version that goes up whenever the live feed reports
 * a change to it (the drawer then reloads its history).
 */
export function useDrawerOrder(initialId: string | null) {
  const [selectedId, setSelectedId] = useState<string | null>(initialId);
  const [version, setVersion] = useState(0);
  const selectedRef = useRef(selectedId);
  useEffect(() => {
    selectedRef.current = selectedId;
  }, [selectedId]);

  const onFeedChange = useCallback((change: ChangeEvent) => {
    if (selectedRef.current === change.order.id) setVersion((v) => v + 1);
  }, []);
  const close = useCallback(() => setSelectedId(null), []);

  return { selectedId, version, open: setSelectedId, close, onFeedChange };
}
