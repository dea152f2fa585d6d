/** The page's filters and open order in the address bar, so views can be bookmarked and shared. */
import { ACTIVE_STATUSES, type ActiveStatus, type OrderQuery, type SortKey, type SortOrder } from '../api/types';

export const DEFAULT_QUERY: OrderQuery = {
  status: '',
  wilayah: '',
  q: '',
  sort: 'created_at',
  order: 'desc',
  limit: 50,
};

const SORT_KEYS: readonly SortKey[] = ['created_at', 'estimasi_nilai_barang', 'nama_customer'];

/** The direction a column sorts in when first clicked: names A-Z, newest and largest first. */
export function defaultOrder(sort: SortKey): SortOrder {
  return sort === 'nama_customer' ? 'asc' : 'desc';
}

export function readUrlState(search: string): { query: OrderQuery; orderId: string | null } {
  const params = new URLSearchParams(search);
  const status = params.get('status') ?? '';
  const sortParam = params.get('sort') ?? '';
  const sort = (SORT_KEYS as readonly string[]).includes(sortParam) ? (sortParam as SortKey) : DEFAULT_QUERY.sort;
  const orderParam = params.get('dir');
  const limit = Number(params.get('limit'));
  return {
    query: {
      status: (ACTIVE_STATUSES as readonly string[]).includes(status) ? (status as ActiveStatus) : '',
      wilayah: params.get('wilayah') ?? '',
      q: (params.get('q') ?? '').slice(0, 100),
      sort,
      order: orderParam === 'asc' || orderParam === 'desc' ? orderParam : defaultOrder(sort),
      limit: Number.isInteger(limit) && limit >= 1 && limit <= 200 ? limit : DEFAULT_QUERY.limit,
    },
    orderId: params.get('order') || null,
  };
}

export function writeUrlState(query: OrderQuery, orderId: string | null): string {
  const params = new URLSearchParams();
  if (query.status) params.set('status', query.status);
  if (query.wilayah) params.set('wilayah', query.wilayah);
  if (query.q.trim()) params.set('q', query.q.trim());
  if (query.sort !== DEFAULT_QUERY.sort) params.set('sort', query.sort);
  if (query.order !== defaultOrder(query.sort)) params.set('dir', query.order);
  if (query.limit !== DEFAULT_QUERY.limit) params.set('limit', String(query.limit));
  if (orderId) params.set('order', orderId);
  const text = params.toString();
  return text ? `?${text}` : '';
}
