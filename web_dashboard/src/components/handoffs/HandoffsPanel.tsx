import { useRef } from 'react';

import type { Handoff } from '../../api/types';
import type { HandoffsState } from '../../hooks/useHandoffs';
import { useI18n } from '../../i18n/context';
import { HANDOFFS_PANEL_ID, handoffCountLabel } from '../../lib/handoffs';
import { HandoffItem } from './HandoffItem';

/**
 * The customers who asked the agent for an officer, oldest first, for every operator. The count is
 * a polite live region, so a screen reader hears new ones arrive.
 */
export function HandoffsPanel({
  handoffs,
  onOpenOrder,
}: {
  handoffs: HandoffsState;
  onOpenOrder: (orderId: string) => void;
}) {
  const { t } = useI18n();
  const section = useRef<HTMLElement>(null);
  const { items, open, error, reload, close } = handoffs;

  const contacted = (handoff: Handoff) => {
    // The button goes with its item: the focus stays in the panel.
    section.current?.focus({ preventScroll: true });
    void close(handoff);
  };

  return (
    <section
      ref={section}
      id={HANDOFFS_PANEL_ID}
      tabIndex={-1}
      aria-labelledby="handoffs-heading"
      className="min-w-0 scroll-mt-4 rounded-xl border border-slate-200 bg-white p-4 focus-visible:outline-2"
    >
      <div className="flex flex-wrap items-baseline justify-between gap-x-3 gap-y-1">
        <h2 id="handoffs-heading" className="text-lg font-semibold">
          {t('handoffs.heading')}
        </h2>
        <p
          aria-live="polite"
          data-testid="handoffs-count"
          className={`text-sm font-medium ${open > 0 ? 'text-amber-800' : 'text-slate-600'}`}
        >
          {items === null ? '' : handoffCountLabel(t, open)}
        </p>
      </div>
      <p className="mt-1 text-sm text-slate-600">{t('handoffs.intro')}</p>
      {error ? (
        <p role="alert" className="mt-3 flex flex-wrap items-center gap-2 text-sm text-red-700">
          {t('handoffs.error')}
          <button type="button" className="btn-secondary" onClick={reload}>
            {t('handoffs.retry')}
          </button>
        </p>
      ) : null}
      {items === null && !error ? <p className="mt-3 text-sm text-slate-600">{t('handoffs.loading')}</p> : null}
      {items?.length === 0 ? <p className="mt-3 text-sm text-slate-600">{t('handoffs.empty')}</p> : null}
      {items && items.length > 0 ? (
        <ul className="mt-2 flex flex-col divide-y divide-slate-100">
          {items.map((handoff) => (
            <HandoffItem key={handoff.id} handoff={handoff} onOpenOrder={onOpenOrder} onContacted={contacted} />
          ))}
        </ul>
      ) : null}
      {items && open > items.length ? (
        <p className="mt-2 text-xs text-slate-600">{t('handoffs.more', { shown: items.length, total: open })}</p>
      ) : null}
    </section>
  );
}
