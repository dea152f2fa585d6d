import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';

import { useI18n } from '../../i18n/context';
import { ToastContext, type ToastApi, type ToastInput, type ToastItem } from './context';

const DEFAULT_DURATION: Record<ToastItem['tone'], number> = {
  success: 5000,
  info: 5000,
  error: 9000,
};
const MAX_VISIBLE = 5;

const TONE_CLASSES: Record<ToastItem['tone'], string> = {
  success: 'border-green-600 bg-green-50 text-green-900',
  info: 'border-sky-600 bg-sky-50 text-sky-900',
  error: 'border-red-600 bg-red-50 text-red-900',
};

/** Toasts in a live region: polite for news, assertive (role=alert) for errors. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const [toasts, setToasts] = useState<ToastItem[]>([]);
  const nextId = useRef(1);
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());

  const dismiss = useCallback((id: number) => {
    const timer = timers.current.get(id);
    if (timer) clearTimeout(timer);
    timers.current.delete(id);
    setToasts((list) => list.filter((toast) => toast.id !== id));
  }, []);

  const show = useCallback(
    (input: ToastInput) => {
      const id = nextId.current++;
      const duration = input.duration ?? DEFAULT_DURATION[input.tone];
      setToasts((list) => [...list, { ...input, id }].slice(-MAX_VISIBLE));
      if (duration > 0) timers.current.set(id, setTimeout(() => dismiss(id), duration));
      return id;
    },
    [dismiss],
  );

  useEffect(() => {
    const pending = timers.current;
    return () => {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
    };
  }, []);

  const api = useMemo<ToastApi>(() => ({ show, dismiss }), [show, dismiss]);

  return (
    <ToastContext.Provider value={api}>
      {children}
      <section
        aria-label={t('toast.region')}
        className="pointer-events-none fixed inset-x-2 bottom-2 z-50 flex flex-col items-stretch gap-2 sm:inset-x-auto sm:right-4 sm:bottom-4 sm:w-96"
      >
        <div role="status" aria-live="polite" className="flex flex-col gap-2">
          {toasts
            .filter((toast) => toast.tone !== 'error')
            .map((toast) => (
              <Toast key={toast.id} toast={toast} onDismiss={dismiss} closeLabel={t('toast.close')} />
            ))}
        </div>
        <div role="alert" aria-live="assertive" className="flex flex-col gap-2">
          {toasts
            .filter((toast) => toast.tone === 'error')
            .map((toast) => (
              <Toast key={toast.id} toast={toast} onDismiss={dismiss} closeLabel={t('toast.close')} />
            ))}
        </div>
      </section>
    </ToastContext.Provider>
  );
}

function Toast({
  toast,
  onDismiss,
  closeLabel,
}: {
  toast: ToastItem;
  onDismiss: (id: number) => void;
  closeLabel: string;
}) {
  return (
    <div
      data-testid="toast"
      data-tone={toast.tone}
      className={`toast-in pointer-events-auto flex items-start gap-3 rounded-lg border-l-4 px-4 py-3 text-sm shadow-lg ${TONE_CLASSES[toast.tone]}`}
    >
      <p className="min-w-0 flex-1 break-words">{toast.message}</p>
      <button
        type="button"
        onClick={() => onDismiss(toast.id)}
        aria-label={closeLabel}
        title={closeLabel}
        className="-m-1 rounded p-1 leading-none opacity-70 hover:opacity-100 focus-visible:opacity-100"
      >
        <span aria-hidden="true">&times;</span>
      </button>
    </div>
  );
}
