import { useCallback, useEffect, useRef } from 'react';

import type { Order } from '../api/types';

/**
 * After a deletion the row (and the focused button in it) is gone: focus goes to the heading the
 * returned ref is put on, unless something else took it meanwhile. `expectDeletion` is called
 * just before the row is taken off `orders`.
 */
export function useFocusAfterDelete(orders: readonly Order[]) {
  const heading = useRef<HTMLHeadingElement>(null);
  const pending = useRef(false);
  useEffect(() => {
    if (!pending.current) return;
    pending.current = false;
    if (document.activeElement === document.body || document.activeElement === null) heading.current?.focus();
  }, [orders]);
  const expectDeletion = useCallback(() => {
    pending.current = true;
  }, []);
  return { heading, expectDeletion };
}
