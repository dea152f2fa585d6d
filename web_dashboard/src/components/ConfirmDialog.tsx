import { useId, useRef, type ReactNode } from 'react';

import { useFocusTrap } from '../hooks/useFocusTrap';
import { useI18n } from '../i18n/context';

/**
 * A modal confirmation (role=alertdialog): focus starts on Cancel, Tab stays inside, Esc and a
 * click outside cancel, and focus goes back to the button that opened it. `children` (the
 * details, a field) come between the body and the buttons.
 */
export function ConfirmDialog({
  open,
  title,
  body,
  confirmLabel,
  busy = false,
  onConfirm,
  onCancel,
  children,
}: {
  open: boolean;
  title: string;
  body: string;
  confirmLabel: string;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  children?: ReactNode;
}) {
  const { t } = useI18n();
  const panel = useRef<HTMLDivElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const bodyId = useId();
  useFocusTrap(panel, open, onCancel, cancel);
  if (!open) return null;
  return (
    <div className="fixed inset-0 z-40 flex items-end justify-center p-3 sm:items-center">
      <div aria-hidden="true" className="absolute inset-0 bg-slate-900/50" onClick={onCancel} />
      <div
        ref={panel}
        role="alertdialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={bodyId}
        tabIndex={-1}
        className="relative w-full max-w-md rounded-xl bg-white p-5 shadow-xl"
      >
        <h2 id={titleId} className="text-lg font-bold text-slate-900">
          {title}
        </h2>
        <p id={bodyId} className="mt-2 text-sm text-slate-700">
          {body}
        </p>
        {children}
        <div className="mt-5 flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
          <button ref={cancel} type="button" className="btn-secondary" onClick={onCancel}>
            {t('dialog.cancel')}
          </button>
          <button type="button" className="btn-danger btn-solid" onClick={onConfirm} disabled={busy}>
            {confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
