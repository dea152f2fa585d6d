import type { ActiveStatus, Stats } from '../api/types';
import { useI18n } from '../i18n/context';
import { formatCount, formatRupiah } from '../lib/format';
import { Skeleton } from './Skeleton';

interface Card {
  key: 'total' | ActiveStatus;
  accent: string;
}

const CARDS: Card[] = [
  { key: 'total', accent: 'border-slate-700' },
  { key: 'On Process', accent: 'border-yellow-400' },
  { key: 'On Verification', accent: 'border-orange-500' },
  { key: 'Verified', accent: 'border-green-600' },
];

export function StatsCards({
  stats,
  error,
  onRetry,
  activeStatus,
  onSelectStatus,
}: {
  stats: Stats | null;
  error: boolean;
  onRetry: () => void;
  activeStatus: ActiveStatus | '';
  onSelectStatus: (status: ActiveStatus | '') => void;
}) {
  const { t, locale } = useI18n();
  return (
    <section aria-labelledby="stats-heading">
      <h2 id="stats-heading" className="sr-only">
        {t('stats.heading')}
      </h2>
      {error && !stats ? (
        <div className="flex items-center justify-between gap-3 rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-900">
          <p>{t('stats.error')}</p>
          <button type="button" onClick={onRetry} className="btn-secondary">
            {t('stats.retry')}
          </button>
        </div>
      ) : (
        <ul className="grid grid-cols-2 gap-3 lg:grid-cols-4">
          {CARDS.map((card) => {
            const label = card.key === 'total' ? t('stats.total') : t(`status.${card.key}`);
            const value =
              card.key === 'total' ? stats?.total : (stats?.per_status[card.key] ?? (stats ? 0 : undefined));
            const pressed = card.key === 'total' ? activeStatus === '' : activeStatus === card.key;
            const target = card.key === 'total' ? '' : card.key;
            return (
              <li key={card.key}>
                <button
                  type="button"
                  aria-pressed={pressed}
                  title={card.key === 'total' ? undefined : t('stats.filterBy', { status: label })}
                  onClick={() => onSelectStatus(pressed && target !== '' ? '' : target)}
                  data-testid={`stat-${card.key}`}
                  className={`flex h-full w-full flex-col items-start rounded-lg border-l-4 bg-white p-3 text-left shadow-sm ring-1 ring-slate-200 transition hover:ring-slate-400 sm:p-4 ${card.accent} ${
                    pressed ? 'ring-2 ring-emerald-600' : ''
                  }`}
                >
                  <span className="text-xs font-medium text-slate-600 sm:text-sm">{label}</span>
                  {value === undefined ? (
                    <Skeleton className="mt-2 h-7 w-16" />
                  ) : (
                    <span className="mt-1 text-2xl font-bold tabular-nums text-slate-900 sm:text-3xl">
                      {formatCount(value, locale)}
                    </span>
                  )}
                  {card.key === 'total' && stats ? (
                    <span className="mt-1 text-xs text-slate-600">
                      {t('stats.totalValue', { value: formatRupiah(stats.total_estimasi_nilai) })}
                    </span>
                  ) : null}
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
