import { useEffect, useState } from 'react';

import type { Order } from '../api/types';
import { resendReadyAt } from '../lib/actions';

type Overrides = Readonly<Record<string, number>>;

function cooling(orders: readonly Order[], overrides: Overrides, cooldownMs: number, now: number): boolean {
  return orders.some((o) => o.status === 'On Verification' && resendReadyAt(o, overrides[o.id], cooldownMs) > now);
}

/**
 * The current time for the resend cool-downs on screen: brought up to date whenever the orders
 * change, and ticking every second only while one of them is cooling down.
 */
export function useCooldownClock(orders: readonly Order[], overrides: Overrides, cooldownMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    let interval: ReturnType<typeof setInterval> | null = null;
    const tick = () => {
      const current = Date.now();
      setNow(current);
      if (!cooling(orders, overrides, cooldownMs, current) && interval !== null) {
        clearInterval(interval);
        interval = null;
      }
    };
    const first = setTimeout(tick, 0);
    if (cooling(orders, overrides, cooldownMs, Date.now())) interval = setInterval(tick, 1000);
    return () => {
      clearTimeout(first);
      if (interval !== null) clearInterval(interval);
    };
  }, [orders, overrides, cooldownMs]);
  return now;
}
