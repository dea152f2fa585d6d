import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { createApiClient, type OperatorAccount } from '../api/client';
import { ADMIN_SESSION, fakeFetch, jsonResponse, renderWithProviders, urlOf } from '../test/helpers';
import { OperatorsPanel } from './OperatorsPanel';

function setup(answerCreate: () => Response) {
  const operators: OperatorAccount[] = [
    { id: 1, username: 'ani', display_name: 'Ani Admin', role: 'admin', active: true },
    { id: 2, username: 'dodi', display_name: null, role: 'operator', active: true },
  ];
  const fetch = fakeFetch((url, init) => {
    const method = init.method ?? 'GET';
    if (url.pathname === '/dashboard/operators' && method === 'GET') return jsonResponse(operators);
    if (url.pathname === '/dashboard/operators' && method === 'POST') return answerCreate();
    if (url.pathname === '/dashboard/operators/2' && method === 'PATCH') return jsonResponse({ ...operators[1], active: false });
    return undefined;
  });
  const client = createApiClient({ fetch, getCsrfToken: () => ADMIN_SESSION.csrfToken });
  renderWithProviders(<OperatorsPanel />, { client });
  const calls = (path: string, method: string) =>
    fetch.mock.calls.filter(([input, init]) => urlOf(input).pathname === path && init?.method === method);
  return { calls };
}

describe('OperatorsPanel', () => {
  it('lists operators, adds one with the CSRF header and deactivates one', async () => {
    const user = userEvent.setup();
    const { calls } = setup(() =>
      jsonResponse({ id: 3, username: 'rina', display_name: 'Rina', role: 'operator', active: true }, { status: 201 }),
    );
    expect(await screen.findByText('Ani Admin')).toBeInTheDocument();

    await user.type(screen.getByLabelText('Username'), 'rina');
    await user.type(screen.getByLabelText('Nama tampilan'), 'Rina');
    await user.type(screen.getByLabelText('Password (min. 10 karakter)'), 'panjang-sekali');
    await user.click(screen.getByRole('button', { name: 'Tambah operator' }));
    await waitFor(() => expect(calls('/dashboard/operators', 'POST')).toHaveLength(1));
    const [, init] = calls('/dashboard/operators', 'POST')[0] ?? [];
    expect((init?.headers as Record<string, string>)['X-CSRF-Token']).toBe('csrf-admin');
    expect(JSON.parse(init?.body as string)).toEqual({
      username: 'rina',
      password: 'panjang-sekali',
      role: 'operator',
      display_name: 'Rina',
    });

    await user.click(screen.getByRole('checkbox', { name: 'Aktifkan akun dodi' }));
    await waitFor(() => expect(calls('/dashboard/operators/2', 'PATCH')).toHaveLength(1));
    const [, patch] = calls('/dashboard/operators/2', 'PATCH')[0] ?? [];
    expect(JSON.parse(patch?.body as string)).toEqual({ active: false });
  });

  it('says when the username is taken (409)', async () => {
    const user = userEvent.setup();
    setup(() => jsonResponse({ detail: 'Username sudah dipakai' }, { status: 409 }));
    await screen.findByText('Ani Admin');
    await user.type(screen.getByLabelText('Username'), 'ani');
    await user.type(screen.getByLabelText('Password (min. 10 karakter)'), 'panjang-sekali');
    await user.click(screen.getByRole('button', { name: 'Tambah operator' }));
    expect(await screen.findByText('Username sudah dipakai.')).toHaveAttribute('role', 'alert');
  });
});
