import { useId } from 'react';

import { ALASAN_MAX_CHARS, ALASAN_MIN_CHARS, type ErasureTarget } from '../../api/privacy';
import { useI18n } from '../../i18n/context';
import { shortReference, type ErasureErrors } from '../../lib/privacy';
import { ConfirmDialog } from '../ConfirmDialog';

/**
 * The one confirmation before a customer's personal data is erased, from the panel and from the
 * order drawer: it says plainly that the erasure reaches ALL the customer's orders and requests
 * and cannot be undone. From the drawer the reason is typed here (`onAlasanChange`); from the
 * panel it was typed in the form and is only repeated.
 */
export function EraseDialog({
  open,
  target,
  alasan,
  onAlasanChange,
  errors = {},
  busy = false,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  target: ErasureTarget | null;
  alasan: string;
  onAlasanChange?: (alasan: string) => void;
  errors?: ErasureErrors;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const fieldId = useId();
  const hintId = useId();
  const errorId = useId();
  const who = !target
    ? ''
    : 'email' in target
      ? t('privacy.confirm.email', { email: target.email })
      : t('privacy.confirm.order', { reference: shortReference(target.order_id) });

  return (
    <ConfirmDialog
      open={open}
      title={t('privacy.confirm.title')}
      body={t('privacy.confirm.body')}
      confirmLabel={busy ? t('privacy.erase.erasing') : t('privacy.confirm.confirm')}
      busy={busy}
      onConfirm={onConfirm}
      onCancel={onCancel}
    >
      <p className="mt-3 text-sm font-semibold break-all text-slate-900" data-testid="erase-target">
        {who}
      </p>
      {onAlasanChange ? (
        <div className="mt-3 flex flex-col gap-1">
          <label htmlFor={fieldId} className="text-sm font-medium">
            {t('privacy.erase.alasan')}
          </label>
          <input
            id={fieldId}
            className="field"
            autoComplete="off"
            maxLength={ALASAN_MAX_CHARS * 2}
            value={alasan}
            aria-invalid={errors.alasan ? true : undefined}
            aria-describedby={errors.alasan ? `${errorId} ${hintId}` : hintId}
            onChange={(e) => onAlasanChange(e.target.value)}
          />
          <p id={hintId} className="text-xs text-slate-600">
            {t('privacy.erase.alasanHint', { min: ALASAN_MIN_CHARS, max: ALASAN_MAX_CHARS })}
          </p>
          {errors.alasan ? (
            <p id={errorId} className="text-sm text-red-700">
              {errors.alasan}
            </p>
          ) : null}
        </div>
      ) : (
        <p className="mt-1 text-sm break-words text-slate-700">{t('privacy.confirm.alasan', { alasan })}</p>
      )}
      {errors.form ? (
        <p role="alert" className="mt-3 text-sm text-red-700">
          {errors.form}
        </p>
      ) : null}
    </ConfirmDialog>
  );
}
