/**
 * The rows' actions: sending and resending the verification code (busy until the feed reports
 * the order, cool-downs from a 429, the outcome toasted when the feed brings it) and deleting
 * after the operator confirmed.
 */
import { useCallback, useMemo, useRef, useState } from 'react';

import { isApiError } from '../api/client';
import { useApi } from '../api/context';
import type { ChangeEvent, Order } from '../api/types';
import type { RowActionHandlers } from '../components/RowActions';
import { useToast } from '../components/toast/context';
import { useI18n } from '../i18n/context';
import { errorMessage } from '../lib/errors';
import { customerLabel } from '../lib/privacy';
import { sendOutcome } from '../lib/sendOutcome';
import { withoutKey } from '../lib/sets';

/** How long a send stays "busy" after its 202 when the feed reports nothing about it. */
const AWAIT_FEED_MS = 5_000;

export interface RowActionsOptions {
  /** Takes an order off the page (deleted, or gone on the server). */
  removeOrder: (id: string) => void;
  /** Reloads the page of orders. */
  reload: () => void;
  /** Reloads the stats, debounced. */
  reloadStatsSoon: () => void;
  /** Called just before a deleted order's row goes (and the focused button in it). */
  onRowDeleted: () => void;
}

export function useRowActions({ removeOrder, reload, reloadStatsSoon, onRowDeleted }: RowActionsOptions) {
  const api = useApi();
  const toast = useToast();
  const { t } = useI18n();
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const [deleting, setDeleting] = useState<ReadonlySet<string>>(new Set());
  const [cooldowns, setCooldowns] = useState<Readonly<Record<string, number>>>({});
  const [confirm, setConfirm] = useState<Order | null>(null);
  const awaitingFeed = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  /** Orders whose verification this operator asked for: their outcome is toasted. */
  const watched = useRef(new Set<string>());

  const release = useCallback((id: string) => {
    const timer = awaitingFeed.current.get(id);
    if (timer) clearTimeout(timer);
    awaitingFeed.current.delete(id);
    setBusy((s) => (s.has(id) ? withoutKey(s, id) : s));
  }, []);

  /** What the live feed said about an order: ends its wait, and toasts a watched one's outcome. */
  const onFeedChange = useCallback(
    (change: ChangeEvent) => {
      const id = change.order.id;
      if (awaitingFeed.current.has(id) && change.type !== 'order.created') release(id);
      if (!watched.current.has(id)) return;
      const outcome = sendOutcome(change, t);
      if (outcome.toast) toast.show(outcome.toast);
      if (outcome.final) watched.current.delete(id);
    },
    [release, toast, t],
  );

  const requestSend = useCallback(
    async (order: Order, resend: boolean) => {
      const id = order.id;
      setBusy((s) => new Set(s).add(id));
      // Watch before asking: the feed may report the outcome before the 202 arrives.
      watched.current.add(id);
      try {
        await (resend ? api.resendVerification(id) : api.sendVerification(id));
        toast.show({ tone: 'info', message: t('toast.sendRequested', { email: order.email ?? '' }) });
        // Stay "sending" until the feed reports the order (or a while, if it is down).
        const timer = setTimeout(() => {
          release(id);
          reload();
        }, AWAIT_FEED_MS);
        awaitingFeed.current.set(id, timer);
      } catch (e) {
        release(id);
        watched.current.delete(id);
        if (isApiError(e) && e.status === 429) {
          const seconds = e.retryAfter ?? 60;
          setCooldowns((c) => ({ ...c, [id]: Date.now() + seconds * 1000 }));
          toast.show({ tone: 'info', message: t('toast.cooldown', { seconds }) });
        } else if (isApiError(e) && e.status === 404) {
          removeOrder(id);
          toast.show({ tone: 'error', message: t('toast.notFound') });
        } else {
          toast.show({ tone: 'error', message: errorMessage(e, t) });
          if (isApiError(e) && e.status === 400) reload();
        }
      }
    },
    [api, release, reload, removeOrder, toast, t],
  );

  const deleteConfirmed = useCallback(async () => {
    const order = confirm;
    if (!order) return;
    setConfirm(null);
    const id = order.id;
    setDeleting((s) => new Set(s).add(id));
    try {
      await api.deleteOrder(id);
      onRowDeleted();
      removeOrder(id);
      toast.show({ tone: 'success', message: t('toast.deleted', { name: customerLabel(order, t) }) });
      reloadStatsSoon();
    } catch (e) {
      if (isApiError(e) && e.status === 404) {
        onRowDeleted();
        removeOrder(id);
        toast.show({ tone: 'error', message: t('toast.notFound') });
      } else {
        toast.show({ tone: 'error', message: errorMessage(e, t) });
      }
    } finally {
      setDeleting((s) => withoutKey(s, id));
    }
  }, [api, confirm, onRowDeleted, reloadStatsSoon, removeOrder, toast, t]);

  const cancelDelete = useCallback(() => setConfirm(null), []);

  const actions = useMemo<RowActionHandlers>(
    () => ({
      onSend: (order) => void requestSend(order, false),
      onResend: (order) => void requestSend(order, true),
      onDelete: (order) => setConfirm(order),
    }),
    [requestSend],
  );

  return {
    busy,
    deleting,
    cooldowns,
    actions,
    /** The order waiting for the operator to confirm its deletion. */
    confirm,
    deleteConfirmed,
    cancelDelete,
    onFeedChange,
  };
}

export type RowActionsView = ReturnType<typeof useRowActions>;
