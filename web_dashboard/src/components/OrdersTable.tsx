import { isErased, type Order, type SortKey, type SortOrder } from '../api/types';
import { useI18n } from '../i18n/context';
import type { MessageKey } from '../i18n/messages';
import { formatCount, formatDateTime, formatRupiah, formatShortDateTime } from '../lib/format';
import { customerLabel } from '../lib/privacy';
import { ErasedText } from './privacy/ErasedText';
import { RowActions, type RowActionHandlers } from './RowActions';
import { Skeleton } from './Skeleton';
import { StatusBadge } from './StatusBadge';

export type TableState = 'loading' | 'ready' | 'error';

export interface OrdersTableProps {
  orders: Order[];
  state: TableState;
  errorMessage: string | null;
  filtered: boolean;
  sort: SortKey;
  order: SortOrder;
  onSort: (key: SortKey) => void;
  onRetry: () => void;
  onOpen: (order: Order) => void;
  highlighted: ReadonlySet<string>;
  busy: ReadonlySet<string>;
  deleting: ReadonlySet<string>;
  cooldowns: Readonly<Record<string, number>>;
  now: number;
  actions: RowActionHandlers;
  limit: number;
}

interface Column {
  key: MessageKey;
  sort?: SortKey;
  className?: string;
}

/** Below md the rows are cards; these cells then show their column's name above the value. */
const CARD_CELL =
  'px-3 py-2.5 max-md:p-0 max-md:before:mb-0.5 max-md:before:block max-md:before:text-[11px] max-md:before:font-semibold max-md:before:tracking-wide max-md:before:text-slate-500 max-md:before:uppercase max-md:before:content-[attr(data-label)]';

const COLUMNS: Column[] = [
  { key: 'table.customer', sort: 'nama_customer', className: 'min-w-44' },
  { key: 'table.email', className: 'hidden 2xl:table-cell' },
  { key: 'table.item', className: 'min-w-36' },
  { key: 'table.type', className: 'hidden 2xl:table-cell' },
  { key: 'table.quantity', className: 'hidden 2xl:table-cell text-right' },
  { key: 'table.value', sort: 'estimasi_nilai_barang', className: 'text-right' },
  { key: 'table.wilayah' },
  { key: 'table.status' },
  { key: 'table.created', sort: 'created_at' },
  { key: 'table.actions' },
];

export function OrdersTable(props: OrdersTableProps) {
  const { t } = useI18n();
  const { orders, state } = props;
  const showSkeleton = state === 'loading' && orders.length === 0;

  return (
    <div className="relative overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200" aria-busy={state === 'loading'}>
      <table className="w-full border-collapse text-left text-sm max-md:block md:min-w-[44rem]">
        <caption className="sr-only">{t('table.caption')}</caption>
        <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-700 max-md:hidden">
          <tr>
            {COLUMNS.map((column) => (
              <HeaderCell key={column.key} column={column} sort={props.sort} order={props.order} onSort={props.onSort} />
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 max-md:block">
          {showSkeleton
            ? Array.from({ length: Math.min(props.limit, 8) }, (_, i) => <SkeletonRow key={i} />)
            : orders.map((order) => (
                <OrderRow key={order.id} {...props} row={order} />
              ))}
        </tbody>
      </table>
      {showSkeleton ? <p className="sr-only" role="status">{t('table.loading')}</p> : null}
      {state === 'error' ? (
        <div role="alert" className="flex flex-col items-center gap-3 px-4 py-10 text-center text-sm text-red-900">
          <p className="font-medium">{t('table.error')}</p>
          {props.errorMessage ? <p className="text-red-800">{props.errorMessage}</p> : null}
          <button type="button" className="btn-secondary" onClick={props.onRetry}>
            {t('table.retry')}
          </button>
        </div>
      ) : null}
      {state === 'ready' && orders.length === 0 ? (
        <p className="px-4 py-10 text-center text-sm text-slate-600">
          {props.filtered ? t('table.empty.filtered') : t('table.empty')}
        </p>
      ) : null}
    </div>
  );
}

function HeaderCell({
  column,
  sort,
  order,
  onSort,
}: {
  column: Column;
  sort: SortKey;
  order: SortOrder;
  onSort: (key: SortKey) => void;
}) {
  const { t } = useI18n();
  const label = t(column.key);
  const base = `px-3 py-2.5 font-semibold whitespace-nowrap ${column.className ?? ''}`;
  if (!column.sort) {
    return (
      <th scope="col" className={base}>
        {label}
      </th>
    );
  }
  const active = column.sort === sort;
  const key = column.sort;
  return (
    <th scope="col" className={base} aria-sort={active ? (order === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <button
        type="button"
        onClick={() => onSort(key)}
        title={t('table.sortBy', { column: label })}
        className={`inline-flex items-center gap-1 rounded uppercase tracking-wide hover:text-slate-950 ${
          active ? 'text-slate-950' : ''
        }`}
      >
        {label}
        <span aria-hidden="true" className={active ? '' : 'text-slate-400'}>
          {active ? (order === 'asc' ? '▲' : '▼') : '↕'}
        </span>
        {active ? <span className="sr-only">{t(order === 'asc' ? 'table.sorted.asc' : 'table.sorted.desc')}</span> : null}
      </button>
    </th>
  );
}

function quantity(order: Order, t: ReturnType<typeof useI18n>['t'], locale: string): string {
  if (order.jumlah_barang === null) return '-';
  const count = formatCount(order.jumlah_barang, locale);
  return order.jenis_barang === 'emas' ? t('quantity.grams', { count }) : count;
}

function OrderRow({ row: order, ...props }: { row: Order } & OrdersTableProps) {
  const { t, locale } = useI18n();
  const isNew = props.highlighted.has(order.id);
  const erased = isErased(order);
  const name = customerLabel(order, t);
  return (
    <tr
      data-order-id={order.id}
      data-new={isNew || undefined}
      className={`align-top transition-colors max-md:grid max-md:grid-cols-2 max-md:gap-x-3 max-md:gap-y-2 max-md:p-3 ${
        isNew ? 'row-new' : 'hover:bg-slate-50'
      }`}
    >
      <td className="px-3 py-2.5 max-md:col-span-2 max-md:p-0">
        <button
          type="button"
          onClick={() => props.onOpen(order)}
          className="text-left font-semibold text-emerald-800 underline-offset-2 hover:underline"
          aria-label={t('table.openDetail', { name })}
          aria-haspopup="dialog"
        >
          {erased ? <ErasedText /> : name}
        </button>
        {isNew ? (
          <span className="ml-2 rounded bg-amber-200 px-1.5 py-0.5 text-[10px] font-bold uppercase text-amber-950">
            {t('table.new')}
          </span>
        ) : null}
        {erased ? null : (
          <div className="max-w-56 truncate text-xs text-slate-600 2xl:hidden" title={order.email ?? undefined}>
            {order.email}
          </div>
        )}
      </td>
      <td className="hidden px-3 py-2.5 whitespace-nowrap text-slate-700 2xl:table-cell">
        {erased ? <ErasedText /> : order.email}
      </td>
      <td className={`${CARD_CELL} text-slate-800`} data-label={t('table.item')}>
        {erased ? <ErasedText /> : order.nama_barang}
        <div className="text-xs text-slate-600 2xl:hidden">
          <span className="capitalize">{order.jenis_barang}</span>
          <span aria-hidden="true">{' · '}</span>
          <span className="sr-only">{', '}</span>
          <span className="tabular-nums">{quantity(order, t, locale)}</span>
        </div>
      </td>
      <td className="hidden px-3 py-2.5 capitalize text-slate-700 2xl:table-cell">{order.jenis_barang}</td>
      <td className="hidden px-3 py-2.5 text-right whitespace-nowrap tabular-nums text-slate-700 2xl:table-cell">{quantity(order, t, locale)}</td>
      <td
        className={`${CARD_CELL} font-medium whitespace-nowrap tabular-nums text-slate-900 md:text-right`}
        data-label={t('table.value')}
        data-testid="value"
      >
        {formatRupiah(order.estimasi_nilai_barang)}
      </td>
      <td className={`${CARD_CELL} text-slate-700`} data-label={t('table.wilayah')}>
        {order.wilayah}
      </td>
      <td className={CARD_CELL} data-label={t('table.status')}>
        <StatusBadge status={order.status} />
        {order.last_error && order.status === 'On Process' && !order.sending ? (
          <p className="mt-1 max-w-48 text-xs text-red-800" title={order.last_error}>
            {t('table.lastError', { reason: order.last_error })}
          </p>
        ) : null}
      </td>
      <td className={`${CARD_CELL} whitespace-nowrap text-slate-700`} data-label={t('table.created')}>
        <time dateTime={order.created_at ?? undefined} title={formatDateTime(order.created_at, true)}>
          {formatShortDateTime(order.created_at)}
        </time>
      </td>
      <td className="px-3 py-2.5 whitespace-nowrap max-md:col-span-2 max-md:p-0 max-md:pt-1">
        <RowActions
          order={order}
          busy={props.busy.has(order.id)}
          deleting={props.deleting.has(order.id)}
          now={props.now}
          cooldownOverride={props.cooldowns[order.id]}
          handlers={props.actions}
        />
      </td>
    </tr>
  );
}

function SkeletonRow() {
  return (
    <tr aria-hidden="true" className="max-md:grid max-md:grid-cols-2 max-md:gap-2 max-md:p-3">
      {COLUMNS.map((column) => (
        <td key={column.key} className={`px-3 py-3 max-md:p-0 ${column.className ?? ''}`}>
          <Skeleton className="h-4 w-full max-w-32" />
        </td>
      ))}
    </tr>
  );
}
