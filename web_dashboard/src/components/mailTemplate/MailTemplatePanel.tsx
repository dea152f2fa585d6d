import type { SyntheticEvent } from 'react';

import { MAIL_LANGUAGES } from '../../api/mailTemplate';
import { useI18n } from '../../i18n/context';
import { formatDateTime } from '../../lib/format';
import { errorsByPath } from '../../lib/mailTemplateErrors';
import { useMailPreview } from '../../hooks/useMailPreview';
import { useMailTemplate } from '../../hooks/useMailTemplate';
import { MailPreviewPane } from './MailPreviewPane';
import { MailTemplateHistory } from './MailTemplateHistory';
import { MailTextFields } from './MailTextFields';

/**
 * Admin only: the verification mail's text in both languages, with a live preview, saving (an
 * event the mailer uses for the next mail) and the history of changes.
 */
export function MailTemplatePanel() {
  const { t } = useI18n();
  const editor = useMailTemplate();
  const live = useMailPreview(editor.draft);
  const { current, draft } = editor;

  const placeholders = (current?.placeholders ?? []).join(', ');
  const limits = {
    subject: current?.subject_max_chars ?? 150,
    text: current?.text_max_chars ?? 2000,
    placeholders,
  };
  // The preview checks every draft; a save's own answer wins until the next edit.
  const errors = errorsByPath([...editor.saveErrors, ...live.errors], t, limits);

  const submit = (event: SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault();
    void editor.save();
  };

  return (
    <section
      aria-labelledby="mail-template-heading"
      className="flex flex-col gap-4 rounded-xl border border-slate-200 bg-white p-4"
      data-testid="mail-template"
    >
      <div>
        <h2 id="mail-template-heading" className="text-lg font-semibold">
          {t('mailTemplate.heading')}
        </h2>
        <p className="text-sm text-slate-600">{t('mailTemplate.intro', { list: placeholders })}</p>
        {current ? (
          <p className="text-sm text-slate-600" data-testid="mail-template-status">
            {current.changed_by
              ? t('mailTemplate.changedBy', { who: current.changed_by, when: formatDateTime(current.changed_at) })
              : t('mailTemplate.isDefault')}
          </p>
        ) : null}
      </div>
      {editor.loadError ? (
        <div role="alert" className="flex items-center gap-3 text-sm text-red-700">
          {t('mailTemplate.error')}
          <button type="button" className="btn-secondary" onClick={() => void editor.reload()}>
            {t('mailTemplate.retry')}
          </button>
        </div>
      ) : null}
      {!draft && !editor.loadError ? <p className="text-sm text-slate-600">{t('mailTemplate.loading')}</p> : null}
      {draft && current ? (
        <div className="grid grid-cols-1 gap-6 xl:grid-cols-2">
          <form onSubmit={submit} noValidate className="flex min-w-0 flex-col gap-4">
            {MAIL_LANGUAGES.map((language) => (
              <MailTextFields
                key={language}
                language={language}
                text={draft[language]}
                errors={errors}
                limits={limits}
                onChange={editor.setPart}
              />
            ))}
            <div className="flex flex-wrap gap-2">
              <button type="submit" className="btn-primary" disabled={editor.saving}>
                {editor.saving ? t('mailTemplate.saving') : t('mailTemplate.save')}
              </button>
              <button
                type="button"
                className="btn-secondary"
                disabled={!editor.dirty || editor.saving}
                onClick={() => editor.replaceDraft(current.template)}
              >
                {t('mailTemplate.undo')}
              </button>
              <button
                type="button"
                className="btn-secondary"
                disabled={editor.saving}
                onClick={() => editor.replaceDraft(current.default_template)}
              >
                {t('mailTemplate.useDefault')}
              </button>
            </div>
          </form>
          <div className="flex min-w-0 flex-col gap-6">
            <MailPreviewPane preview={live.preview} updating={live.updating} stale={live.stale} />
            <MailTemplateHistory history={editor.history} />
          </div>
        </div>
      ) : null}
    </section>
  );
}
