import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { App } from '../App';
import type { Role } from './permissions';
import {
  FakeEventSource,
  createFakeEventSource,
  fakeFetch,
  jsonResponse,
  makeOrder,
  makeStats,
  urlOf,
} from '../test/helpers';

vi.mock('../components/charts/ChartsPanel', () => ({
  default: () => <p data-testid="charts" />,
}));

function session(role: Role = 'admin') {
  return {
    operator: { id: 7, username: 'sari', display_name: 'Sari Wulandari', role },
    csrf_token: 'csrf-123',
  };
}

interface Server {
  /** Who `/auth/me` says is signed in (null: 401). */
  me: ReturnType<typeof session> | null;
  login?: (body: { username: string; password: string }) => Response;
  /** Every /dashboard/* data route answers 401 when set (the session ended on the server). */
  expired?: boolean;
}

function setup(server: Server) {
  const order = makeOrder({ nama_customer: 'Budi Santoso' });
  const fetch = fakeFetch((url, init) => {
    const method = init.method ?? 'GET';
    const path = url.pathname;
    if (path === '/dashboard/auth/me') {
      return server.me ? jsonResponse(server.me) : jsonResponse({ detail: 'Silakan masuk terlebih dahulu' }, { status: 401 });
    }
    if (path === '/dashboard/auth/login' && method === 'POST') {
      const body = JSON.parse(init.body as string) as { username: string; password: string };
      return server.login?.(body) ?? jsonResponse(session());
    }
    if (path === '/dashboard/auth/logout' && method === 'POST') return jsonResponse({ message: 'ok' });
    if (server.expired) return jsonResponse({ detail: 'Silakan masuk terlebih dahulu' }, { status: 401 });
    if (path === '/dashboard/orders') return jsonResponse([order], { headers: { 'X-Total-Count': '1' } });
    if (path === '/dashboard/stats') return jsonResponse(makeStats());
    return undefined;
  });
  render(<App fetch={fetch} createEventSource={createFakeEventSource} locale="id" />);
  const calls = (path: string, method = 'GET') =>
    fetch.mock.calls.filter(([input, init]) => urlOf(input).pathname === path && (init?.method ?? 'GET') === method);
  return { fetch, calls, order };
}

/** The login form's announced error (the toast region has its own alert). */
async function loginAlert(text: string) {
  const element = await screen.findByText(text);
  expect(element).toHaveAttribute('role', 'alert');
  return element;
}

async function fillAndSubmit(username: string, password: string) {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText('Username'), username);
  await user.type(screen.getByLabelText('Password'), password);
  await user.click(screen.getByRole('button', { name: 'Masuk' }));
  return user;
}

describe('login', () => {
  beforeEach(() => FakeEventSource.reset());

  it('shows the login page when nobody is signed in, focused on the first field', async () => {
    setup({ me: null });
    expect(screen.getByText('Memeriksa sesi...')).toHaveAttribute('role', 'status');
    const username = await screen.findByLabelText('Username');
    expect(screen.getByRole('heading', { name: 'Masuk ke Dashboard Gadai' })).toBeInTheDocument();
    // The page focuses the field in an effect after it appears: on a loaded machine that can
    // come a moment after findByLabelText returns.
    await waitFor(() => expect(username).toHaveFocus());
    expect(screen.getByLabelText('Password')).toHaveAttribute('type', 'password');
  });

  it('signs in and shows the dashboard with the operator in the header', async () => {
    const server: Server = { me: null };
    const { calls } = setup(server);
    await screen.findByLabelText('Username');
    await fillAndSubmit('sari', 'rahasia-sekali');

    expect(await screen.findByRole('button', { name: 'Keluar' })).toBeInTheDocument();
    expect(screen.getByText('Masuk sebagai Sari Wulandari (Admin)')).toBeInTheDocument();
    const [, init] = calls('/dashboard/auth/login', 'POST')[0] ?? [];
    expect(JSON.parse(init?.body as string)).toEqual({ username: 'sari', password: 'rahasia-sekali' });
    expect(await screen.findAllByText('Budi Santoso')).not.toHaveLength(0);
    // Admins handle personal data (UU PDP).
    expect(screen.getByRole('heading', { name: 'Data pribadi' })).toBeInTheDocument();
  });

  it('restores the session from /auth/me on start', async () => {
    setup({ me: session('operator') });
    expect(await screen.findByText('Masuk sebagai Sari Wulandari (Operator)')).toBeInTheDocument();
    expect(screen.queryByLabelText('Password')).not.toBeInTheDocument();
  });

  it('announces a wrong password', async () => {
    setup({
      me: null,
      login: () => jsonResponse({ detail: 'Username atau password salah' }, { status: 401 }),
    });
    await screen.findByLabelText('Username');
    await fillAndSubmit('sari', 'salah-salah');
    await loginAlert('Username atau password salah.');
    expect(screen.getByLabelText('Password')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('Password')).toHaveValue('');
    expect(screen.queryByRole('button', { name: 'Keluar' })).not.toBeInTheDocument();
  });

  it('asks for both fields before calling the API', async () => {
    const { calls } = setup({ me: null });
    await screen.findByLabelText('Username');
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'Masuk' }));
    await loginAlert('Isi username dan password.');
    expect(screen.getByLabelText('Username')).toHaveFocus();
    expect(calls('/dashboard/auth/login', 'POST')).toHaveLength(0);
  });

  it('shows how long to wait when rate limited (429)', async () => {
    setup({
      me: null,
      login: () => jsonResponse({ detail: 'Terlalu banyak percobaan' }, { status: 429, headers: { 'Retry-After': '42' } }),
    });
    await screen.findByLabelText('Username');
    await fillAndSubmit('sari', 'rahasia-sekali');
    await loginAlert('Terlalu banyak percobaan masuk. Coba lagi dalam 42 detik.');
    const button = screen.getByRole('button', { name: /Coba lagi dalam \d+ d/ });
    expect(button).toBeDisabled();
  });

  it('tells a long wait in minutes', async () => {
    setup({
      me: null,
      login: () => jsonResponse({ detail: 'Terlalu banyak percobaan' }, { status: 429, headers: { 'Retry-After': '898' } }),
    });
    await screen.findByLabelText('Username');
    await fillAndSubmit('sari', 'rahasia-sekali');
    await loginAlert('Terlalu banyak percobaan masuk. Coba lagi dalam 15 menit.');
    expect(screen.getByRole('button', { name: 'Coba lagi dalam 15 menit' })).toBeDisabled();
  });

  it('goes back to the login page on a 401 mid-session', async () => {
    const server: Server = { me: session() };
    setup(server);
    expect(await screen.findByRole('button', { name: 'Keluar' })).toBeInTheDocument();
    await screen.findAllByText('Budi Santoso');

    server.expired = true;
    await act(async () => {
      await userEvent.setup().click(screen.getByRole('button', { name: 'Muat ulang' }));
    });
    expect(await screen.findByLabelText('Username')).toBeInTheDocument();
    expect(screen.getByText('Sesi Anda berakhir. Silakan masuk kembali.')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Keluar' })).not.toBeInTheDocument();
  });

  it('hides "Hapus", the operator management and the personal data panel for an operator', async () => {
    const { calls } = setup({ me: session('operator') });
    await screen.findByText('Masuk sebagai Sari Wulandari (Operator)');
    const table = await screen.findByRole('table');
    await within(table).findByText('Budi Santoso');
    expect(screen.queryByRole('button', { name: 'Hapus' })).not.toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Kelola operator' })).not.toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Data pribadi' })).not.toBeInTheDocument();
    expect(calls('/dashboard/admin/erasures')).toHaveLength(0);
    expect(screen.getAllByRole('button', { name: 'Kirim Verifikasi' }).length).toBeGreaterThan(0);
  });

  it('signs out through the API with the CSRF header', async () => {
    const { calls } = setup({ me: session() });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Keluar' }));

    expect(await screen.findByLabelText('Username')).toBeInTheDocument();
    const logout = calls('/dashboard/auth/logout', 'POST');
    expect(logout).toHaveLength(1);
    const headers = logout[0]?.[1]?.headers as Record<string, string>;
    expect(headers['X-CSRF-Token']).toBe('csrf-123');
    expect(screen.queryByText('Sesi Anda berakhir. Silakan masuk kembali.')).not.toBeInTheDocument();
  });

  it('sends the CSRF token from the session on writes', async () => {
    const { calls, order } = setup({ me: session('operator') });
    const user = userEvent.setup();
    const table = await screen.findByRole('table');
    await within(table).findByText('Budi Santoso');
    await user.click(within(table).getByRole('button', { name: 'Kirim Verifikasi' }));
    await waitFor(() => expect(calls(`/dashboard/verification/${order.id}`, 'POST')).toHaveLength(1));
    const headers = calls(`/dashboard/verification/${order.id}`, 'POST')[0]?.[1]?.headers as Record<string, string>;
    expect(headers['X-CSRF-Token']).toBe('csrf-123');
  });
});
