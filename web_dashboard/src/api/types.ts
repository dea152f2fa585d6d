/**
 * The shapes dashboard-api answers with (README, "The dashboard: /dashboard/*"). The orders, their
 * history and the stats are the generated types of services/dashboard-api/openapi.json
 * (`openapi.gen.ts`, `npm run gen:types`; `npm run check:types` fails when it is stale).
 */
import type { components, operations } from './openapi.gen';

type JsonBody<R> = R extends { content: { 'application/json': infer B } } ? B : never;

export const ACTIVE_STATUSES = ['On Process', 'On Verification', 'Verified'] as const;
export type ActiveStatus = (typeof ACTIVE_STATUSES)[number];
export type OrderStatus = ActiveStatus | 'Expired' | 'Deleted';

export function isActiveStatus(status: string): status is ActiveStatus {
  return (ACTIVE_STATUSES as readonly string[]).includes(status);
}

/**
 * One order as `/dashboard/orders` and the live feed send it. The customer's facts are null
 * while the projection has seen a later event of the order before its `order.created`, and for
 * good once the customer's data was erased (`data_dihapus`, UU PDP No. 27/2022).
 */
export type Order = components['schemas']['Order'];

/**
 * Whether the order's (or hand-off's) personal fields were erased: their key is shredded, so
 * they are null for good (not merely unknown yet).
 */
export function isErased(record: { data_dihapus?: boolean }): boolean {
  return record.data_dihapus === true;
}

export type EventType =
  | 'order.created'
  | 'verification.requested'
  | 'verification.sent'
  | 'verification.failed'
  | 'order.verified'
  | 'order.expired'
  | 'order.deleted';

/**
 * An order and its history. The history of an erased order carries its personal fields null or
 * not at all.
 */
export type OrderDetail = JsonBody<operations['getOrder']['responses'][200]>;

/**
 * One event of an order's history; `type` is one of {@link EventType}, unknown types are shown by
 * name. The app reads `data` defensively (a JSON null is possible in the column).
 */
export type HistoryEntry = Omit<OrderDetail['history'][number], 'data'> & {
  data: Record<string, unknown> | null;
};

export type StatsStatus = OrderStatus;

export type Stats = JsonBody<operations['stats']['responses'][200]>;

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

/*
 * Hand-offs: conversations the agent handed to an officer (`GET /dashboard/handoffs`, the
 * `handoff` events of the live feed), as generated from services/dashboard-api's OpenAPI document.
 */

/**
 * One hand-off. The server always sends every field; `order_id`, `referensi`, `closed_at` and
 * `closed_by` are null when absent (the schema marks them optional). The conversation, name,
 * e-mail and summary are null once the customer's data was erased (`data_dihapus`).
 */
export type Handoff = components['schemas']['Handoff'];

/** The open hand-offs: oldest first, at most 200; `open` counts them all. */
export type HandoffQueue = components['schemas']['HandoffQueue'];

/** `POST /dashboard/handoffs/{id}/close`'s answer. */
export type HandoffClosedAnswer = components['schemas']['HandoffClosedAnswer'];

/** A `handoff` event of `/dashboard/events`: a hand-off was opened or closed. */
export interface HandoffEvent {
  seq: number;
  /** `customer.handoff_opened` or `customer.handoff_closed`. */
  type: string;
  order_id: string;
  order: null;
  handoff: Handoff;
}
