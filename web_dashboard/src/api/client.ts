/**
 * The dashboard's API client: a thin layer over `fetch` for dashboard-api on the same origin.
 *
 * Every failure becomes an {@link ApiError} whose `detail` is the server's `{"detail": ...}`
 * (a string, or FastAPI's list of `{loc, msg, type}` flattened to "field: message"). Writes carry
 * the session's CSRF token (`X-CSRF-Token`); a 401 is reported through `onUnauthorized`.
 */
import type {
  Accepted,
  HandoffClosedAnswer,
  HandoffQueue,
  Message,
  Order,
  OrderDetail,
  OrderPage,
  OrderQuery,
  Stats,
} from './types';
import type { Role, SessionUser } from '../auth/permissions';
import type { CurrentMailTemplate, MailPreview, MailTemplate, MailTemplateChange, SavedMailTemplate } from './mailTemplate';
import type { CustomerDataFile, ErasureLogEntry, ErasureRequest, ErasureResult } from './privacy';

/** An operator account, as `GET /dashboard/operators` lists it (admin only). */
export interface OperatorAccount {
  id: string | number;
  username: string;
  display_name: string | null;
  role: Role;
  active: boolean;
}

export interface NewOperator {
  username: string;
  /** At least 10 characters. */
  password: string;
  role: Role;
  display_name?: string;
}

export type OperatorChange = Partial<{ role: Role; active: boolean; password: string }>;

/** What `POST /dashboard/auth/login` and `GET /dashboard/auth/me` answer. */
/** The server's verification settings, as the session carries them. */
export interface ServerLimits {
  resend_cooldown_seconds: number;
  max_verification_sends: number;
}

export interface SessionInfo {
  operator: SessionUser;
  csrf_token: string;
  limits?: ServerLimits;
}

export const API_BASE = '/dashboard';
export const CSRF_HEADER = 'X-CSRF-Token';

export interface FieldError {
  /** The failing field's name (the last part of `loc`), or '' when the server named none. */
  field: string;
  message: string;
  /** The whole location after its first part (`body`, `query`), dotted: `id.instructions`. */
  path: string;
  /** The kind of problem (`value_error.too_long`), '' when the server named none. */
  type: string;
}

export type ApiErrorKind = 'http' | 'network' | 'aborted';

export class ApiError extends Error {
  readonly kind: ApiErrorKind;
  /** HTTP status; 0 when no answer arrived. */
  readonly status: number;
  /** The server's detail as one readable string ('' when it sent none). */
  readonly detail: string;
  readonly fieldErrors: FieldError[];
  /** Seconds from `Retry-After` (429, 503), else null. */
  readonly retryAfter: number | null;

  constructor(init: {
    kind: ApiErrorKind;
    status: number;
    detail: string;
    fieldErrors?: FieldError[];
    retryAfter?: number | null;
  }) {
    super(init.detail || (init.status ? `HTTP ${init.status}` : init.kind));
    this.name = 'ApiError';
    this.kind = init.kind;
    this.status = init.status;
    this.detail = init.detail;
    this.fieldErrors = init.fieldErrors ?? [];
    this.retryAfter = init.retryAfter ?? null;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads `{"detail": string | [{loc, msg, type}]}` into a message and field errors. */
export function parseDetail(body: unknown): { detail: string; fieldErrors: FieldError[] } {
  if (!isRecord(body)) return { detail: '', fieldErrors: [] };
  const detail = body.detail;
  if (typeof detail === 'string') return { detail, fieldErrors: [] };
  if (Array.isArray(detail)) {
    const fieldErrors: FieldError[] = detail.filter(isRecord).map((item) => {
      const loc = Array.isArray(item.loc) ? item.loc : [];
      const last: unknown = loc.length > 0 ? loc[loc.length - 1] : '';
      const field = typeof last === 'string' || typeof last === 'number' ? String(last) : '';
      const message = typeof item.msg === 'string' ? item.msg : '';
      const path = loc
        .slice(1)
        .filter((part): part is string | number => typeof part === 'string' || typeof part === 'number')
        .join('.');
      const type = typeof item.type === 'string' ? item.type : '';
      return { field, message, path, type };
    });
    const text = fieldErrors
      .map((f) => (f.field ? `${f.field}: ${f.message}` : f.message))
      .filter(Boolean)
      .join('; ');
    return { detail: text, fieldErrors };
  }
  return { detail: '', fieldErrors: [] };
}

/** `Retry-After` as seconds (a delay or an HTTP date), else null. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

export interface ApiClientOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  /** The session's CSRF token, sent on every write when present. */
  getCsrfToken?: () => string | null;
  /** Called on 401: the session ended, the login page shows. */
  onUnauthorized?: () => void;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function queryString(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === '') continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** The filters of a query as URL parameters (shared by the list and the export). */
export function filterParams(query: Partial<OrderQuery>): Record<string, string> {
  const params: Record<string, string> = {};
  if (query.status) params.status = query.status;
  if (query.wilayah) params.wilayah = query.wilayah;
  const q = query.q?.trim();
  if (q) params.q = q;
  if (query.sort) params.sort = query.sort;
  if (query.order) params.order = query.order;
  return params;
}

/**
 * The file name a `Content-Disposition: attachment` header gives (`filename*=UTF-8''...` before
 * `filename="..."`), or `fallback`. Path separators are dropped: the name is only a suggestion.
 */
export function attachmentName(header: string | null, fallback: string): string {
  if (!header) return fallback;
  let name = '';
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header)?.[1];
  if (extended) {
    try {
      name = decodeURIComponent(extended.trim());
    } catch {
      name = '';
    }
  }
  if (!name) name = /filename\s*=\s*"([^"]*)"/.exec(header)?.[1] ?? /filename\s*=\s*([^;\s]+)/.exec(header)?.[1] ?? '';
  name = name.replace(/[/\\]/g, '').trim();
  return name || fallback;
}

/** The server's export formats: CSV (streamed) and an Excel workbook. */
export type ExportFormat = 'csv' | 'xlsx' | 'pdf';

export function createApiClient(options: ApiClientOptions = {}) {
  const base = options.baseUrl ?? API_BASE;
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  async function request(
    method: string,
    path: string,
    init: { signal?: AbortSignal | undefined; body?: unknown } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    if (WRITE_METHODS.has(method)) {
      const token = options.getCsrfToken?.();
      if (token) headers[CSRF_HEADER] = token;
    }
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers,
        credentials: 'same-origin',
        signal: init.signal ?? null,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
    } catch (e) {
      const aborted = e instanceof DOMException && e.name === 'AbortError';
      throw new ApiError({
        kind: aborted ? 'aborted' : 'network',
        status: 0,
        detail: aborted ? '' : e instanceof Error ? e.message : String(e),
      });
    }
    if (!response.ok) {
      let body: unknown = null;
      try {
        body = await response.json();
      } catch {
        body = null;
      }
      const { detail, fieldErrors } = parseDetail(body);
      if (response.status === 401) options.onUnauthorized?.();
      throw new ApiError({
        kind: 'http',
        status: response.status,
        detail,
        fieldErrors,
        retryAfter: parseRetryAfter(response.headers.get('Retry-After')),
      });
    }
    return response;
  }

  async function json<T>(method: string, path: string, signal?: AbortSignal, body?: unknown): Promise<T> {
    const response = await request(method, path, { signal, body });
    return (await response.json()) as T;
  }

  const id = (orderId: string) => encodeURIComponent(orderId);

  return {
    /** Signs in: 401 wrong credentials, 429 rate limited (`retryAfter`), 422 malformed. */
    login(username: string, password: string): Promise<SessionInfo> {
      return json<SessionInfo>('POST', '/auth/login', undefined, { username, password });
    },
    /** The current session (401 when nobody is signed in). */
    me(signal?: AbortSignal): Promise<SessionInfo> {
      return json<SessionInfo>('GET', '/auth/me', signal);
    },
    async logout(): Promise<void> {
      await request('POST', '/auth/logout');
    },
    listOperators(signal?: AbortSignal): Promise<OperatorAccount[]> {
      return json<OperatorAccount[]>('GET', '/operators', signal);
    },
    /** 201; 409 when the username is taken, 422 for invalid fields. */
    createOperator(operator: NewOperator): Promise<OperatorAccount> {
      return json<OperatorAccount>('POST', '/operators', undefined, operator);
    },
    updateOperator(operatorId: string | number, change: OperatorChange): Promise<OperatorAccount> {
      return json<OperatorAccount>('PATCH', `/operators/${encodeURIComponent(String(operatorId))}`, undefined, change);
    },
    async listOrders(
      query: OrderQuery,
      cursor: string | null,
      signal?: AbortSignal,
    ): Promise<OrderPage> {
      const path = `/orders${queryString({
        limit: query.limit,
        ...filterParams(query),
        cursor,
      })}`;
      const response = await request('GET', path, { signal });
      const orders = (await response.json()) as Order[];
      const next = response.headers.get('X-Next-Cursor');
      const total = response.headers.get('X-Total-Count');
      const totalCount = total === null || total === '' ? null : Number(total);
      return {
        orders,
        nextCursor: next || null,
        totalCount: totalCount !== null && Number.isFinite(totalCount) ? totalCount : null,
      };
    },
    getOrder(orderId: string, signal?: AbortSignal): Promise<OrderDetail> {
      return json<OrderDetail>('GET', `/orders/${id(orderId)}`, signal);
    },
    getStats(signal?: AbortSignal): Promise<Stats> {
      return json<Stats>('GET', '/stats', signal);
    },
    deleteOrder(orderId: string): Promise<Message> {
      return json<Message>('DELETE', `/order/${id(orderId)}`);
    },
    sendVerification(orderId: string): Promise<Accepted> {
      return json<Accepted>('POST', `/verification/${id(orderId)}`);
    },
    resendVerification(orderId: string): Promise<Accepted> {
      return json<Accepted>('POST', `/verification/${id(orderId)}/resend`);
    },
    /** The server-side export of the current filtered view (streamed by dashboard-api). */
    exportUrl(query: Partial<OrderQuery>, format: ExportFormat): string {
      return `${base}/orders/export${queryString({ format, ...filterParams(query) })}`;
    },
    eventsUrl(): string {
      return `${base}/events`;
    },
    /** The verification mail's template (admin): the current one, or the default. */
    getMailTemplate(signal?: AbortSignal): Promise<CurrentMailTemplate> {
      return json<CurrentMailTemplate>('GET', '/mail-template', signal);
    },
    /** 202 once the change is on the stream; 422 names each failing field (`id.instructions`). */
    saveMailTemplate(template: MailTemplate): Promise<SavedMailTemplate> {
      return json<SavedMailTemplate>('PUT', '/mail-template', undefined, template);
    },
    /** The mail `template` makes with sample values; 422 like saving. */
    previewMailTemplate(template: MailTemplate, signal?: AbortSignal): Promise<MailPreview> {
      return json<MailPreview>('POST', '/mail-template/preview', signal, template);
    },
    /** The saved templates, newest first. */
    mailTemplateHistory(signal?: AbortSignal): Promise<MailTemplateChange[]> {
      return json<MailTemplateChange[]>('GET', '/mail-template/history', signal);
    },
    /** The open hand-offs, oldest first (at most 200; `open` counts them all). */
    listHandoffs(signal?: AbortSignal): Promise<HandoffQueue> {
      return json<HandoffQueue>('GET', '/handoffs', signal);
    },
    /** "Sudah dihubungi": answers 200 for a closed one too, 404 for an unknown one. */
    closeHandoff(handoffId: string): Promise<HandoffClosedAnswer> {
      return json<HandoffClosedAnswer>('POST', `/handoffs/${encodeURIComponent(handoffId)}/close`);
    },
    /**
     * Erases a customer's personal data in all their orders and hand-offs (admin): 202 once
     * `customer.erased` is on the stream; 422 names the failing fields, 404 when nothing is held.
     */
    eraseCustomer(request: ErasureRequest): Promise<ErasureResult> {
      return json<ErasureResult>('POST', '/admin/erasures', undefined, request);
    },
    /** The erasures, newest first (admin). */
    listErasures(limit: number, signal?: AbortSignal): Promise<ErasureLogEntry[]> {
      return json<ErasureLogEntry[]>('GET', `/admin/erasures${queryString({ limit })}`, signal);
    },
    /** Everything held about the customer with this e-mail, as a JSON file (admin); 404 when nothing is. */
    async customerData(email: string, signal?: AbortSignal): Promise<CustomerDataFile> {
      // The address goes in the body: URLs end up in access logs, which cannot be erased.
      const response = await request('POST', '/admin/customers/data', { signal, body: { email } });
      const blob = await response.blob();
      return {
        blob,
        filename: attachmentName(response.headers.get('Content-Disposition'), 'gadai-data-pelanggan.json'),
      };
    },
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
