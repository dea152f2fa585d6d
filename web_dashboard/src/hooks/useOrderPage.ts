/**
 * The orders on screen: the operator's filters, search and sort, the cursors of the pages visited,
 * the page the server answered, and the address bar that follows them (with the open order).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';

import { useApi } from '../api/context';
import type { ChangeEvent, OrderPage, OrderQuery, SortKey } from '../api/types';
import type { TableState } from '../components/OrdersTable';
import { useI18n } from '../i18n/context';
import { errorMessage } from '../lib/errors';
import { startRequest } from '../lib/request';
import { DEFAULT_QUERY, defaultOrder, writeUrlState } from '../lib/urlState';
import { applyChange, matchesQuery } from '../live/applyChange';
import { useDebouncedValue } from './useDebouncedValue';

const SEARCH_DEBOUNCE_MS = 300;

interface ListState {
  /** Which request (query, cursor, reload) this page answers. */
  key: string;
  page: OrderPage;
  error: string | null;
}

const EMPTY_PAGE: OrderPage = { orders: [], nextCursor: null, totalCount: null };

export function useOrderPage(initialQuery: OrderQuery, selectedId: string | null) {
  const api = useApi();
  const { t } = useI18n();

  // ---- What the operator asked to see -------------------------------------------------------
  const [filters, setFilters] = useState<OrderQuery>(initialQuery);
  const [search, setSearch] = useState(initialQuery.q);
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
  useEffect(
    () =>
      startRequest(
        (signal) => api.listOrders(query, cursor, signal),
        (page) => setList({ key: requestKey, page, error: null }),
        (e) => setList((current) => ({ ...current, key: requestKey, error: errorMessage(e, t) })),
      ),
    // `t` only words the error; a language switch need not reload.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [api, requestKey],
  );
  const loading = list.key !== requestKey;
  const tableState: TableState = loading ? 'loading' : list.error ? 'error' : 'ready';

  const reload = useCallback(() => setReloadTick((n) => n + 1), []);

  // ---- Changes from elsewhere ---------------------------------------------------------------
  const liveContext = useRef({ query, firstPage });
  useEffect(() => {
    liveContext.current = { query, firstPage };
  }, [query, firstPage]);

  /** Applies a live change to the page; true when it is a new order this view shows. */
  const applyLiveChange = useCallback((change: ChangeEvent): boolean => {
    const order = change.order;
    const { query: q, firstPage: first } = liveContext.current;
    const created = change.type === 'order.created';
    setList((current) => {
      if (current.error) return current;
      const result = applyChange(current.page, order, q, { firstPage: first, created });
      return result.effect === 'none' && result.page === current.page ? current : { ...current, page: result.page };
    });
    return created && matchesQuery(order, q);
  }, []);

  /** Takes an order off the page at once (deleted, or gone on the server). */
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

  // ---- Address bar ----------------------------------------------------------------------------
  useEffect(() => {
    const search = writeUrlState(query, selectedId);
    if (search !== window.location.search) {
      window.history.replaceState(window.history.state, '', `${window.location.pathname}${search}${window.location.hash}`);
    }
  }, [query, selectedId]);

  // ---- Query changes --------------------------------------------------------------------------
  const changeFilters = useCallback((patch: Partial<OrderQuery>) => {
    setFilters((f) => ({ ...f, ...patch }));
  }, []);
  const sortBy = useCallback((key: SortKey) => {
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

  return {
    filters,
    search,
    setSearch,
    query,
    page: list.page,
    error: list.error,
    loading,
    tableState,
    /** 1 for the first page. */
    pageNumber: stack.length,
    hasPrevious: stack.length > 1,
    hasNext: Boolean(list.page.nextCursor) && !loading,
    goNext,
    goPrevious,
    changeFilters,
    sortBy,
    resetFilters,
    reload,
    applyLiveChange,
    removeOrder,
  };
}

export type OrderPageView = ReturnType<typeof useOrderPage>;
