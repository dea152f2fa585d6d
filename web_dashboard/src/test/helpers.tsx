import { render, type RenderOptions } from '@testing-library/react';
import type { ReactElement, ReactNode } from 'react';
import { vi } from 'vitest';

import { ApiProvider } from '../api/ApiProvider';
import { createApiClient, type ApiClient } from '../api/client';
import type { Handoff, Order, Stats } from '../api/types';
import { AuthProvider } from '../auth/AuthProvider';
import type { AuthState } from '../auth/permissions';
import { ToastProvider } from '../components/toast/ToastProvider';
import { I18nProvider } from '../i18n/I18nProvider';
import type { Locale } from '../i18n/messages';
import type { EventSourceLike } from '../live/useLiveFeed';

let counter = 0;

export function makeOrder(overrides: Partial<Order> = {}): Order {
  counter += 1;
  const n = String(counter).padStart(12, '0');
  return {
    id: `00000000-0000-4000-8000-${n}`,
    status: 'On Process',
    nama_customer: 'Budi Santoso',
    email: 'budi@example.com',
    nama_barang: 'iPhone 13',
    jenis_barang: 'handphone',
    jumlah_barang: 1,
    estimasi_nilai_barang: 10_000_000,
    wilayah: 'Jakarta',
    id_percakapan: null,
    created_at: '2024-05-01T08:30:00Z',
    updated_at: '2024-05-01T08:30:00Z',
    sending: false,
    send_count: 0,
    last_error: null,
    expires_at: null,
    last_sent_at: null,
    data_dihapus: false,
    ...overrides,
  };
}

export function makeHandoff(overrides: Partial<Handoff> = {}): Handoff {
  counter += 1;
  const n = String(counter).padStart(12, '0');
  return {
    id: `11111111-0000-4000-8000-${n}`,
    order_id: null,
    referensi: null,
    id_percakapan: `chat-${n}`,
    nama_customer: 'Siti Aminah',
    email: 'siti@example.com',
    ringkasan: 'Ingin bicara dengan petugas tentang perpanjangan gadai.',
    opened_at: '2024-05-01T08:30:00Z',
    closed_at: null,
    closed_by: null,
    data_dihapus: false,
    ...overrides,
  };
}

export function makeStats(overrides: Partial<Stats> = {}): Stats {
  return {
    total: 3,
    total_estimasi_nilai: 25_000_000,
    per_status: { 'On Process': 1, 'On Verification': 1, Verified: 1, Expired: 0, Deleted: 0 },
    per_wilayah: [
      { wilayah: 'Jakarta', count: 2, estimasi_nilai: 20_000_000 },
      { wilayah: 'Bandung', count: 1, estimasi_nilai: 5_000_000 },
    ],
    per_day: [{ day: '2024-05-01', count: 3, estimasi_nilai: 25_000_000 }],
    ...overrides,
  };
}

export function jsonResponse(body: unknown, init: { status?: number; headers?: Record<string, string> } = {}): Response {
  return new Response(JSON.stringify(body), {
    status: init.status ?? 200,
    headers: { 'Content-Type': 'application/json', ...init.headers },
  });
}

/** The URL a fetch call asked for. */
export function urlOf(input: RequestInfo | URL): URL {
  const raw = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  return new URL(raw, 'http://dashboard.test');
}

export type Route = (url: URL, init: RequestInit) => Response | Promise<Response> | undefined;

/** A `fetch` that answers from `route` (by URL and method) and records every call. */
export function fakeFetch(route: Route) {
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = urlOf(input);
    const answer = await route(url, init);
    if (!answer) return jsonResponse({ detail: 'Not Found' }, { status: 404 });
    return answer;
  });
  return fn;
}

/** An EventSource the test drives by hand. */
export class FakeEventSource implements EventSourceLike {
  static instances: FakeEventSource[] = [];
  readyState = 0;
  onopen: EventSourceLike['onopen'] = null;
  onerror: EventSourceLike['onerror'] = null;
  closed = false;
  private listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();

  readonly url: string;

  constructor(url: string) {
    this.url = url;
    FakeEventSource.instances.push(this);
  }

  static latest(): FakeEventSource {
    const last = FakeEventSource.instances[FakeEventSource.instances.length - 1];
    if (!last) throw new Error('no EventSource was created');
    return last;
  }

  static reset() {
    FakeEventSource.instances = [];
  }

  addEventListener(type: string, listener: (event: MessageEvent<string>) => void) {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
  }

  close() {
    this.closed = true;
    this.readyState = 2;
  }

  open() {
    this.readyState = 1;
    this.onopen?.call(this as unknown as EventSource, new Event('open'));
  }

  emit(type: string, data: unknown, lastEventId = '') {
    const event = new MessageEvent<string>(type, {
      data: typeof data === 'string' ? data : JSON.stringify(data),
      lastEventId,
    });
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  /** A dropped connection: the browser retries (CONNECTING) or gives up (CLOSED). */
  fail(giveUp = false) {
    this.readyState = giveUp ? 2 : 0;
    this.onerror?.call(this as unknown as EventSource, new Event('error'));
  }
}

export const createFakeEventSource = (url: string) => new FakeEventSource(url);

/** A signed-in admin: the default session of component tests. */
export const ADMIN_SESSION: AuthState = {
  status: 'authenticated',
  user: { id: 1, username: 'ani', display_name: 'Ani Admin', role: 'admin' },
  csrfToken: 'csrf-admin',
};

export function Providers({
  children,
  locale = 'id',
  auth,
  client,
}: {
  children: ReactNode;
  locale?: Locale;
  auth?: AuthState;
  client?: ApiClient;
}) {
  return (
    <I18nProvider initial={locale}>
      <AuthProvider initial={auth ?? ADMIN_SESSION}>
        <ApiProvider client={client ?? createApiClient({ fetch: fakeFetch(() => undefined) })}>
          <ToastProvider>{children}</ToastProvider>
        </ApiProvider>
      </AuthProvider>
    </I18nProvider>
  );
}

export function renderWithProviders(
  ui: ReactElement,
  options: { locale?: Locale; auth?: AuthState; client?: ApiClient } & Omit<RenderOptions, 'wrapper'> = {},
) {
  const { locale, auth, client, ...rest } = options;
  return render(ui, {
    wrapper: ({ children }) => (
      <Providers {...(locale ? { locale } : {})} {...(auth ? { auth } : {})} {...(client ? { client } : {})}>
        {children}
      </Providers>
    ),
    ...rest,
  });
}

/** A `wrapper` for renderHook: the app's providers around the hook under test. */
export function providersWith(options: { locale?: Locale; auth?: AuthState; client?: ApiClient } = {}) {
  const { locale, auth, client } = options;
  return function Wrapper({ children }: { children: ReactNode }) {
    return (
      <Providers {...(locale ? { locale } : {})} {...(auth ? { auth } : {})} {...(client ? { client } : {})}>
        {children}
      </Providers>
    );
  };
}
