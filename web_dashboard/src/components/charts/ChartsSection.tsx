import { Suspense, lazy } from 'react';

import type { Stats } from '../../api/types';
import { useI18n } from '../../i18n/context';
import { Skeleton } from '../Skeleton';

const ChartsPanel = lazy(() => import('./ChartsPanel'));

/** The charts, loaded on demand; a skeleton until the stats (and the chart code) are in. */
export function ChartsSection({ stats, error }: { stats: Stats | null; error: boolean }) {
  const { t } = useI18n();
  return (
    <section aria-labelledby="charts-heading">
      <h2 id="charts-heading" className="sr-only">
        {t('charts.heading')}
      </h2>
      {stats ? (
        <Suspense fallback={<ChartsSkeleton label={t('charts.loading')} />}>
          <ChartsPanel stats={stats} />
        </Suspense>
      ) : error ? null : (
        <ChartsSkeleton label={t('charts.loading')} />
      )}
    </section>
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
