import type { OrderStatus } from '../api/types';
import { useI18n } from '../i18n/context';

const STATUS_STYLES: Record<OrderStatus, { badge: string; dot: string }> = {
  'On Process': { badge: 'bg-yellow-100 text-yellow-900 ring-yellow-300', dot: 'bg-yellow-500' },
  'On Verification': { badge: 'bg-orange-100 text-orange-900 ring-orange-300', dot: 'bg-orange-500' },
  Verified: { badge: 'bg-green-100 text-green-900 ring-green-300', dot: 'bg-green-600' },
  Expired: { badge: 'bg-slate-100 text-slate-800 ring-slate-300', dot: 'bg-slate-500' },
  Deleted: { badge: 'bg-red-100 text-red-900 ring-red-300', dot: 'bg-red-600' },
};

export function StatusBadge({ status }: { status: OrderStatus }) {
  const { t } = useI18n();
  const style = STATUS_STYLES[status];
  return (
    <span
      data-status={status}
      className={`inline-flex items-center gap-1.5 whitespace-nowrap rounded-full px-2.5 py-0.5 text-xs font-semibold ring-1 ring-inset ${style.badge}`}
    >
      <span aria-hidden="true" className={`h-1.5 w-1.5 rounded-full ${style.dot}`} />
      {t(`status.${status}`)}
    </span>
  );
}
