import type { ErasureLogEntry } from '../../api/privacy';
import { useI18n } from '../../i18n/context';
import { formatDateTime } from '../../lib/format';
import { actorLabel } from '../../lib/history';

/** The erasures, newest first: when, who, on what basis, why, and how much; never the erased data. */
export function ErasureLog({
  entries,
  error,
  onRetry,
}: {
  entries: ErasureLogEntry[] | null;
  error: boolean;
  onRetry: () => void;
}) {
  const { t } = useI18n();
  return (
    <section aria-labelledby="erasure-log-heading" className="flex min-w-0 flex-col gap-2">
      <h3 id="erasure-log-heading" className="text-base font-semibold">
        {t('privacy.log.heading')}
      </h3>
      {error ? (
        <div role="alert" className="flex items-center gap-3 text-sm text-red-700">
          {t('privacy.log.error')}
          <button type="button" className="btn-secondary" onClick={onRetry}>
            {t('privacy.log.retry')}
          </button>
        </div>
      ) : null}
      {entries === null && !error ? <p className="text-sm text-slate-600">{t('privacy.log.loading')}</p> : null}
      {entries?.length === 0 ? <p className="text-sm text-slate-600">{t('privacy.log.empty')}</p> : null}
      {entries && entries.length > 0 ? (
        <div className="overflow-x-auto rounded-lg ring-1 ring-slate-200">
          <table className="w-full border-collapse text-left text-sm" data-testid="erasure-log">
            <caption className="sr-only">{t('privacy.log.heading')}</caption>
            <thead className="bg-slate-50 text-xs tracking-wide text-slate-700 uppercase">
              <tr>
                <th scope="col" className="px-3 py-2 font-semibold">{t('privacy.log.when')}</th>
                <th scope="col" className="px-3 py-2 font-semibold">{t('privacy.log.who')}</th>
                <th scope="col" className="px-3 py-2 font-semibold">{t('privacy.log.basis')}</th>
                <th scope="col" className="px-3 py-2 font-semibold">{t('privacy.log.reason')}</th>
                <th scope="col" className="px-3 py-2 text-right font-semibold">{t('privacy.log.orders')}</th>
                <th scope="col" className="px-3 py-2 text-right font-semibold">{t('privacy.log.handoffs')}</th>
                <th scope="col" className="px-3 py-2 font-semibold">{t('privacy.log.subject')}</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {entries.map((entry) => (
                <tr key={entry.id} data-erasure-id={entry.id} className="align-top">
                  <td className="px-3 py-2 whitespace-nowrap text-slate-700">
                    <time dateTime={entry.occurred_at}>{formatDateTime(entry.occurred_at, true)}</time>
                  </td>
                  <td className="px-3 py-2 text-slate-900">{actorLabel(entry.actor, t)}</td>
                  <td className="px-3 py-2 whitespace-nowrap text-slate-700" data-basis={entry.dasar}>
                    {entry.dasar === 'retensi' ? t('privacy.basis.retensi') : t('privacy.basis.permintaan')}
                  </td>
                  <td className="px-3 py-2 break-words text-slate-900">{entry.alasan}</td>
                  <td className="px-3 py-2 text-right tabular-nums">{entry.pesanan}</td>
                  <td className="px-3 py-2 text-right tabular-nums">{entry.handoff}</td>
                  <td className="px-3 py-2 font-mono text-xs text-slate-600" title={entry.subject}>
                    {entry.subject.slice(0, 12)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
