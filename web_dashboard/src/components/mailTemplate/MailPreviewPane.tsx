import { useState } from 'react';

import type { MailPreview } from '../../api/mailTemplate';
import { useI18n } from '../../i18n/context';

interface Props {
  preview: MailPreview | null;
  updating: boolean;
  stale: boolean;
}

/**
 * The mail as the customer would get it, with sample values: the HTML part in a sandboxed frame
 * (no scripts, no same origin; the text is escaped by the server anyway), or the plain text.
 */
export function MailPreviewPane({ preview, updating, stale }: Props) {
  const { t } = useI18n();
  const [view, setView] = useState<'html' | 'text'>('html');
  const status = stale ? t('mailTemplate.previewStale') : updating ? t('mailTemplate.previewUpdating') : '';
  return (
    <section aria-labelledby="mail-preview-heading" className="flex min-w-0 flex-col gap-2" data-testid="mail-preview">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h3 id="mail-preview-heading" className="text-base font-semibold">
          {t('mailTemplate.preview')}
        </h3>
        <div className="flex gap-1">
          {(['html', 'text'] as const).map((v) => (
            <button
              key={v}
              type="button"
              className="btn-secondary aria-pressed:bg-slate-200"
              aria-pressed={view === v}
              onClick={() => setView(v)}
            >
              {t(v === 'html' ? 'mailTemplate.previewHtml' : 'mailTemplate.previewText')}
            </button>
          ))}
        </div>
      </div>
      <p className="text-xs text-slate-600">{t('mailTemplate.previewSample')}</p>
      <p aria-live="polite" className={`min-h-5 text-sm ${stale ? 'text-amber-800' : 'text-slate-600'}`}>
        {status}
      </p>
      {preview ? (
        <>
          <p className="text-sm font-medium break-words" data-testid="mail-preview-subject">
            {t('mailTemplate.previewSubject', { subject: preview.subject })}
          </p>
          {view === 'html' ? (
            <iframe
              title={t('mailTemplate.previewFrame')}
              sandbox=""
              srcDoc={preview.html}
              className="h-[40rem] w-full rounded-md border border-slate-200 bg-white"
            />
          ) : (
            <pre
              className="max-h-[40rem] overflow-auto rounded-md border border-slate-200 bg-slate-50 p-3 text-xs whitespace-pre-wrap"
              data-testid="mail-preview-text"
            >
              {preview.text}
            </pre>
          )}
        </>
      ) : null}
    </section>
  );
}
