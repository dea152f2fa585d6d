import { describe, expect, it } from 'vitest';

import { formatDateTime, formatRupiah } from './format';

describe('formatRupiah', () => {
  it('writes Rupiah the Indonesian way', () => {
    expect(formatRupiah(10_000_000)).toBe('Rp 10.000.000');
    expect(formatRupiah(0)).toBe('Rp 0');
    expect(formatRupiah(1_250_500)).toBe('Rp 1.250.500');
    expect(formatRupiah(null)).toBe('-');
  });
});

describe('formatDateTime', () => {
  it('formats in the browser locale and tolerates missing values', () => {
    const iso = '2024-05-01T08:30:00Z';
    expect(formatDateTime(iso)).toBe(
      new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)),
    );
    expect(formatDateTime(null)).toBe('-');
    expect(formatDateTime('not a date')).toBe('-');
  });
});
