import { useId, useState, type SyntheticEvent } from 'react';

import { isApiError } from '../../api/client';
import { useApi } from '../../api/context';
import { useI18n } from '../../i18n/context';
import { saveFile } from '../../lib/download';
import { errorMessage } from '../../lib/errors';
import { emailProblem } from '../../lib/privacy';
import { useToast } from '../toast/context';

/**
 * "Unduh data pelanggan", for a customer's access request: everything the system holds about the
 * customer with this e-mail, decrypted, as the JSON file the server makes.
 */
export function CustomerExportForm() {
  const { t } = useI18n();
  const api = useApi();
  const toast = useToast();
  const inputId = useId();
  const [email, setEmail] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (event: SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault();
    const problem = emailProblem(email, t);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError('');
    try {
      const file = await api.customerData(email.trim());
      saveFile(file.blob, file.filename);
      toast.show({ tone: 'success', message: t('privacy.export.done', { file: file.filename }) });
    } catch (e) {
      if (isApiError(e) && e.status === 404) setError(t('privacy.export.notFound'));
      else if (isApiError(e) && e.status === 403) setError(t('privacy.err.forbidden'));
      else setError(errorMessage(e, t));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="export-customer-heading" className="flex flex-col gap-3" data-testid="export-customer">
      <div>
        <h3 id="export-customer-heading" className="text-base font-semibold">
          {t('privacy.export.heading')}
        </h3>
        <p className="text-sm text-slate-600">{t('privacy.export.intro')}</p>
      </div>
      <form onSubmit={(e) => void submit(e)} noValidate className="flex flex-wrap items-end gap-3">
        <div className="flex min-w-64 flex-1 flex-col gap-1">
          <label htmlFor={inputId} className="text-sm font-medium">
            {t('privacy.export.email')}
          </label>
          <input
            id={inputId}
            type="email"
            className="field"
            autoComplete="off"
            spellCheck={false}
            value={email}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${inputId}-error` : undefined}
            onChange={(e) => {
              setEmail(e.target.value);
              setError('');
            }}
          />
        </div>
        <button type="submit" className="btn-secondary" disabled={busy}>
          {busy ? t('privacy.export.loading') : t('privacy.export.submit')}
        </button>
      </form>
      {error ? (
        <p id={`${inputId}-error`} role="alert" className="text-sm text-red-700">
          {error}
        </p>
      ) : null}
    </section>
  );
}
