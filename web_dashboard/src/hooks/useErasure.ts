/**
 * Erasing a customer's personal data (`POST /dashboard/admin/erasures`), for the panel's form
 * and the order drawer's action: the request in flight, the problems to show by field, and the
 * last result. The answer comes once `customer.erased` is on the stream; the orders arrive
 * erased through the live feed a moment later.
 */
import { useCallback, useState } from 'react';

import { isApiError } from '../api/client';
import { useApi } from '../api/context';
import type { ErasureRequest, ErasureResult } from '../api/privacy';
import { useI18n } from '../i18n/context';
import { errorMessage } from '../lib/errors';
import { serverErasureErrors, type ErasureErrors } from '../lib/privacy';

export function useErasure() {
  const api = useApi();
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<ErasureErrors>({});
  const [result, setResult] = useState<ErasureResult | null>(null);

  /** Sends the request; the result, or null when it failed (then `errors` says why). */
  const erase = useCallback(
    async (request: ErasureRequest): Promise<ErasureResult | null> => {
      setBusy(true);
      setErrors({});
      setResult(null);
      try {
        const answer = await api.eraseCustomer(request);
        setResult(answer);
        return answer;
      } catch (e) {
        setErrors(problemsOf(e, t));
        return null;
      } finally {
        setBusy(false);
      }
    },
    [api, t],
  );

  const reset = useCallback(() => {
    setErrors({});
    setResult(null);
  }, []);

  return { busy, errors, result, erase, setErrors, reset };
}

function problemsOf(e: unknown, t: ReturnType<typeof useI18n>['t']): ErasureErrors {
  if (!isApiError(e) || e.kind !== 'http') return { form: errorMessage(e, t) };
  switch (e.status) {
    case 422:
      return serverErasureErrors(e.fieldErrors, t, e.detail || t('privacy.err.invalid'));
    case 404:
      return { form: t('privacy.err.notFound') };
    case 403:
      return { form: t('privacy.err.forbidden') };
    default:
      return { form: errorMessage(e, t) };
  }
}

export type ErasureState = ReturnType<typeof useErasure>;
