/**
 * Personal data on screen (UU PDP): how an erased customer is named, and the erasure form's
 * checks, which mirror dashboard-api's so most mistakes are caught before asking it.
 */
import type { FieldError } from '../api/client';
import { ALASAN_MAX_CHARS, ALASAN_MIN_CHARS, type ErasureRequest } from '../api/privacy';
import type { Translate } from '../i18n/context';

/** The 8 hex digits customers know an order by (the mail's reference): `1A2B3C4D`. */
export function shortReference(id: string): string {
  return id.replaceAll('-', '').slice(0, 8).toUpperCase();
}

/**
 * The name to show, or to put in a button's label: the customer's name; once their data was
 * erased "data dihapus (1A2B3C4D)" (the record's reference keeps labels apart); "Tidak diketahui"
 * while the projection has not seen the order's creation yet.
 */
export function customerLabel(
  record: { id: string; nama_customer: string | null; data_dihapus?: boolean },
  t: Translate,
): string {
  if (record.data_dihapus === true) return t('privacy.erasedCustomer', { reference: shortReference(record.id) });
  return record.nama_customer ?? t('table.unknown');
}

/** The form's fields, as the server names them in a 422. */
export type ErasureField = 'email' | 'order_id' | 'alasan';

/** Each field's problem, and `form` for one that concerns no single field (404, 403, ...). */
export type ErasureErrors = Partial<Record<ErasureField | 'form', string>>;

export type ErasureBy = 'email' | 'order_id';

/** dashboard-api's test of an address: text before the '@', a dot after it, no spaces, at most 254 characters. */
function plausibleEmail(email: string): boolean {
  const at = email.indexOf('@');
  return email.length <= 254 && !/\s/.test(email) && at > 0 && email.slice(at + 1).includes('.');
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What is wrong with a customer's e-mail as typed, or null. */
export function emailProblem(email: string, t: Translate): string | null {
  const value = email.trim();
  if (!value) return t('privacy.err.emailRequired');
  if (!plausibleEmail(value)) return t('privacy.err.emailInvalid');
  return null;
}

/**
 * What is wrong with a reason (the request's number), or null. Its length is counted in code
 * points, as the server counts characters.
 */
export function alasanProblem(alasan: string, t: Translate): string | null {
  const text = alasan.trim();
  const length = Array.from(text).length;
  if (length < ALASAN_MIN_CHARS) return t('privacy.err.alasanShort', { min: ALASAN_MIN_CHARS });
  if (length > ALASAN_MAX_CHARS) return t('privacy.err.alasanLong', { max: ALASAN_MAX_CHARS });
  // An e-mail in the reason would keep the very data being erased in the log.
  if (text.includes('@')) return t('privacy.err.alasanAt');
  return null;
}

/**
 * The request the form describes, or the problems that keep it from being sent. Values are
 * trimmed; exactly one of e-mail and order id is sent, as the server requires.
 */
export function erasureRequest(
  input: { by: ErasureBy; value: string; alasan: string },
  t: Translate,
): { request: ErasureRequest; errors: null } | { request: null; errors: ErasureErrors } {
  const errors: ErasureErrors = {};
  const value = input.value.trim();
  if (input.by === 'email') {
    const email = emailProblem(value, t);
    if (email) errors.email = email;
  } else {
    if (!value) errors.order_id = t('privacy.err.orderRequired');
    else if (!UUID.test(value)) errors.order_id = t('privacy.err.orderInvalid');
  }
  const alasan = alasanProblem(input.alasan, t);
  if (alasan) errors.alasan = alasan;
  if (Object.keys(errors).length > 0) return { request: null, errors };
  const reason = input.alasan.trim();
  const request: ErasureRequest =
    input.by === 'email' ? { email: value, alasan: reason } : { order_id: value.toLowerCase(), alasan: reason };
  return { request, errors: null };
}

const FIELDS: readonly string[] = ['email', 'order_id', 'alasan'];

/**
 * A problem dashboard-api names (its error `type`) in the admin's language; null for one this
 * app does not know (its message is shown as the server wrote it).
 */
function knownProblem(error: FieldError, t: Translate): string | null {
  switch (error.type) {
    case 'value_error.one_of':
      return t('privacy.err.oneOf');
    case 'value_error.email':
      return t('privacy.err.emailInvalid');
    case 'type_error.uuid':
      return t('privacy.err.orderInvalid');
    case 'value_error.length':
    case 'value_error.missing':
      return error.field === 'alasan' ? t('privacy.err.alasanLength', { min: ALASAN_MIN_CHARS, max: ALASAN_MAX_CHARS }) : null;
    case 'value_error.personal_data':
      return t('privacy.err.alasanAt');
    default:
      return null;
  }
}

/**
 * A 422's field errors by field, translated where the kind of problem is known; one that names
 * no field of the form becomes the form's.
 */
export function serverErasureErrors(fieldErrors: FieldError[], t: Translate, fallback: string): ErasureErrors {
  const errors: ErasureErrors = {};
  const general: string[] = [];
  for (const error of fieldErrors) {
    const message = knownProblem(error, t) ?? (error.message || fallback);
    if (FIELDS.includes(error.field)) {
      const field = error.field as ErasureField;
      errors[field] ??= message;
    } else {
      general.push(message);
    }
  }
  if (general.length > 0 || Object.keys(errors).length === 0) errors.form = general.join(' ') || fallback;
  return errors;
}
