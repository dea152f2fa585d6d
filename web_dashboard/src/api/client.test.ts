import { describe, expect, it } from 'vitest';

import { fakeFetch, jsonResponse, urlOf } from '../test/helpers';
import { ApiError, CSRF_HEADER, createApiClient, parseDetail, parseRetryAfter } from './client';
import type { OrderQuery } from './types';

const QUERY: OrderQuery = { status: '', wilayah: '', q: '', sort: 'created_at', order: 'desc', limit: 50 };

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('parseDetail', () => {
  it('reads a string detail', () => {
    expect(parseDetail({ detail: 'Order not found' })).toEqual({ detail: 'Order not found', fieldErrors: [] });
  });

  it('flattens a FastAPI validation list, naming every field', () => {
    const body = {
      detail: [
        { loc: ['query', 'status'], msg: 'must be On Process, On Verification or Verified', type: 'value_error' },
        { loc: ['body', 0, 'email'], msg: 'not a valid address', type: 'value_error' },
        { loc: [], msg: 'something else', type: 'value_error' },
      ],
    };
    const parsed = parseDetail(body);
    expect(parsed.fieldErrors).toEqual([
      { field: 'status', message: 'must be On Process, On Verification or Verified', path: 'status', type: 'value_error' },
      { field: 'email', message: 'not a valid address', path: '0.email', type: 'value_error' },
      { field: '', message: 'something else', path: '', type: 'value_error' },
    ]);
    expect(parsed.detail).toBe(
      'status: must be On Process, On Verification or Verified; email: not a valid address; something else',
    );
  });

  it('copes with bodies that are not the documented shape', () => {
    expect(parseDetail(null)).toEqual({ detail: '', fieldErrors: [] });
    expect(parseDetail('oops')).toEqual({ detail: '', fieldErrors: [] });
    expect(parseDetail({ detail: 42 })).toEqual({ detail: '', fieldErrors: [] });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('42')).toBe(42);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
    const now = Date.parse('2024-05-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 May 2024 00:00:30 GMT', now)).toBe(30);
  });
});

describe('createApiClient', () => {
  it('maps a string detail to an ApiError', async () => {
    const fetch = fakeFetch(() =>
      jsonResponse({ detail: 'Order sudah verified atau sedang dalam proses verifikasi' }, { status: 400 }),
    );
    const api = createApiClient({ fetch });
    const error = await failure(api.sendVerification('abc'));
    expect(error.kind).toBe('http');
    expect(error.status).toBe(400);
    expect(error.detail).toBe('Order sudah verified atau sedang dalam proses verifikasi');
    expect(error.message).toBe('Order sudah verified atau sedang dalam proses verifikasi');
  });

  it('maps a validation list to field errors', async () => {
    const fetch = fakeFetch(() =>
      jsonResponse(
        { detail: [{ loc: ['query', 'limit'], msg: 'must be a whole number from 1 to 200', type: 'value_error' }] },
        { status: 422 },
      ),
    );
    const error = await failure(createApiClient({ fetch }).listOrders({ ...QUERY, limit: 500 }, null));
    expect(error.status).toBe(422);
    expect(error.fieldErrors).toEqual([
      { field: 'limit', message: 'must be a whole number from 1 to 200', path: 'limit', type: 'value_error' },
    ]);
    expect(error.detail).toBe('limit: must be a whole number from 1 to 200');
  });

  it('keeps Retry-After of a 429', async () => {
    const fetch = fakeFetch(() =>
      jsonResponse({ detail: 'Too Many Requests' }, { status: 429, headers: { 'Retry-After': '37' } }),
    );
    const error = await failure(createApiClient({ fetch }).resendVerification('abc'));
    expect(error.status).toBe(429);
    expect(error.retryAfter).toBe(37);
  });

  it('survives an error body that is not JSON', async () => {
    const fetch = fakeFetch(() => new Response('<html>Bad Gateway</html>', { status: 502 }));
    const error = await failure(createApiClient({ fetch }).getStats());
    expect(error.status).toBe(502);
    expect(error.detail).toBe('');
    expect(error.message).toBe('HTTP 502');
  });

  it('reports a network failure as status 0', async () => {
    const api = createApiClient({
      fetch: () => Promise.reject(new TypeError('Failed to fetch')),
    });
    const error = await failure(api.getStats());
    expect(error.kind).toBe('network');
    expect(error.status).toBe(0);
  });

  it('tells the session about a 401', async () => {
    let expired = 0;
    const api = createApiClient({
      fetch: fakeFetch(() => jsonResponse({ detail: 'Not signed in' }, { status: 401 })),
      onUnauthorized: () => {
        expired += 1;
      },
    });
    await failure(api.getStats());
    expect(expired).toBe(1);
  });

  it('sends the CSRF token on writes only', async () => {
    const fetch = fakeFetch((url, init) => {
      if (init.method === 'DELETE') return jsonResponse({ message: 'Order berhasil dihapus' });
      if (url.pathname === '/dashboard/stats') return jsonResponse({});
      return undefined;
    });
    const api = createApiClient({ fetch, getCsrfToken: () => 'tok3n' });
    await api.getStats();
    await expect(api.deleteOrder('a b')).resolves.toEqual({ message: 'Order berhasil dihapus' });
    const [getCall, deleteCall] = fetch.mock.calls;
    expect((getCall?.[1]?.headers as Record<string, string>)[CSRF_HEADER]).toBeUndefined();
    expect(deleteCall?.[0]).toBe('/dashboard/order/a%20b');
    expect((deleteCall?.[1]?.headers as Record<string, string>)[CSRF_HEADER]).toBe('tok3n');
    expect(deleteCall?.[1]?.credentials).toBe('same-origin');
  });

  it('pages through orders with X-Next-Cursor and X-Total-Count', async () => {
    const fetch = fakeFetch(() =>
      jsonResponse([], { headers: { 'X-Next-Cursor': 'abc', 'X-Total-Count': '120' } }),
    );
    const api = createApiClient({ fetch });
    const page = await api.listOrders(
      { ...QUERY, status: 'Verified', wilayah: 'Jawa Barat', q: '  emas ', sort: 'nama_customer', order: 'asc', limit: 25 },
      'cur',
    );
    expect(page).toEqual({ orders: [], nextCursor: 'abc', totalCount: 120 });
    const url = urlOf(fetch.mock.calls[0]![0]);
    expect(url.pathname).toBe('/dashboard/orders');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      limit: '25',
      status: 'Verified',
      wilayah: 'Jawa Barat',
      q: 'emas',
      sort: 'nama_customer',
      order: 'asc',
      cursor: 'cur',
    });

    const last = await createApiClient({ fetch: fakeFetch(() => jsonResponse([])) }).listOrders(QUERY, null);
    expect(last.nextCursor).toBeNull();
    expect(last.totalCount).toBeNull();
  });

  it('builds the export link from the current filters', () => {
    const api = createApiClient();
    expect(api.exportUrl({ ...QUERY, status: 'On Process', q: 'budi' }, 'csv')).toBe(
      '/dashboard/orders/export?format=csv&status=On+Process&q=budi&sort=created_at&order=desc',
    );
    expect(api.exportUrl({ ...QUERY, wilayah: 'Bandung', sort: 'estimasi_nilai_barang', order: 'asc' }, 'xlsx')).toBe(
      '/dashboard/orders/export?format=xlsx&wilayah=Bandung&sort=estimasi_nilai_barang&order=asc',
    );
    expect(api.exportUrl({ ...QUERY, wilayah: 'Bandung' }, 'pdf')).toBe(
      '/dashboard/orders/export?format=pdf&wilayah=Bandung&sort=created_at&order=desc',
    );
  });
});
