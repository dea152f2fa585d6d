import type { MailLanguage, MailPart, MailText } from '../../api/mailTemplate';
import { MAIL_PARTS, fieldPath } from '../../api/mailTemplate';
import { useI18n } from '../../i18n/context';

interface Props {
  language: MailLanguage;
  text: MailText;
  /** Error messages by field path (`id.greeting`). */
  errors: Record<string, string>;
  limits: { subject: number; text: number };
  onChange: (language: MailLanguage, part: MailPart, value: string) => void;
}

/** One language's four parts of the mail: the subject on one line, the others multi-line. */
export function MailTextFields({ language, text, errors, limits, onChange }: Props) {
  const { t } = useI18n();
  const lang = t(`mailTemplate.lang.${language}`);
  return (
    <fieldset className="flex min-w-0 flex-col gap-3" data-language={language}>
      <legend className="mb-1 text-base font-semibold">{lang}</legend>
      {MAIL_PARTS.map((part) => {
        const id = `mail-${language}-${part}`;
        const error = errors[fieldPath(language, part)];
        const max = part === 'subject' ? limits.subject : limits.text;
        // In code points, as the server counts.
        const count = Array.from(text[part]).length;
        const common = {
          id,
          lang: language,
          value: text[part],
          className: `field w-full ${error ? 'border-red-600' : ''}`,
          'aria-invalid': error ? true : undefined,
          'aria-describedby': `${id}-count${error ? ` ${id}-error` : ''}`,
        };
        return (
          <div key={part} className="flex flex-col gap-1">
            <div className="flex items-baseline justify-between gap-2">
              <label htmlFor={id} className="text-sm font-medium">
                {t('mailTemplate.fieldIn', { field: t(`mailTemplate.field.${part}`), lang })}
              </label>
              <span id={`${id}-count`} className={`text-xs ${count > max ? 'text-red-700' : 'text-slate-500'}`}>
                {t('mailTemplate.count', { count, max })}
              </span>
            </div>
            {part === 'subject' ? (
              <input type="text" {...common} onChange={(e) => onChange(language, part, e.target.value)} />
            ) : (
              <textarea
                {...common}
                rows={part === 'instructions' ? 9 : 3}
                className={`${common.className} font-mono text-xs leading-5`}
                onChange={(e) => onChange(language, part, e.target.value)}
              />
            )}
            {error ? (
              <p id={`${id}-error`} className="text-sm text-red-700" data-error-for={fieldPath(language, part)}>
                {error}
              </p>
            ) : null}
          </div>
        );
      })}
    </fieldset>
  );
}
