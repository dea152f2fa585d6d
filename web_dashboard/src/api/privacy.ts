/**
 * Personal data (UU PDP No. 27/2022, issue 15), admins only: erasing a customer's personal data
 * (`POST /dashboard/admin/erasures`), the log of erasures (`GET /dashboard/admin/erasures`) and
 * the customer's access export (`GET /dashboard/admin/customers/data`): the generated types of
 * services/dashboard-api/openapi.json.
 */
import type { components } from './openapi.gen';

/** Whose data to erase: every order and hand-off of the customer with this e-mail, or of this order's customer. */
export type ErasureTarget = { email: string } | { order_id: string };

/**
 * `POST /dashboard/admin/erasures`'s body: the target and why (the request's number, 3-200
 * characters, no '@'). Narrower than the schema, which cannot say "exactly one of".
 */
export type ErasureRequest = ErasureTarget & { alasan: string } & components['schemas']['ErasureRequest'];

/** The 202 answer: whose key was shredded (subject id, generation), and how many orders and hand-offs it reaches. */
export type ErasureResult = components['schemas']['ErasureAccepted'];

/** One erasure in the log (`customer.erased`): who, when, on what basis and why, without the erased data. */
export type ErasureLogEntry = components['schemas']['ErasureLogEntry'];

/** The access export: everything the system holds about one customer, as a JSON file. */
export interface CustomerDataFile {
  blob: Blob;
  filename: string;
}

/** The server's bounds on `alasan`. */
export const ALASAN_MIN_CHARS = 3;
export const ALASAN_MAX_CHARS = 200;

/** How many log entries the panel shows. */
export const ERASURE_LOG_LIMIT = 50;
