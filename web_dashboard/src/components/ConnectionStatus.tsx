import { useI18n } from '../i18n/context';
import type { ConnectionState } from '../live/useLiveFeed';

const STYLES: Record<ConnectionState, { pill: string; dot: string }> = {
  live: { pill: 'bg-green-50 text-green-800 ring-green-600/30', dot: 'bg-green-600 live-dot' },
  connecting: { pill: 'bg-amber-50 text-amber-900 ring-amber-600/30', dot: 'bg-amber-500' },
  offline: { pill: 'bg-red-50 text-red-800 ring-red-600/30', dot: 'bg-red-600' },
};

export function ConnectionStatus({ state }: { state: ConnectionState }) {
  const { t } = useI18n();
  const style = STYLES[state];
  const hint = t(`connection.${state}.hint`);
  return (
    <p
      role="status"
      aria-label={t('connection.label')}
      title={hint}
      data-connection={state}
      className={`inline-flex items-center gap-2 rounded-full px-3 py-1 text-sm font-medium ring-1 ring-inset ${style.pill}`}
    >
      <span aria-hidden="true" className={`h-2 w-2 rounded-full ${style.dot}`} />
      <span>{t(`connection.${state}`)}</span>
      <span className="sr-only">{hint}</span>
    </p>
  );
}
