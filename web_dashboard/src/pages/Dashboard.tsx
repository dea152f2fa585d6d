/**
 * The operators' dashboard: stats, charts, and the orders table kept current by the live feed
 * (falling back to a reload every 30 s while the feed is down).
 */
import { useCallback, useMemo, useState } from 'react';

import type { ErasureResult } from '../api/privacy';
import type { ActiveStatus, ChangeEvent } from '../api/types';
import { useAuth } from '../auth/context';
import { ChartsSection } from '../components/charts/ChartsSection';
import { DeleteOrderDialog } from '../components/DeleteOrderDialog';
import { HandoffsPanel } from '../components/handoffs/HandoffsPanel';
import { Header } from '../components/Header';
import { MailTemplatePanel } from '../components/mailTemplate/MailTemplatePanel';
import { OperatorsPanel } from '../components/OperatorsPanel';
import { OrderDrawer } from '../components/OrderDrawer';
import { OrdersSection } from '../components/OrdersSection';
import { PrivacyPanel } from '../components/privacy/PrivacyPanel';
import { StatsCards } from '../components/StatsCards';
import { useDrawerOrder } from '../hooks/useDrawerOrder';
import { useFocusAfterDelete } from '../hooks/useFocusAfterDelete';
import { useHandoffs } from '../hooks/useHandoffs';
import { useHighlights } from '../hooks/useHighlights';
import { useLater } from '../hooks/useLater';
import { useOrderPage } from '../hooks/useOrderPage';
import { useRowActions } from '../hooks/useRowActions';
import { useStats } from '../hooks/useStats';
import { useI18n } from '../i18n/context';
import { readUrlState } from '../lib/urlState';
import type { EventSourceFactory } from '../live/useLiveFeed';
import { useLiveOrders } from '../live/useLiveOrders';
import { useOnReconnect } from '../live/useOnReconnect';

export function Dashboard({ createEventSource }: { createEventSource?: EventSourceFactory }) {
  const { t } = useI18n();
  const { can } = useAuth();
  const [initial] = useState(() => readUrlState(window.location.search));
  const later = useLater();
  /** The last erasure made from the drawer, for the personal data panel's log. */
  const [drawerErasure, setDrawerErasure] = useState<ErasureResult | null>(null);

  const drawer = useDrawerOrder(initial.orderId);
  const list = useOrderPage(initial.query, drawer.selectedId);
  const { stats, reload: reloadStats, reloadSoon: reloadStatsSoon } = useStats(later);
  const { highlighted, highlight } = useHighlights(later);
  const focus = useFocusAfterDelete(list.page.orders);
  const rows = useRowActions({
    removeOrder: list.removeOrder,
    reload: list.reload,
    reloadStatsSoon,
    onRowDeleted: focus.expectDeletion,
  });

  const handoffs = useHandoffs();
  const { reload: reloadHandoffs } = handoffs;

  const { reload: reloadList, applyLiveChange } = list;
  const refreshAll = useCallback(() => {
    reloadList();
    reloadStats();
    reloadHandoffs();
  }, [reloadList, reloadStats, reloadHandoffs]);

  const { onFeedChange: rowsSeeChange } = rows;
  const { onFeedChange: drawerSeesChange } = drawer;
  const onChange = useCallback(
    (change: ChangeEvent) => {
      if (applyLiveChange(change)) highlight(change.order.id);
      reloadStatsSoon();
      drawerSeesChange(change);
      rowsSeeChange(change);
    },
    [applyLiveChange, highlight, reloadStatsSoon, drawerSeesChange, rowsSeeChange],
  );
  const connection = useLiveOrders(onChange, refreshAll, createEventSource, reloadHandoffs);
  useOnReconnect(connection, reloadHandoffs);

  const wilayahOptions = useMemo(
    () => (stats.data?.per_wilayah ?? []).map((w) => w.wilayah).sort((a, b) => a.localeCompare(b)),
    [stats.data],
  );

  return (
    <div className="min-h-screen bg-slate-100 text-slate-900">
      <a href="#orders" className="skip-link">
        {t('app.skipToContent')}
      </a>
      <Header connection={connection} handoffs={handoffs.items === null ? undefined : handoffs.open} />
      <main className="mx-auto flex max-w-screen-2xl flex-col gap-4 px-3 py-4 sm:px-6 sm:py-6">
        <StatsCards
          stats={stats.data}
          error={stats.error}
          onRetry={reloadStats}
          activeStatus={list.filters.status}
          onSelectStatus={(status: ActiveStatus | '') => list.changeFilters({ status })}
        />
        <HandoffsPanel handoffs={handoffs} onOpenOrder={drawer.open} />
        <ChartsSection stats={stats.data} error={stats.error} />
        <OrdersSection
          list={list}
          rows={rows}
          highlighted={highlighted}
          heading={focus.heading}
          wilayahOptions={wilayahOptions}
          onOpen={(order) => drawer.open(order.id)}
          onRefresh={refreshAll}
        />
        {can('operators.manage') ? <OperatorsPanel /> : null}
        {can('privacy.manage') ? <PrivacyPanel erasedElsewhere={drawerErasure} /> : null}
        {can('mailTemplate.manage') ? <MailTemplatePanel /> : null}
      </main>

      <OrderDrawer
        orderId={drawer.selectedId}
        version={drawer.version}
        onClose={drawer.close}
        onErased={setDrawerErasure}
      />
      <DeleteOrderDialog order={rows.confirm} onConfirm={() => void rows.deleteConfirmed()} onCancel={rows.cancelDelete} />
    </div>
  );
}
