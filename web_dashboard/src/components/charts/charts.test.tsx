import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { dailySeries, funnelSteps, regionSlices } from '../../lib/chartData';
import { makeStats, renderWithProviders } from '../../test/helpers';
import { StatusFunnel } from './StatusFunnel';

describe('chart data', () => {
  it('keeps the biggest regions and sums the rest', () => {
    const stats = makeStats({
      per_wilayah: Array.from({ length: 10 }, (_, i) => ({ wilayah: `W${i}`, count: 10 - i, estimasi_nilai: 1000 })),
    });
    const slices = regionSlices(stats, 'Lainnya');
    expect(slices).toHaveLength(8);
    expect(slices[0]).toMatchObject({ name: 'W0', count: 10 });
    expect(slices[7]).toMatchObject({ name: 'Lainnya', count: 3 + 2 + 1, value: 3000 });
    expect(new Set(slices.map((s) => s.fill)).size).toBe(8);
  });

  it('fills 30 days with zeros up to today', () => {
    const stats = makeStats({ per_day: [{ day: '2024-05-20', count: 4, estimasi_nilai: 9 }] });
    const days = dailySeries(stats, new Date('2024-05-31T12:00:00Z'));
    expect(days).toHaveLength(30);
    expect(days[0]?.day).toBe('2024-05-02');
    expect(days[29]?.day).toBe('2024-05-31');
    expect(days.find((d) => d.day === '2024-05-20')?.count).toBe(4);
    expect(days.reduce((n, d) => n + d.count, 0)).toBe(4);
  });

  it('derives the funnel from the statuses', () => {
    const stats = makeStats({
      per_status: { 'On Process': 5, 'On Verification': 3, Verified: 10, Expired: 2, Deleted: 1 },
    });
    expect(funnelSteps(stats).map((s) => s.count)).toEqual([21, 15, 10]);
  });
});

describe('StatusFunnel', () => {
  it('shows the steps with their share of the step before', () => {
    renderWithProviders(
      <StatusFunnel
        stats={makeStats({ per_status: { 'On Process': 5, 'On Verification': 3, Verified: 10, Expired: 2, Deleted: 0 } })}
      />,
    );
    expect(screen.getByText('Dibuat')).toBeInTheDocument();
    expect(screen.getByText('Kode dikirim')).toBeInTheDocument();
    expect(screen.getByText('Terverifikasi')).toBeInTheDocument();
    expect(screen.getByText('75% dari tahap sebelumnya')).toBeInTheDocument();
    expect(screen.getByText('67% dari tahap sebelumnya')).toBeInTheDocument();
  });
});
