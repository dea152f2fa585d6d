/** Turning `/dashboard/stats` into chart series. */
import type { Stats } from '../api/types';
import type { MessageKey } from '../i18n/messages';
import { formatDay } from './format';

export const PIE_COLORS = ['#047857', '#2563eb', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#64748b'];
const TOP_REGIONS = PIE_COLORS.length - 1;

export interface RegionSlice {
  name: string;
  count: number;
  value: number;
  fill: string;
}

/** The biggest regions by orders, the rest summed as `otherLabel`. */
export function regionSlices(stats: Stats, otherLabel: string): RegionSlice[] {
  const sorted = [...stats.per_wilayah].filter((r) => r.count > 0).sort((a, b) => b.count - a.count);
  const slices = sorted.slice(0, TOP_REGIONS).map((r, i) => ({
    name: r.wilayah,
    count: r.count,
    value: r.estimasi_nilai,
    fill: PIE_COLORS[i] ?? '#64748b',
  }));
  const rest = sorted.slice(TOP_REGIONS);
  if (rest.length > 0) {
    slices.push({
      name: otherLabel,
      count: rest.reduce((n, r) => n + r.count, 0),
      value: rest.reduce((n, r) => n + r.estimasi_nilai, 0),
      fill: PIE_COLORS[TOP_REGIONS] ?? '#64748b',
    });
  }
  return slices;
}

/** 30 days up to the later of today (UTC) and the newest day in the data, gaps as zero. */
export function dailySeries(stats: Stats, today: Date = new Date()) {
  const byDay = new Map(stats.per_day.map((d) => [d.day, d]));
  const todayKey = today.toISOString().slice(0, 10);
  const newest = stats.per_day.reduce((max, d) => (d.day > max ? d.day : max), todayKey);
  const end = new Date(`${newest}T00:00:00Z`);
  const days: { day: string; label: string; count: number; value: number }[] = [];
  for (let i = 29; i >= 0; i--) {
    const date = new Date(end);
    date.setUTCDate(end.getUTCDate() - i);
    const key = date.toISOString().slice(0, 10);
    const entry = byDay.get(key);
    days.push({ day: key, label: formatDay(key), count: entry?.count ?? 0, value: entry?.estimasi_nilai ?? 0 });
  }
  return days;
}

/**
 * created -> code sent -> verified, from the counters by current status: every order ever
 * created is in exactly one status, and the ones sent a code are those on verification,
 * verified or expired (expiry only follows a sent code). Deleted orders count as created only.
 */
export function funnelSteps(stats: Stats): { key: MessageKey; count: number }[] {
  const s = stats.per_status;
  const verified = s.Verified ?? 0;
  const sent = (s['On Verification'] ?? 0) + verified + (s.Expired ?? 0);
  const created = sent + (s['On Process'] ?? 0) + (s.Deleted ?? 0);
  return [
    { key: 'charts.funnel.created', count: created },
    { key: 'charts.funnel.sent', count: sent },
    { key: 'charts.funnel.verified', count: verified },
  ];
}
