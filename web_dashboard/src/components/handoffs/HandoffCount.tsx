import { useI18n } from '../../i18n/context';
import { HANDOFFS_PANEL_ID, handoffCountLabel, showHandoffsPanel } from '../../lib/handoffs';

/** The header's count of open hand-offs: a link to the panel, amber while any are waiting. */
export function HandoffCount({ count }: { count: number }) {
  const { t } = useI18n();
  const waiting = count > 0;
  return (
    <a
      href={`#${HANDOFFS_PANEL_ID}`}
      data-handoffs={count}
      aria-label={handoffCountLabel(t, count)}
      title={handoffCountLabel(t, count)}
      onClick={(event) => {
        event.preventDefault();
        showHandoffsPanel();
      }}
      className={`inline-flex items-center gap-1.5 rounded-full px-2.5 py-1 text-sm font-medium ring-1 ring-inset ${
        waiting ? 'bg-amber-50 text-amber-900 ring-amber-600/40 hover:bg-amber-100' : 'text-slate-500 ring-slate-200 hover:bg-slate-50'
      }`}
    >
      <svg aria-hidden="true" viewBox="0 0 24 24" className="h-4 w-4 shrink-0" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
        <path d="M3 14v-3a9 9 0 0 1 18 0v3" />
        <path d="M21 15a2 2 0 0 1-2 2h-1v-6h1a2 2 0 0 1 2 2ZM3 15a2 2 0 0 0 2 2h1v-6H5a2 2 0 0 0-2 2Z" />
      </svg>
      <span aria-hidden="true" className="hidden sm:inline">{t('handoffs.label')}:</span>
      <span
        aria-hidden="true"
        className={`min-w-5 rounded-full px-1.5 text-center tabular-nums ${waiting ? 'bg-amber-600 font-semibold text-white' : ''}`}
      >
        {count}
      </span>
    </a>
  );
}
