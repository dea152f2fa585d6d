import { useId } from 'react';

import type { ExportFormat } from '../api/client';
import { ACTIVE_STATUSES, type ActiveStatus, type OrderQuery, type SortKey, type SortOrder } from '../api/types';
import { useI18n } from '../i18n/context';

const PAGE_SIZES = [25, 50, 100, 200] as const;
const SORTS: [SortKey, SortOrder][] = [
  ['created_at', 'desc'],
  ['created_at', 'asc'],
  ['estimasi_nilai_barang', 'desc'],
  ['estimasi_nilai_barang', 'asc'],
  ['nama_customer', 'asc'],
  ['nama_customer', 'desc'],
];

export function OrderFilters({
  query,
  search,
  onSearch,
  onChange,
  wilayahOptions,
  onReset,
  onRefresh,
  exportUrl,
}: {
  query: OrderQuery;
  /** The search box's text (the query's `q` follows it, debounced). */
  search: string;
  onSearch: (text: string) => void;
  onChange: (patch: Partial<OrderQuery>) => void;
  wilayahOptions: string[];
  onReset: () => void;
  onRefresh: () => void;
  exportUrl: (format: ExportFormat) => string;
}) {
  const { t } = useI18n();
  const ids = { search: useId(), status: useId(), wilayah: useId(), limit: useId(), sort: useId() };
  const options = query.wilayah && !wilayahOptions.includes(query.wilayah) ? [query.wilayah, ...wilayahOptions] : wilayahOptions;
  const filtered = Boolean(query.status || query.wilayah || search.trim());

  return (
    <section aria-labelledby="filters-heading" className="flex flex-col gap-3">
      <h2 id="filters-heading" className="sr-only">
        {t('filters.heading')}
      </h2>
      <div className="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:flex lg:flex-wrap lg:items-end">
        <div className="col-span-2 flex flex-col gap-1 lg:w-80">
          <label htmlFor={ids.search} className="text-xs font-semibold text-slate-700">
            {t('filters.search')}
          </label>
          <div className="relative">
            <input
              id={ids.search}
              type="search"
              value={search}
              maxLength={100}
              autoComplete="off"
              placeholder={t('filters.search.placeholder')}
              onChange={(event) => onSearch(event.target.value)}
              className="field w-full pr-8"
            />
            {search ? (
              <button
                type="button"
                onClick={() => onSearch('')}
                aria-label={t('filters.search.clear')}
                title={t('filters.search.clear')}
                className="absolute top-1/2 right-1.5 -translate-y-1/2 rounded px-1.5 text-slate-500 hover:text-slate-900"
              >
                <span aria-hidden="true">&times;</span>
              </button>
            ) : null}
          </div>
        </div>
        <div className="flex flex-col gap-1 lg:w-48">
          <label htmlFor={ids.status} className="text-xs font-semibold text-slate-700">
            {t('filters.status')}
          </label>
          <select
            id={ids.status}
            value={query.status}
            onChange={(event) => onChange({ status: event.target.value as ActiveStatus | '' })}
            className="field"
          >
            <option value="">{t('filters.status.all')}</option>
            {ACTIVE_STATUSES.map((status) => (
              <option key={status} value={status}>
                {t(`status.${status}`)}
              </option>
            ))}
          </select>
        </div>
        <div className="flex flex-col gap-1 lg:w-48">
          <label htmlFor={ids.wilayah} className="text-xs font-semibold text-slate-700">
            {t('filters.wilayah')}
          </label>
          <select
            id={ids.wilayah}
            value={query.wilayah}
            onChange={(event) => onChange({ wilayah: event.target.value })}
            className="field"
          >
            <option value="">{t('filters.wilayah.all')}</option>
            {options.map((wilayah) => (
              <option key={wilayah} value={wilayah}>
                {wilayah}
              </option>
            ))}
          </select>
        </div>
        {/* The column headers sort on wider screens; phones get this instead. */}
        <div className="flex flex-col gap-1 md:hidden">
          <label htmlFor={ids.sort} className="text-xs font-semibold text-slate-700">
            {t('filters.sort')}
          </label>
          <select
            id={ids.sort}
            value={`${query.sort}.${query.order}`}
            onChange={(event) => {
              const [sort, order] = event.target.value.split('.') as [SortKey, SortOrder];
              onChange({ sort, order });
            }}
            className="field"
          >
            {SORTS.map(([sort, order]) => (
              <option key={`${sort}.${order}`} value={`${sort}.${order}`}>
                {t(`sort.${sort}.${order}`)}
              </option>
            ))}
          </select>
        </div>
        <div className="flex flex-col gap-1 lg:w-28">
          <label htmlFor={ids.limit} className="text-xs font-semibold text-slate-700">
            {t('filters.limit')}
          </label>
          <select
            id={ids.limit}
            value={query.limit}
            onChange={(event) => onChange({ limit: Number(event.target.value) })}
            className="field"
          >
            {PAGE_SIZES.map((size) => (
              <option key={size} value={size}>
                {size}
              </option>
            ))}
          </select>
        </div>
        <div className="col-span-2 flex flex-wrap items-end gap-2 sm:col-span-4 lg:ml-auto">
          <button type="button" className="btn-secondary" onClick={onRefresh}>
            {t('filters.refresh')}
          </button>
          {filtered ? (
            <button type="button" className="btn-secondary" onClick={onReset}>
              {t('filters.reset')}
            </button>
          ) : null}
          <div role="group" aria-label={t('export.label')} className="flex flex-wrap gap-2">
            <a className="btn-secondary" href={exportUrl('csv')} download>
              {t('export.csv')}
            </a>
            <a className="btn-secondary" href={exportUrl('xlsx')} download>
              {t('export.xlsx')}
            </a>
            <a className="btn-secondary" href={exportUrl('pdf')} download>
              {t('export.pdf')}
            </a>
          </div>
        </div>
      </div>
    </section>
  );
}
