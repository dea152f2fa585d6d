import type { MailTemplateChange } from '../../api/mailTemplate';
import { useI18n } from '../../i18n/context';
import { formatDateTime } from '../../lib/format';

/** Who changed the template, when, and which fields, newest first. */
export function MailTemplateHistory({ history }: { history: MailTemplateChange[] | null }) {
  const { t } = useI18n();
  if (history === null) return null;
  const fieldName = (path: string) => {
    const [language, part] = path.split('.');
    const short = language === 'en' ? t('lang.en.short') : t('lang.id.short');
    const known = part === 'subject' || part === 'greeting' || part === 'instructions' || part === 'footer';
    return known ? `${t(`mailTemplate.field.${part}`)} (${short})` : path;
  };
  return (
    <section aria-labelledby="mail-history-heading" className="flex flex-col gap-2">
      <h3 id="mail-history-heading" className="text-base font-semibold">
        {t('mailTemplate.history')}
      </h3>
      {history.length === 0 ? <p className="text-sm text-slate-600">{t('mailTemplate.historyEmpty')}</p> : null}
      <ol className="flex flex-col divide-y divide-slate-100" data-testid="mail-history">
        {history.map((change) => (
          <li key={change.seq} className="flex flex-wrap gap-x-3 py-1.5 text-sm" data-seq={change.seq}>
            <time dateTime={change.changed_at} className="text-slate-600">
              {formatDateTime(change.changed_at)}
            </time>
            <span>
              {change.changed_fields.length > 0
                ? t('mailTemplate.historyEntry', {
                    who: change.changed_by,
                    fields: change.changed_fields.map(fieldName).join(', '),
                  })
                : t('mailTemplate.historySame', { who: change.changed_by })}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}
