/**
 * The operators' dashboard: stats, charts, and the orders table kept current by the live feed
 * (falling back to a reload every 30 s while the feed is down).
 */
import { Suspense, lazy, useCallback, useEffect, useMemo, useRef, useState } from 'react';

import { isApiError } from '../api/client';
import { useApi } from '../api/context';
import type { ActiveStatus, ChangeEvent, Order, OrderPage, OrderQuery, SortKey, Stats } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Header } from '../components/Header';
import { useAuth } from '../auth/context';
import { OperatorsPanel } from '../components/OperatorsPanel';
import { OrderDrawer } from '../components/OrderDrawer';
import { OrderFilters } from '../components/OrderFilters';
import { OrdersTable, type TableState } from '../components/OrdersTable';
import { Pagination } from '../components/Pagination';
import type { RowActionHandlers } from '../components/RowActions';
import { Skeleton } from '../components/Skeleton';
import { StatsCards } from '../components/StatsCards';
import { useToast } from '../components/toast/context';
import { useDebouncedValue } from '../hooks/useDebouncedValue';
import { useCooldownClock } from '../hooks/useCooldownClock';
import { useI18n } from '../i18n/context';
import { errorMessage } from '../lib/errors';
import { formatRupiah } from '../lib/format';
import { DEFAULT_QUERY, defaultOrder, readUrlState, writeUrlState } from '../lib/urlState';
import { applyChange, matchesQuery } from '../live/applyChange';
import { useLiveFeed, type EventSourceFactory } from '../live/useLiveFeed';

const ChartsPanel = lazy(() => import('../components/charts/ChartsPanel'));

const SEARCH_DEBOUNCE_MS = 300;
const POLL_INTERVAL_MS = 30_000;
const STATS_DEBOUNCE_MS = 1_000;
const HIGHLIGHT_MS = 5_000;
/** How long a send stays "busy" after its 202 when the feed reports nothing about it. */
const AWAIT_FEED_MS = 5_000;

interface ListState {
  /** Which request (query, cursor, reload) this page answers. */
  key: string;
  page: OrderPage;
  error: string | null;
}

const EMPTY_PAGE: OrderPage = { orders: [], nextCursor: null, totalCount: null };

function withoutKey<T>(set: ReadonlySet<T>, key: T): Set<T> {
  const next = new Set(set);
  next.delete(key);
  return next;
}

export function Dashboard({ createEventSource }: { createEventSource?: EventSourceFactory }) {
  const api = useApi();
  const { t } = useI18n();
  const toast = useToast();
  const { can, resendCooldownMs } = useAuth();
  const canManageOperators = can('operators.manage');
  const [initial] = useState(() => readUrlState(window.location.search));

  // ---- What the operator asked to see -------------------------------------------------------
  const [filters, setFilters] = useState<OrderQuery>(initial.query);
  const [search, setSearch] = useState(initial.query.q);
  const debouncedSearch = useDebouncedValue(search, SEARCH_DEBOUNCE_MS);
  const query = useMemo<OrderQuery>(() => ({ ...filters, q: debouncedSearch.trim() }), [filters, debouncedSearch]);
  const queryKey = JSON.stringify(query);
  // The cursors of the pages visited under this query (the first page has none).
  const [paging, setPaging] = useState<{ key: string; stack: (string | null)[] }>({ key: queryKey, stack: [null] });
  const stack = paging.key === queryKey ? paging.stack : [null];
  const cursor = stack[stack.length - 1] ?? null;
  const firstPage = stack.length === 1;
  const [reloadTick, setReloadTick] = useState(0);
  const requestKey = `${queryKey}|${cursor ?? ''}|${reloadTick}`;

  // ---- The page of orders -------------------------------------------------------------------
  const [list, setList] = useState<ListState>({ key: '', page: EMPTY_PAGE, error: null });
  useEffect(() => {
    const controller = new AbortController();
    api
      .listOrders(query, cursor, controller.signal)
      .then((page) => setList({ key: requestKey, page, error: null }))
      .catch((e: unknown) => {
        if (isApiError(e) && e.kind === 'aborted') return;
        setList((current) => ({ ...current, key: requestKey, error: errorMessage(e, t) }));
      });
    return () => controller.abort();
    // `t` only words the error; a language switch need not reload.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, requestKey]);
  const loading = list.key !== requestKey;
  const tableState: TableState = loading ? 'loading' : list.error ? 'error' : 'ready';

  // ---- Stats ---------------------------------------------------------------------------------
  const [stats, setStats] = useState<{ data: Stats | null; error: boolean }>({ data: null, error: false });
  const [statsTick, setStatsTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    api
      .getStats(controller.signal)
      .then((data) => setStats({ data, error: false }))
      .catch((e: unknown) => {
        if (isApiError(e) && e.kind === 'aborted') return;
        setStats((s) => ({ ...s, error: true }));
      });
    return () => controller.abort();
  }, [api, statsTick]);

  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());
  const later = useCallback((fn: () => void, ms: number) => {
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

  const statsTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const refreshStatsSoon = useCallback(() => {
    if (statsTimer.current) return;
    statsTimer.current = later(() => {
      statsTimer.current = null;
      setStatsTick((n) => n + 1);
    }, STATS_DEBOUNCE_MS);
  }, [later]);

  const refreshAll = useCallback(() => {
    setReloadTick((n) => n + 1);
    setStatsTick((n) => n + 1);
  }, []);

  // ---- Row state: highlights, requests in flight, cool-downs ---------------------------------
  const [highlighted, setHighlighted] = useState<ReadonlySet<string>>(new Set());
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const [deleting, setDeleting] = useState<ReadonlySet<string>>(new Set());
  const [cooldowns, setCooldowns] = useState<Readonly<Record<string, number>>>({});
  const awaitingFeed = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  /** Orders whose verification this operator asked for: their outcome is toasted. */
  const watched = useRef(new Set<string>());

  const highlight = useCallback(
    (id: string) => {
      setHighlighted((s) => new Set(s).add(id));
      later(() => setHighlighted((s) => withoutKey(s, id)), HIGHLIGHT_MS);
    },
    [later],
  );

  const release = useCallback((id: string) => {
    const timer = awaitingFeed.current.get(id);
    if (timer) clearTimeout(timer);
    awaitingFeed.current.delete(id);
    setBusy((s) => (s.has(id) ? withoutKey(s, id) : s));
  }, []);

  // ---- Drawer ----------------------------------------------------------------------------------
  const [selectedId, setSelectedId] = useState<string | null>(initial.orderId);
  const [drawerVersion, setDrawerVersion] = useState(0);
  const selectedRef = useRef(selectedId);
  useEffect(() => {
    selectedRef.current = selectedId;
  }, [selectedId]);

  // ---- Live feed -------------------------------------------------------------------------------
  const liveContext = useRef({ query, firstPage, requestKey });
  useEffect(() => {
    liveContext.current = { query, firstPage, requestKey };
  }, [query, firstPage, requestKey]);

  const onChange = useCallback(
    (change: ChangeEvent) => {
      const order = change.order;
      const { query: q, firstPage: first } = liveContext.current;
      const created = change.type === 'order.created';
      setList((current) => {
        if (current.error) return current;
        const result = applyChange(current.page, order, q, { firstPage: first, created });
        return result.effect === 'none' && result.page === current.page ? current : { ...current, page: result.page };
      });
      if (created && matchesQuery(order, q)) highlight(order.id);
      if (awaitingFeed.current.has(order.id) && change.type !== 'order.created') release(order.id);
      refreshStatsSoon();
      if (selectedRef.current === order.id) setDrawerVersion((v) => v + 1);

      if (watched.current.has(order.id)) {
        const email = order.email ?? '';
        const name = order.nama_customer ?? '';
        switch (change.type) {
          case 'verification.sent':
            toast.show({ tone: 'success', message: t('toast.sent', { email }) });
            break;
          case 'verification.failed':
            toast.show({
              tone: 'error',
              message: order.last_error
                ? t('toast.failed', { email, reason: order.last_error })
                : t('toast.failed.noReason', { email }),
            });
            watched.current.delete(order.id);
            break;
          case 'order.verified':
            toast.show({ tone: 'success', message: t('toast.verified', { name }) });
            watched.current.delete(order.id);
            break;
          case 'order.expired':
          case 'order.deleted':
            watched.current.delete(order.id);
            break;
        }
      }
    },
    [highlight, release, refreshStatsSoon, toast, t],
  );

  const handlers = useMemo(() => ({ onChange, onResync: refreshAll }), [onChange, refreshAll]);
  const connection = useLiveFeed(api.eventsUrl(), handlers, createEventSource);

  useEffect(() => {
    if (connection === 'live') return;
    const timer = setInterval(refreshAll, POLL_INTERVAL_MS);
    return () => clearInterval(timer);
  }, [connection, refreshAll]);

  // ---- Address bar -------------------------------------------------------------------------------
  useEffect(() => {
    const search = writeUrlState(query, selectedId);
    if (search !== window.location.search) {
      window.history.replaceState(window.history.state, '', `${window.location.pathname}${search}${window.location.hash}`);
    }
  }, [query, selectedId]);

  // ---- Actions ---------------------------------------------------------------------------------
  const orders = list.page.orders;
  const now = useCooldownClock(orders, cooldowns, resendCooldownMs);

  const removeOrder = useCallback((id: string) => {
    setList((current) => {
      if (!current.page.orders.some((o) => o.id === id)) return current;
      const total = current.page.totalCount;
      return {
        ...current,
        page: {
          ...current.page,
          orders: current.page.orders.filter((o) => o.id !== id),
          totalCount: total === null ? null : Math.max(0, total - 1),
        },
      };
    });
  }, []);

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
          setReloadTick((n) => n + 1);
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
          if (isApiError(e) && e.status === 400) setReloadTick((n) => n + 1);
        }
      }
    },
    [api, release, removeOrder, toast, t],
  );

  const [confirm, setConfirm] = useState<Order | null>(null);
  const ordersHeading = useRef<HTMLHeadingElement>(null);
  // After a deletion the row (and the focused button in it) is gone: focus goes to the heading.
  const refocusAfterDelete = useRef(false);
  useEffect(() => {
    if (!refocusAfterDelete.current) return;
    refocusAfterDelete.current = false;
    if (document.activeElement === document.body || document.activeElement === null) ordersHeading.current?.focus();
  }, [list.page.orders]);

  const deleteConfirmed = useCallback(async () => {
    const order = confirm;
    if (!order) return;
    setConfirm(null);
    const id = order.id;
    setDeleting((s) => new Set(s).add(id));
    try {
      await api.deleteOrder(id);
      refocusAfterDelete.current = true;
      removeOrder(id);
      toast.show({ tone: 'success', message: t('toast.deleted', { name: order.nama_customer ?? '' }) });
      refreshStatsSoon();
    } catch (e) {
      if (isApiError(e) && e.status === 404) {
        refocusAfterDelete.current = true;
        removeOrder(id);
        toast.show({ tone: 'error', message: t('toast.notFound') });
      } else {
        toast.show({ tone: 'error', message: errorMessage(e, t) });
      }
    } finally {
      setDeleting((s) => withoutKey(s, id));
    }
  }, [api, confirm, refreshStatsSoon, removeOrder, toast, t]);

  const actions = useMemo<RowActionHandlers>(
    () => ({
      onSend: (order) => void requestSend(order, false),
      onResend: (order) => void requestSend(order, true),
      onDelete: (order) => setConfirm(order),
    }),
    [requestSend],
  );

  // ---- Query changes -------------------------------------------------------------------------------
  const changeFilters = useCallback((patch: Partial<OrderQuery>) => {
    setFilters((f) => ({ ...f, ...patch }));
  }, []);
  const onSort = useCallback((key: SortKey) => {
    setFilters((f) => ({ ...f, sort: key, order: f.sort === key ? (f.order === 'asc' ? 'desc' : 'asc') : defaultOrder(key) }));
  }, []);
  const resetFilters = useCallback(() => {
    setFilters((f) => ({ ...DEFAULT_QUERY, sort: f.sort, order: f.order, limit: f.limit }));
    setSearch('');
  }, []);
  const goNext = () => {
    if (!list.page.nextCursor || loading) return;
    setPaging({ key: queryKey, stack: [...stack, list.page.nextCursor] });
  };
  const goPrevious = () => {
    if (stack.length <= 1) return;
    setPaging({ key: queryKey, stack: stack.slice(0, -1) });
  };

  const wilayahOptions = useMemo(
    () => (stats.data?.per_wilayah ?? []).map((w) => w.wilayah).sort((a, b) => a.localeCompare(b)),
    [stats.data],
  );
  const filtered = Boolean(query.status || query.wilayah || query.q);

  return (
    <div className="min-h-screen bg-slate-100 text-slate-900">
      <a href="#orders" className="skip-link">
        {t('app.skipToContent')}
      </a>
      <Header connection={connection} />
      <main className="mx-auto flex max-w-screen-2xl flex-col gap-4 px-3 py-4 sm:px-6 sm:py-6">
        <StatsCards
          stats={stats.data}
          error={stats.error}
          onRetry={() => setStatsTick((n) => n + 1)}
          activeStatus={filters.status}
          onSelectStatus={(status: ActiveStatus | '') => changeFilters({ status })}
        />

        <section aria-labelledby="charts-heading">
          <h2 id="charts-heading" className="sr-only">
            {t('charts.heading')}
          </h2>
          {stats.data ? (
            <Suspense fallback={<ChartsSkeleton label={t('charts.loading')} />}>
              <ChartsPanel stats={stats.data} />
            </Suspense>
          ) : stats.error ? null : (
            <ChartsSkeleton label={t('charts.loading')} />
          )}
        </section>

        <section id="orders" aria-labelledby="orders-heading" className="flex flex-col gap-3">
          <div className="flex items-center gap-3">
            <h2 id="orders-heading" ref={ordersHeading} tabIndex={-1} className="text-lg font-bold text-slate-900">
              {t('orders.heading')}
            </h2>
            {loading && orders.length > 0 ? (
              <span className="text-xs text-slate-600" role="status">
                {t('orders.updating')}
              </span>
            ) : null}
          </div>
          <OrderFilters
            query={filters}
            search={search}
            onSearch={setSearch}
            onChange={changeFilters}
            wilayahOptions={wilayahOptions}
            onReset={resetFilters}
            onRefresh={refreshAll}
            exportUrl={(format) => api.exportUrl(query, format)}
          />
          <div className={loading && orders.length > 0 ? 'opacity-70 transition-opacity' : 'transition-opacity'}>
            <OrdersTable
              orders={list.error ? [] : orders}
              state={tableState}
              errorMessage={list.error}
              filtered={filtered}
              sort={query.sort}
              order={query.order}
              onSort={onSort}
              onRetry={() => setReloadTick((n) => n + 1)}
              onOpen={(order) => setSelectedId(order.id)}
              highlighted={highlighted}
              busy={busy}
              deleting={deleting}
              cooldowns={cooldowns}
              now={now}
              actions={actions}
              limit={query.limit}
            />
          </div>
          <Pagination
            page={stack.length}
            total={list.page.totalCount}
            hasPrevious={stack.length > 1}
            hasNext={Boolean(list.page.nextCursor) && !loading}
            onPrevious={goPrevious}
            onNext={goNext}
          />
        </section>
        {canManageOperators ? <OperatorsPanel /> : null}
      </main>

      <OrderDrawer orderId={selectedId} version={drawerVersion} onClose={() => setSelectedId(null)} />
      <ConfirmDialog
        open={confirm !== null}
        title={t('dialog.delete.title')}
        body={
          confirm
            ? t('dialog.delete.body', {
                name: confirm.nama_customer ?? '',
                item: confirm.nama_barang ?? '',
                value: formatRupiah(confirm.estimasi_nilai_barang),
              })
            : ''
        }
        confirmLabel={t('dialog.delete.confirm')}
        onConfirm={() => void deleteConfirmed()}
        onCancel={() => setConfirm(null)}
      />
    </div>
  );
}

function ChartsSkeleton({ label }: { label: string }) {
  return (
    <div className="grid gap-3 lg:grid-cols-3" aria-busy="true">
      <p className="sr-only" role="status">
        {label}
      </p>
      {[0, 1, 2].map((i) => (
        <div key={i} className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
          <Skeleton className="h-4 w-40" />
          <Skeleton className="mt-4 h-52 w-full" />
        </div>
      ))}
    </div>
  );
}
