/**
 * The live feed: an EventSource on `/dashboard/events` with its connection state.
 *
 * - `live` once the stream is open; `connecting` while (re)connecting; `offline` after two
 *   failed attempts in a row or once the browser gave up (the page then polls).
 * - The browser reconnects by itself and sends `Last-Event-ID`, so the server replays what
 *   changed meanwhile. When the browser gives up, a new EventSource is made after a back-off.
 * - A `ready` after the first one means the server could not replay (or had nothing to): the
 *   page reloads to be sure, as it does on `resync`.
 * - A `handoff` event says a hand-off was opened or closed (for the hand-off queue).
 */
import { useEffect, useRef, useState } from 'react';

import type { ChangeEvent, HandoffEvent } from '../api/types';

export type ConnectionState = 'connecting' | 'live' | 'offline';

/** The part of EventSource the feed uses (a fake one in tests). */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((this: EventSource, ev: Event) => unknown) | null;
  onerror: ((this: EventSource, ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

export interface LiveFeedHandlers {
  onChange: (change: ChangeEvent) => void;
  /** Reload everything: the feed could not say what changed. */
  onResync: () => void;
  /** A hand-off was opened or closed. */
  onHandoff?: (event: HandoffEvent) => void;
}

const CLOSED = 2;
const RECONNECT_DELAYS_MS = [1000, 3000, 10000, 30000];

const browserEventSource: EventSourceFactory = (url) => new EventSource(url);

function parseChange(data: string): ChangeEvent | null {
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value !== 'object' || value === null) return null;
    const record = value as Record<string, unknown>;
    if (typeof record.order_id !== 'string' || typeof record.order !== 'object' || record.order === null) return null;
    return value as ChangeEvent;
  } catch {
    return null;
  }
}

function parseHandoff(data: string): HandoffEvent | null {
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value !== 'object' || value === null) return null;
    const handoff = (value as Record<string, unknown>).handoff;
    if (typeof handoff !== 'object' || handoff === null) return null;
    if (typeof (handoff as Record<string, unknown>).id !== 'string') return null;
    return value as HandoffEvent;
  } catch {
    return null;
  }
}

export function useLiveFeed(
  url: string,
  handlers: LiveFeedHandlers,
  createEventSource: EventSourceFactory = browserEventSource,
): ConnectionState {
  const [state, setState] = useState<ConnectionState>('connecting');
  const handlersRef = useRef(handlers);
  useEffect(() => {
    handlersRef.current = handlers;
  }, [handlers]);

  useEffect(() => {
    let source: EventSourceLike | null = null;
    let retryTimer: ReturnType<typeof setTimeout> | null = null;
    let attempt = 0;
    let failures = 0;
    let readySeen = false;
    let stopped = false;

    function connect() {
      if (stopped) return;
      setState(failures >= 2 ? 'offline' : 'connecting');
      const es = createEventSource(url);
      source = es;
      es.onopen = () => {
        attempt = 0;
        failures = 0;
        setState('live');
      };
      es.onerror = () => {
        failures += 1;
        if (es.readyState === CLOSED) {
          es.close();
          setState('offline');
          const delay = RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)] ?? 30000;
          attempt += 1;
          retryTimer = setTimeout(connect, delay);
        } else {
          setState(failures >= 2 ? 'offline' : 'connecting');
        }
      };
      es.addEventListener('ready', () => {
        failures = 0;
        setState('live');
        if (readySeen) handlersRef.current.onResync();
        readySeen = true;
      });
      es.addEventListener('change', (event) => {
        const change = parseChange(event.data);
        if (change) handlersRef.current.onChange(change);
      });
      es.addEventListener('handoff', (event) => {
        const handoff = parseHandoff(event.data);
        if (handoff) handlersRef.current.onHandoff?.(handoff);
      });
      es.addEventListener('resync', () => {
        readySeen = true;
        handlersRef.current.onResync();
      });
    }

    connect();
    return () => {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      source?.close();
    };
  }, [url, createEventSource]);

  return state;
}
