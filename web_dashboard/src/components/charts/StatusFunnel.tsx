import type { Stats } from '../../api/types';
import { useI18n } from '../../i18n/context';
import { funnelSteps } from '../../lib/chartData';
import { formatCount, formatPercent } from '../../lib/format';

const BAR_COLORS = ['bg-slate-600', 'bg-orange-500', 'bg-green-600'];

export function StatusFunnel({ stats }: { stats: Stats }) {
  const { t, locale } = useI18n();
  const steps = funnelSteps(stats);
  const top = Math.max(1, steps[0]?.count ?? 0);
  return (
    <div className="flex h-60 flex-col justify-between gap-3">
      <ol className="flex flex-col gap-3">
        {steps.map((step, i) => {
          const previous = i > 0 ? steps[i - 1]?.count ?? 0 : 0;
          const width = `${Math.max(2, Math.round((step.count / top) * 100))}%`;
          return (
            <li key={step.key}>
              <div className="flex items-baseline justify-between gap-2 text-sm">
                <span className="font-medium text-slate-800">{t(step.key)}</span>
                <span className="tabular-nums font-semibold text-slate-900">{formatCount(step.count, locale)}</span>
              </div>
              <div className="mt-1 h-3 w-full rounded bg-slate-100">
                <div className={`h-3 rounded ${BAR_COLORS[i] ?? 'bg-slate-500'}`} style={{ width }} />
              </div>
              {i > 0 ? (
                <p className="mt-0.5 text-xs text-slate-600">
                  {t('charts.funnel.ofPrevious', {
                    percent: formatPercent(previous > 0 ? step.count / previous : 0, locale),
                  })}
                </p>
              ) : null}
            </li>
          );
        })}
      </ol>
      <p className="text-xs text-slate-600">{t('charts.funnel.note')}</p>
    </div>
  );
}
