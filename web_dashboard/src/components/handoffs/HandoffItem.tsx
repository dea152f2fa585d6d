import { isErased, type Handoff } from '../../api/types';
import { useI18n } from '../../i18n/context';
import { formatDateTime, formatShortDateTime } from '../../lib/format';
import { customerLabel } from '../../lib/privacy';
import { ErasedText } from '../privacy/ErasedText';

/**
 * One waiting hand-off: who, how to reach them, what they need, and "Sudah dihubungi". Once the
 * customer's data was erased, "data dihapus" stands where the name, e-mail, conversation and
 * summary were.
 */
export function HandoffItem({
  handoff,
  onOpenOrder,
  onContacted,
}: {
  handoff: Handoff;
  onOpenOrder: (orderId: string) => void;
  onContacted: (handoff: Handoff) => void;
}) {
  const { t } = useI18n();
  const { order_id: orderId, referensi } = handoff;
  const erased = isErased(handoff);
  return (
    <li data-handoff-id={handoff.id} className="flex min-w-0 flex-col gap-3 py-3 sm:flex-row sm:items-start sm:gap-4">
      <div className="flex min-w-0 flex-1 flex-col gap-1.5">
        <p className="flex min-w-0 flex-wrap items-baseline gap-x-3 gap-y-0.5">
          {erased ? (
            <ErasedText className="font-semibold" />
          ) : (
            <>
              <span className="font-semibold text-slate-900">{handoff.nama_customer}</span>
              {handoff.email ? (
                <a
                  href={`mailto:${handoff.email}`}
                  className="min-w-0 text-sm break-all text-sky-800 underline hover:text-sky-950"
                >
                  {handoff.email}
                </a>
              ) : null}
            </>
          )}
        </p>
        <dl className="flex min-w-0 flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600">
          {referensi ? (
            <div className="flex items-baseline gap-1">
              <dt>{t('handoffs.reference')}</dt>
              <dd className="font-mono text-slate-800">
                {orderId ? (
                  <button
                    type="button"
                    className="rounded font-mono text-sky-800 underline hover:text-sky-950"
                    aria-label={t('handoffs.openOrder', { reference: referensi })}
                    onClick={() => onOpenOrder(orderId)}
                  >
                    {referensi}
                  </button>
                ) : (
                  referensi
                )}
              </dd>
            </div>
          ) : null}
          <div className="flex min-w-0 items-baseline gap-1">
            <dt className="shrink-0">{t('handoffs.conversation')}</dt>
            <dd className="min-w-0 font-mono break-all text-slate-800">
              {erased ? <ErasedText className="font-sans" /> : handoff.id_percakapan}
            </dd>
          </div>
          <div className="flex items-baseline gap-1">
            <dt>{t('handoffs.opened')}</dt>
            <dd className="text-slate-800">
              <time dateTime={handoff.opened_at} title={formatDateTime(handoff.opened_at, true)}>
                {formatShortDateTime(handoff.opened_at)}
              </time>
            </dd>
          </div>
        </dl>
        <p className="text-sm whitespace-pre-line text-slate-800 wrap-anywhere">
          <span className="sr-only">{t('handoffs.summary')}: </span>
          {erased ? <ErasedText /> : handoff.ringkasan}
        </p>
      </div>
      <button
        type="button"
        className="btn-primary self-start"
        aria-label={t('handoffs.contactedFor', { name: customerLabel(handoff, t) })}
        onClick={() => onContacted(handoff)}
      >
        {t('handoffs.contacted')}
      </button>
    </li>
  );
}
