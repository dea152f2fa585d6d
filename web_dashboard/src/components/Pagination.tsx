import { useI18n } from '../i18n/context';
import { formatCount } from '../lib/format';

export function Pagination({
  page,
  total,
  hasPrevious,
  hasNext,
  onPrevious,
  onNext,
}: {
  page: number;
  total: number | null;
  hasPrevious: boolean;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
}) {
  const { t, locale } = useI18n();
  return (
    <nav aria-label={t('paging.label')} className="flex flex-wrap items-center justify-between gap-3">
      <p className="text-sm text-slate-700" aria-live="polite">
        {total === null
          ? t('paging.page', { page })
          : t('paging.pageOfTotal', { page, total: formatCount(total, locale) })}
      </p>
      <div className="flex gap-2">
        <button type="button" className="btn-secondary" onClick={onPrevious} disabled={!hasPrevious}>
          <span aria-hidden="true">‹ </span>
          {t('paging.previous')}
        </button>
        <button type="button" className="btn-secondary" onClick={onNext} disabled={!hasNext}>
          {t('paging.next')}
          <span aria-hidden="true"> ›</span>
        </button>
      </div>
    </nav>
  );
}
