import { useCallback, useEffect, useRef } from 'react';

export type Later = (fn: () => void, ms: number) => ReturnType<typeof setTimeout>;

/** `setTimeout` for a component: every timer still pending when it unmounts is cleared. */
export function useLater(): Later {
  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());
  const later = useCallback<Later>((fn, ms) => {
    const timer = setTimeout(() => {
      timers.current.delete(timer);
      fn();
    }, ms);
    timers.current.add(timer);
    return timer;
  }, []);
  useEffect(() => {
    const pending = timers.current;
    return () => {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
    };
  }, []);
  return later;
}
