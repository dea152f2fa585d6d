/**
 * The charts, loaded lazily (Recharts is the biggest part of the bundle): orders by wilayah
 * (pie), orders per day (bars) and the status funnel.
 */
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Pie,
  PieChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';

import type { ReactNode } from 'react';

import type { Stats } from '../../api/types';
import { useI18n } from '../../i18n/context';
import { dailySeries, regionSlices } from '../../lib/chartData';
import { formatCount, formatRupiah } from '../../lib/format';
import { StatusFunnel } from './StatusFunnel';

function ChartCard({ title, children, className = '' }: { title: string; children: ReactNode; className?: string }) {
  return (
    <figure className={`flex min-w-0 flex-col rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200 ${className}`}>
      <figcaption className="mb-2 text-sm font-semibold text-slate-800">{title}</figcaption>
      {children}
    </figure>
  );
}

export default function ChartsPanel({ stats }: { stats: Stats }) {
  const { t, locale } = useI18n();
  const slices = regionSlices(stats, t('charts.other'));
  const days = dailySeries(stats);
  const dayTotal = days.reduce((n, d) => n + d.count, 0);
  const regionSummary = t('charts.byWilayah.summary', {
    list: slices.map((s) => `${s.name} ${formatCount(s.count, locale)}`).join(', '),
  });

  return (
    <div className="grid gap-3 lg:grid-cols-3">
      <ChartCard title={t('charts.byWilayah')}>
        {slices.length === 0 ? (
          <p className="grid h-60 place-items-center text-sm text-slate-600">{t('charts.empty')}</p>
        ) : (
          <div role="img" aria-label={regionSummary} className="h-60">
            <ResponsiveContainer width="100%" height="100%">
              <PieChart accessibilityLayer={false}>
                <Pie
                  data={slices}
                  dataKey="count"
                  nameKey="name"
                  innerRadius="45%"
                  outerRadius="75%"
                  paddingAngle={1}
                  isAnimationActive={false}
                />
                <Tooltip
                  formatter={(count, _name, item) => {
                    const payload = item.payload as { value?: number } | undefined;
                    return [`${formatCount(Number(count), locale)} · ${formatRupiah(payload?.value ?? 0)}`, t('charts.orders')];
                  }}
                />
                <Legend
                  position="bottom"
                  itemSorter={null}
                  wrapperStyle={{ fontSize: 12 }}
                  formatter={(value) => <span className="text-slate-700">{String(value)}</span>}
                />
              </PieChart>
            </ResponsiveContainer>
          </div>
        )}
      </ChartCard>

      <ChartCard title={t('charts.perDay')}>
        <div
          role="img"
          aria-label={t('charts.perDay.summary', { count: formatCount(dayTotal, locale), days: days.length })}
          className="h-60"
        >
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={days} margin={{ top: 8, right: 8, bottom: 0, left: -16 }} accessibilityLayer={false}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
              <XAxis dataKey="label" tick={{ fontSize: 11 }} interval="preserveStartEnd" minTickGap={16} />
              <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={40} />
              <Tooltip
                formatter={(count, _name, item) => {
                  const payload = item.payload as { value?: number } | undefined;
                  return [`${formatCount(Number(count), locale)} · ${formatRupiah(payload?.value ?? 0)}`, t('charts.orders')];
                }}
              />
              <Bar dataKey="count" fill="#047857" radius={[3, 3, 0, 0]} isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      </ChartCard>

      <ChartCard title={t('charts.funnel')}>
        <StatusFunnel stats={stats} />
      </ChartCard>
    </div>
  );
}
