/** The shapes dashboard-api answers with (README, "The dashboard: /dashboard/*"). */

export const ACTIVE_STATUSES = ['On Process', 'On Verification', 'Verified'] as const;
export type ActiveStatus = (typeof ACTIVE_STATUSES)[number];
export type OrderStatus = ActiveStatus | 'Expired' | 'Deleted';

export function isActiveStatus(status: string): status is ActiveStatus {
  return (ACTIVE_STATUSES as readonly string[]).includes(status);
}

/**
 * One order as `/dashboard/orders` and the live feed send it. The customer's facts are null
 * while the projection has seen a later event of the order before its `order.created`.
 */
export interface Order {
  id: string;
  status: OrderStatus;
  nama_customer: string | null;
  email: string | null;
  nama_barang: string | null;
  jenis_barang: string | null;
  jumlah_barang: number | null;
  estimasi_nilai_barang: number | null;
  wilayah: string | null;
  id_percakapan: string | null;
  created_at: string | null;
  updated_at: string | null;
  /** A verification mail is on its way. */
  sending: boolean;
  send_count: number;
  /** Why the last send failed, if it did. */
  last_error: string | null;
  expires_at: string | null;
  last_sent_at: string | null;
}

export type EventType =
  | 'order.created'
  | 'verification.requested'
  | 'verification.sent'
  | 'verification.failed'
  | 'order.verified'
  | 'order.expired'
  | 'order.deleted';

export interface HistoryEntry {
  seq: number;
  /** One of {@link EventType}; unknown types are shown by name. */
  type: string;
  actor: string;
  occurred_at: string;
  data: Record<string, unknown> | null;
}

export interface OrderDetail {
  order: Order;
  history: HistoryEntry[];
}

export type StatsStatus = OrderStatus;

export interface Stats {
  total: number;
  total_estimasi_nilai: number;
  per_status: Partial<Record<StatsStatus, number>>;
  per_wilayah: { wilayah: string; count: number; estimasi_nilai: number }[];
  per_day: { day: string; count: number; estimasi_nilai: number }[];
}

export type SortKey = 'created_at' | 'estimasi_nilai_barang' | 'nama_customer';
export type SortOrder = 'asc' | 'desc';

/** What the operator chose to see; everything but the cursor. */
export interface OrderQuery {
  status: ActiveStatus | '';
  wilayah: string;
  q: string;
  sort: SortKey;
  order: SortOrder;
  limit: number;
}

export interface OrderPage {
  orders: Order[];
  /** The next page's cursor; null on the last page. */
  nextCursor: string | null;
  /** The filtered total, when the server knows it cheaply. */
  totalCount: number | null;
}

/** A `change` event of `/dashboard/events`. */
export interface ChangeEvent {
  seq: number;
  type: string;
  order_id: string;
  order: Order;
}

export interface Accepted {
  message: string;
  order_id?: string;
}

export interface Message {
  message: string;
}
