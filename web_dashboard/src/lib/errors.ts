import { isApiError } from '../api/client';
import type { Translate } from '../i18n/context';

/** A failed request, worded for a toast. */
export function errorMessage(e: unknown, t: Translate): string {
  if (!isApiError(e)) return e instanceof Error ? e.message : String(e);
  if (e.kind === 'network') return t('toast.network');
  if (e.detail) return t('toast.actionFailed', { detail: e.detail });
  return t('toast.unknownError', { status: e.status });
}
