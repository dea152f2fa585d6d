import { useId, useState, type SyntheticEvent } from 'react';

import { ALASAN_MAX_CHARS, ALASAN_MIN_CHARS, type ErasureRequest, type ErasureResult } from '../../api/privacy';
import { useErasure } from '../../hooks/useErasure';
import { useI18n } from '../../i18n/context';
import { erasureRequest, type ErasureBy, type ErasureErrors } from '../../lib/privacy';
import { EraseDialog } from './EraseDialog';

/**
 * "Hapus data pelanggan": the customer by e-mail or by one of their orders, and the reason (the
 * request's number). Checked here first, then confirmed, then sent; the server's answer (how many
 * orders and requests lost their personal data) or its objections, by field, show below.
 */
export function EraseCustomerForm({ onErased }: { onErased: (result: ErasureResult) => void }) {
  const { t } = useI18n();
  const erasure = useErasure();
  const [by, setBy] = useState<ErasureBy>('email');
  const [value, setValue] = useState('');
  const [alasan, setAlasan] = useState('');
  const [pending, setPending] = useState<ErasureRequest | null>(null);
  const [checked, setChecked] = useState<ErasureErrors>({});
  const ids = {
    value: useId(),
    alasan: useId(),
    hint: useId(),
  };
  // The form's own checks until it is sent; then what the server said.
  const errors: ErasureErrors = { ...erasure.errors, ...checked };
  const valueError = by === 'email' ? errors.email : errors.order_id;

  const submit = (event: SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault();
    erasure.reset();
    const outcome = erasureRequest({ by, value, alasan }, t);
    setChecked(outcome.errors ?? {});
    if (outcome.request) setPending(outcome.request);
  };

  const confirm = async () => {
    const request = pending;
    if (!request) return;
    setPending(null);
    const result = await erasure.erase(request);
    if (!result) return;
    setValue('');
    setAlasan('');
    onErased(result);
  };

  /** An edit: the problems shown were about the text before it. */
  const edit = (apply: () => void) => {
    apply();
    setChecked({});
    erasure.setErrors({});
  };

  return (
    <section aria-labelledby="erase-heading" className="flex flex-col gap-3" data-testid="erase-customer">
      <div>
        <h3 id="erase-heading" className="text-base font-semibold">
          {t('privacy.erase.heading')}
        </h3>
        <p className="text-sm text-slate-600">{t('privacy.erase.intro')}</p>
      </div>
      <form onSubmit={submit} noValidate className="flex flex-col gap-3">
        <fieldset className="flex flex-wrap items-center gap-x-4 gap-y-1 text-sm">
          <legend className="mb-1 font-medium">{t('privacy.erase.by')}</legend>
          {(['email', 'order_id'] as const).map((option) => (
            <label key={option} className="flex items-center gap-1.5">
              <input
                type="radio"
                name="erase-by"
                value={option}
                checked={by === option}
                onChange={() =>
                  edit(() => {
                    setBy(option);
                    setValue('');
                  })
                }
              />
              {option === 'email' ? t('privacy.erase.byEmail') : t('privacy.erase.byOrder')}
            </label>
          ))}
        </fieldset>
        <div className="grid grid-cols-1 gap-3 md:grid-cols-2">
          <div className="flex flex-col gap-1">
            <label htmlFor={ids.value} className="text-sm font-medium">
              {by === 'email' ? t('privacy.erase.email') : t('privacy.erase.orderId')}
            </label>
            <input
              id={ids.value}
              className={`field ${by === 'order_id' ? 'font-mono' : ''}`}
              type={by === 'email' ? 'email' : 'text'}
              autoComplete="off"
              spellCheck={false}
              value={value}
              aria-invalid={valueError ? true : undefined}
              aria-describedby={valueError ? `${ids.value}-error` : undefined}
              onChange={(e) => edit(() => setValue(e.target.value))}
            />
            {valueError ? (
              <p id={`${ids.value}-error`} className="text-sm text-red-700" data-error-for={by}>
                {valueError}
              </p>
            ) : null}
          </div>
          <div className="flex flex-col gap-1">
            <label htmlFor={ids.alasan} className="text-sm font-medium">
              {t('privacy.erase.alasan')}
            </label>
            <input
              id={ids.alasan}
              className="field"
              autoComplete="off"
              value={alasan}
              aria-invalid={errors.alasan ? true : undefined}
              aria-describedby={errors.alasan ? `${ids.alasan}-error ${ids.hint}` : ids.hint}
              onChange={(e) => edit(() => setAlasan(e.target.value))}
            />
            <p id={ids.hint} className="text-xs text-slate-600">
              {t('privacy.erase.alasanHint', { min: ALASAN_MIN_CHARS, max: ALASAN_MAX_CHARS })}
            </p>
            {errors.alasan ? (
              <p id={`${ids.alasan}-error`} className="text-sm text-red-700" data-error-for="alasan">
                {errors.alasan}
              </p>
            ) : null}
          </div>
        </div>
        <div className="flex flex-wrap items-center gap-3">
          <button type="submit" className="btn-danger btn-solid" disabled={erasure.busy}>
            {erasure.busy ? t('privacy.erase.erasing') : t('privacy.erase.submit')}
          </button>
          {errors.form ? (
            <p role="alert" className="text-sm text-red-700">
              {errors.form}
            </p>
          ) : null}
        </div>
      </form>
      {erasure.result ? (
        <div role="status" className="rounded-lg border border-emerald-200 bg-emerald-50 p-3 text-sm" data-testid="erase-result">
          <p className="font-medium text-emerald-900">
            {t('privacy.result', { pesanan: erasure.result.pesanan, handoff: erasure.result.handoff })}
          </p>
          <p className="font-mono text-xs break-all text-emerald-900">
            {t('privacy.result.subject', { subject: erasure.result.subject, generation: erasure.result.generation })}
          </p>
        </div>
      ) : null}
      <EraseDialog
        open={pending !== null}
        target={pending}
        alasan={pending?.alasan ?? ''}
        onConfirm={() => void confirm()}
        onCancel={() => setPending(null)}
      />
    </section>
  );
}
