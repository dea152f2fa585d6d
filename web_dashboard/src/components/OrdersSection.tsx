import type { RefObject } from 'react';

import { useApi } from '../api/context';
import type { Order } from '../api/types';
import { useAuth } from '../auth/context';
import { useCooldownClock } from '../hooks/useCooldownClock';
import type { OrderPageView } from '../hooks/useOrderPage';
import type { RowActionsView } from '../hooks/useRowActions';
import { useI18n } from '../i18n/context';
import { OrderFilters } from './OrderFilters';
import { OrdersTable } from './OrdersTable';
import { Pagination } from './Pagination';

/** The orders: heading, filters and export, the table with its row actions, and paging. */
export function OrdersSection({
  list,
  rows,
  highlighted,
  heading,
  wilayahOptions,
  onOpen,
  onRefresh,
}: {
  list: OrderPageView;
  rows: RowActionsView;
  highlighted: ReadonlySet<string>;
  /** Where focus goes after a deletion. */
  heading: RefObject<HTMLHeadingElement | null>;
  wilayahOptions: string[];
  onOpen: (order: Order) => void;
  /** Reloads the orders and the stats. */
  onRefresh: () => void;
}) {
  const api = useApi();
  const { t } = useI18n();
  const { resendCooldownMs } = useAuth();
  const { query, loading } = list;
  const orders = list.page.orders;
  const now = useCooldownClock(orders, rows.cooldowns, resendCooldownMs);
  const updating = loading && orders.length > 0;

  return (
    <section id="orders" aria-labelledby="orders-heading" className="flex flex-col gap-3">
      <div className="flex items-center gap-3">
        <h2 id="orders-heading" ref={heading} tabIndex={-1} className="text-lg font-bold text-slate-900">
          {t('orders.heading')}
        </h2>
        {updating ? (
          <span className="text-xs text-slate-600" role="status">
            {t('orders.updating')}
          </span>
        ) : null}
      </div>
      <OrderFilters
        query={list.filters}
        search={list.search}
        onSearch={list.setSearch}
        onChange={list.changeFilters}
        wilayahOptions={wilayahOptions}
        onReset={list.resetFilters}
        onRefresh={onRefresh}
        exportUrl={(format) => api.exportUrl(query, format)}
      />
      <div className={updating ? 'opacity-70 transition-opacity' : 'transition-opacity'}>
        <OrdersTable
          orders={list.error ? [] : orders}
          state={list.tableState}
          errorMessage={list.error}
          filtered={Boolean(query.status || query.wilayah || query.q)}
          sort={query.sort}
          order={query.order}
          onSort={list.sortBy}
          onRetry={list.reload}
          onOpen={onOpen}
          highlighted={highlighted}
          busy={rows.busy}
          deleting={rows.deleting}
          cooldowns={rows.cooldowns}
          now={now}
          actions={rows.actions}
          limit={query.limit}
        />
      </div>
      <Pagination
        page={list.pageNumber}
        total={list.page.totalCount}
        hasPrevious={list.hasPrevious}
        hasNext={list.hasNext}
        onPrevious={list.goPrevious}
        onNext={list.goNext}
      />
    </section>
  );
}
