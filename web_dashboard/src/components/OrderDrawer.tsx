import { useCallback, useEffect, useId, useRef, useState } from 'react';

import { isApiError } from '../api/client';
import { useApi } from '../api/context';
import type { ErasureResult } from '../api/privacy';
import { isErased, type HistoryEntry, type Order, type OrderDetail } from '../api/types';
import { useAuth } from '../auth/context';
import { useFocusTrap } from '../hooks/useFocusTrap';
import { useI18n } from '../i18n/context';
import { formatDateTime, formatRupiah } from '../lib/format';
import { actorLabel, eventLabel } from '../lib/history';
import { EraseOrderCustomer } from './privacy/EraseOrderCustomer';
import { ErasedText } from './privacy/ErasedText';
import { Skeleton } from './Skeleton';
import { StatusBadge } from './StatusBadge';

const EVENT_DOT: Record<string, string> = {
  'order.created': 'bg-slate-500',
  'verification.requested': 'bg-sky-500',
  'verification.sent': 'bg-orange-500',
  'verification.failed': 'bg-red-600',
  'order.verified': 'bg-green-600',
  'order.expired': 'bg-slate-400',
  'order.deleted': 'bg-red-700',
  'customer.erased': 'bg-slate-900',
};

/** Why it happened: a failed send's reason, an erasure's `alasan` (the request's number). */
function reasonOf(entry: HistoryEntry): string | null {
  const reason = entry.type === 'customer.erased' ? entry.data?.alasan : entry.data?.reason;
  return typeof reason === 'string' && reason ? reason : null;
}

/** How often, and how many times, the order is read again after erasing its customer's data. */
const ERASED_REFRESH_EVERY_MS = 250;
const ERASED_REFRESH_TRIES = 20;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The side panel with one order and its history. It reloads whenever `version` changes (the
 * page bumps it when the live feed reports a change to this order). Admins can erase the
 * customer's personal data from here (`onErased` tells the page).
 */
export function OrderDrawer({
  orderId,
  version,
  onClose,
  onErased,
}: {
  orderId: string | null;
  version: number;
  onClose: () => void;
  onErased?: (result: ErasureResult) => void;
}) {
  const { t } = useI18n();
  const api = useApi();
  const { can } = useAuth();
  const panel = useRef<HTMLDivElement>(null);
  const closeButton = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const [detail, setDetail] = useState<OrderDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const open = orderId !== null;
  useFocusTrap(panel, open, onClose, closeButton);

  useEffect(() => {
    if (!orderId) return;
    const controller = new AbortController();
    api
      .getOrder(orderId, controller.signal)
      .then((d) => {
        setDetail(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if (isApiError(e) && e.kind === 'aborted') return;
        setError(isApiError(e) ? e.detail || e.message : String(e));
      });
    return () => controller.abort();
  }, [api, orderId, version, attempt]);

  const retry = useCallback(() => {
    setError(null);
    setAttempt((n) => n + 1);
  }, []);

  /**
   * The erasure is on the stream; the projection blanks the order a moment later. Read it until
   * it shows erased (the live feed would bring it too, but may be down).
   */
  const erased = useCallback(
    async (id: string, result: ErasureResult) => {
      onErased?.(result);
      for (let i = 0; i < ERASED_REFRESH_TRIES; i++) {
        await pause(ERASED_REFRESH_EVERY_MS);
        try {
          const fresh = await api.getOrder(id);
          if (isErased(fresh.order)) {
            setDetail(fresh);
            return;
          }
        } catch {
          return;
        }
      }
    },
    [api, onErased],
  );

  if (!open) return null;
  const shown = detail?.order.id === orderId ? detail : null;

  return (
    <div className="fixed inset-0 z-30 flex justify-end">
      <div aria-hidden="true" className="absolute inset-0 bg-slate-900/40" onClick={onClose} />
      <div
        ref={panel}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        className="drawer-in relative flex h-full w-full max-w-lg flex-col bg-white shadow-2xl"
      >
        <div className="flex items-center justify-between gap-3 border-b border-slate-200 px-4 py-3">
          <h2 id={titleId} className="text-lg font-bold text-slate-900">
            {t('drawer.title')}
          </h2>
          <button
            ref={closeButton}
            type="button"
            onClick={onClose}
            aria-label={t('drawer.close')}
            title={t('drawer.close')}
            className="rounded p-1.5 text-xl leading-none text-slate-600 hover:bg-slate-100 hover:text-slate-900"
          >
            <span aria-hidden="true">&times;</span>
          </button>
        </div>
        <div className="flex-1 overflow-y-auto px-4 py-4">
          {error && !shown ? (
            <div role="alert" className="flex flex-col items-start gap-3 text-sm text-red-900">
              <p className="font-medium">{t('drawer.error')}</p>
              <p>{error}</p>
              <button type="button" className="btn-secondary" onClick={retry}>
                {t('drawer.retry')}
              </button>
            </div>
          ) : !shown ? (
            <div className="flex flex-col gap-3" aria-busy="true">
              <p className="sr-only" role="status">
                {t('drawer.loading')}
              </p>
              <Skeleton className="h-6 w-48" />
              <Skeleton className="h-4 w-64" />
              <Skeleton className="h-4 w-56" />
              <Skeleton className="mt-4 h-24 w-full" />
            </div>
          ) : (
            <>
              <OrderFacts order={shown.order} titleId={titleId} />
              {isErased(shown.order) ? (
                <p className="mt-4 rounded-lg bg-slate-100 p-3 text-sm text-slate-700" data-testid="drawer-erased">
                  {t('drawer.erased')}
                </p>
              ) : can('privacy.manage') ? (
                <div className="mt-4">
                  <EraseOrderCustomer
                    key={shown.order.id}
                    order={shown.order} onErased={(result) => void erased(shown.order.id, result)} />
                </div>
              ) : null}
              <section aria-labelledby={`${titleId}-history`} className="mt-6">
                <h3 id={`${titleId}-history`} className="text-sm font-bold tracking-wide text-slate-800 uppercase">
                  {t('drawer.history')}
                </h3>
                {shown.history.length === 0 ? (
                  <p className="mt-2 text-sm text-slate-600">{t('drawer.history.empty')}</p>
                ) : (
                  <ol className="mt-3 border-l-2 border-slate-200 pl-4">
                    {shown.history.map((entry) => {
                      const reason = reasonOf(entry);
                      return (
                        <li key={entry.seq} className="relative pb-4 last:pb-0" data-event={entry.type}>
                          <span
                            aria-hidden="true"
                            className={`absolute top-1.5 -left-[1.3rem] h-2.5 w-2.5 rounded-full ring-2 ring-white ${
                              EVENT_DOT[entry.type] ?? 'bg-slate-400'
                            }`}
                          />
                          <p className="text-sm font-semibold text-slate-900">{eventLabel(entry.type, t)}</p>
                          <p className="text-xs text-slate-600">
                            <time dateTime={entry.occurred_at}>{formatDateTime(entry.occurred_at, true)}</time>
                            {' · '}
                            {t('drawer.by', { actor: actorLabel(entry.actor, t) })}
                          </p>
                          {reason ? (
                            <p
                              className={`mt-1 text-sm ${entry.type === 'customer.erased' ? 'text-slate-700' : 'text-red-800'}`}
                            >
                              {t('drawer.reason', { reason })}
                            </p>
                          ) : null}
                        </li>
                      );
                    })}
                  </ol>
                )}
              </section>
            </>
          )}
        </div>
      </div>
    </div>
  );
}

function OrderFacts({ order, titleId }: { order: Order; titleId: string }) {
  const { t } = useI18n();
  const erased = isErased(order);
  return (
    <section aria-labelledby={`${titleId}-order`}>
      <h3 id={`${titleId}-order`} className="sr-only">
        {t('drawer.order')}
      </h3>
      <div className="flex flex-wrap items-center gap-2">
        <p className="text-xl font-bold text-slate-900">
          {erased ? <ErasedText /> : (order.nama_customer ?? t('table.unknown'))}
        </p>
        <StatusBadge status={order.status} />
      </div>
      <p className="break-all text-sm text-slate-700">{erased ? <ErasedText /> : order.email}</p>
      <dl className="mt-4 grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
        <Field label={t('table.item')} value={order.nama_barang} erased={erased} />
        <Field label={t('table.type')} value={order.jenis_barang} capitalize />
        <Field
          label={t('table.quantity')}
          value={
            order.jumlah_barang === null
              ? null
              : order.jenis_barang === 'emas'
                ? t('quantity.grams', { count: order.jumlah_barang })
                : String(order.jumlah_barang)
          }
        />
        <Field label={t('table.value')} value={formatRupiah(order.estimasi_nilai_barang)} />
        <Field label={t('table.wilayah')} value={order.wilayah} />
        <Field label={t('table.created')} value={formatDateTime(order.created_at, true)} />
        <Field label={t('drawer.updated')} value={formatDateTime(order.updated_at, true)} />
        <Field label={t('drawer.sendCount')} value={String(order.send_count)} />
        {order.last_sent_at ? (
          <Field label={t('drawer.lastSent')} value={formatDateTime(order.last_sent_at, true)} />
        ) : null}
        {order.expires_at ? (
          <Field label={t('drawer.expires')} value={formatDateTime(order.expires_at, true)} />
        ) : null}
        {order.last_error ? <Field label={t('drawer.lastError')} value={order.last_error} tone="error" /> : null}
        {erased ? (
          <Field label={t('drawer.conversation')} value={null} erased />
        ) : order.id_percakapan ? (
          <Field label={t('drawer.conversation')} value={order.id_percakapan} mono />
        ) : null}
        <Field label={t('drawer.id')} value={order.id} mono />
      </dl>
    </section>
  );
}

function Field({
  label,
  value,
  mono = false,
  capitalize = false,
  tone,
  erased = false,
}: {
  label: string;
  value: string | null;
  mono?: boolean;
  capitalize?: boolean;
  tone?: 'error';
  /** A personal field whose data was erased: "data dihapus" whatever `value` says. */
  erased?: boolean;
}) {
  const { t } = useI18n();
  return (
    <>
      <dt className="text-slate-600">{label}</dt>
      <dd
        className={`min-w-0 break-words ${mono ? 'font-mono text-xs break-all' : ''} ${capitalize ? 'capitalize' : ''} ${
          tone === 'error' ? 'text-red-800' : 'text-slate-900'
        }`}
      >
        {erased ? <ErasedText /> : (value ?? t('drawer.none'))}
      </dd>
    </>
  );
}
