/**
 * The queue of open hand-offs (conversations the agent handed to an officer): loaded at once, and
 * again on `reload` (the page calls it on a `handoff` live event, on resync and reconnect, and
 * every 30 s while the feed is down). `close` marks one contacted: it leaves the list at once and
 * comes back, with an error toast, if the server refuses.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';

import { useApi } from '../api/context';
import type { Handoff, HandoffQueue } from '../api/types';
import { useToast } from '../components/toast/context';
import { useI18n } from '../i18n/context';
import { errorMessage } from '../lib/errors';
import { customerLabel } from '../lib/privacy';
import { startRequest } from '../lib/request';
import { withoutKey } from '../lib/sets';

export interface HandoffsState {
  /** The open hand-offs, oldest first, without those being closed; null until the first load. */
  items: Handoff[] | null;
  /** How many are open in all (the list shows at most 200). */
  open: number;
  /** Whether the last load failed (the last list stays). */
  error: boolean;
  reload: () => void;
  close: (handoff: Handoff) => Promise<void>;
}

export function useHandoffs(): HandoffsState {
  const api = useApi();
  const toast = useToast();
  const { t } = useI18n();
  const [queue, setQueue] = useState<{ data: HandoffQueue | null; error: boolean }>({ data: null, error: false });
  /** Closed here, still hidden until a load no longer lists them (the projection may lag). */
  const [closing, setClosing] = useState<ReadonlySet<string>>(new Set());
  const [tick, setTick] = useState(0);

  useEffect(
    () =>
      startRequest(
        (signal) => api.listHandoffs(signal),
        (data) => {
          setQueue({ data, error: false });
          setClosing((ids) => {
            const listed = new Set(data.items.map((h) => h.id));
            const still = [...ids].filter((id) => listed.has(id));
            return still.length === ids.size ? ids : new Set(still);
          });
        },
        () => setQueue((q) => ({ ...q, error: true })),
      ),
    [api, tick],
  );

  const reload = useCallback(() => setTick((n) => n + 1), []);

  const close = useCallback(
    async (handoff: Handoff) => {
      setClosing((ids) => new Set(ids).add(handoff.id));
      try {
        await api.closeHandoff(handoff.id);
        toast.show({ tone: 'success', message: t('handoffs.closed', { name: customerLabel(handoff, t) }) });
      } catch (e) {
        setClosing((ids) => withoutKey(ids, handoff.id));
        toast.show({ tone: 'error', message: errorMessage(e, t) });
        reload();
      }
    },
    [api, toast, t, reload],
  );

  const { data, error } = queue;
  const items = useMemo(() => data?.items.filter((h) => !closing.has(h.id)) ?? null, [data, closing]);
  const open = data && items ? Math.max(0, data.open - (data.items.length - items.length)) : 0;

  return { items, open, error, reload, close };
}
