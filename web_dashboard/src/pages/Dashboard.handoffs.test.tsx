import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { App } from '../App';
import type { Handoff } from '../api/types';
import type { AuthState } from '../auth/permissions';
import {
  ADMIN_SESSION,
  FakeEventSource,
  createFakeEventSource,
  fakeFetch,
  jsonResponse,
  makeHandoff,
  makeOrder,
  makeStats,
} from '../test/helpers';

vi.mock('../components/charts/ChartsPanel', () => ({
  default: () => <p data-testid="charts" />,
}));

beforeEach(() => FakeEventSource.reset());

const OPERATOR_SESSION: AuthState = {
  status: 'authenticated',
  user: { id: 2, username: 'sari', display_name: 'Sari Wulandari', role: 'operator' },
  csrfToken: 'csrf-operator',
};

function setup(open: Handoff[], auth: AuthState = ADMIN_SESSION) {
  const order = makeOrder({ nama_customer: 'Budi Santoso' });
  const server = { open };
  const fetch = fakeFetch((url, init) => {
    const method = init.method ?? 'GET';
    if (url.pathname === '/dashboard/orders') return jsonResponse([order], { headers: { 'X-Total-Count': '1' } });
    if (url.pathname === '/dashboard/stats') return jsonResponse(makeStats());
    if (url.pathname === '/dashboard/handoffs') return jsonResponse({ items: server.open, open: server.open.length });
    if (url.pathname.endsWith('/close') && method === 'POST') {
      server.open = server.open.filter((h) => !url.pathname.includes(h.id));
      return jsonResponse({ handoff_id: 'x', message: 'ok' });
    }
    return undefined;
  });
  render(<App fetch={fetch} createEventSource={createFakeEventSource} auth={auth} locale="id" />);
  return { server };
}

const headerCount = () => screen.getByRole('banner').querySelector('[data-handoffs]');

describe('hand-offs on the dashboard', () => {
  it('arrive live: the header count and the panel follow the feed, for an operator too', async () => {
    const { server } = setup([], OPERATOR_SESSION);
    expect(await screen.findByText('Tidak ada permintaan yang menunggu')).toBeInTheDocument();
    expect(headerCount()).toHaveAttribute('data-handoffs', '0');

    const handoff = makeHandoff({ nama_customer: 'Siti Aminah', ringkasan: 'Minta ditelepon petugas' });
    server.open = [handoff];
    const es = FakeEventSource.latest();
    act(() => es.open());
    act(() => es.emit('handoff', { seq: 5, type: 'customer.handoff_opened', order_id: handoff.id, order: null, handoff }));

    const panel = screen.getByRole('region', { name: 'Permintaan bantuan petugas' });
    expect(await within(panel).findByText('Minta ditelepon petugas')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: '1 hand-off menunggu' })).toHaveAttribute('data-handoffs', '1');

    const user = userEvent.setup();
    await user.click(within(panel).getByRole('button', { name: 'Sudah dihubungi: Siti Aminah' }));
    await waitFor(() => expect(headerCount()).toHaveAttribute('data-handoffs', '0'));
    expect(within(panel).getByText('Tidak ada permintaan yang menunggu')).toBeInTheDocument();
  });

  it('opens the order a hand-off names in the drawer', async () => {
    const order = makeOrder();
    const handoff = makeHandoff({ referensi: '3F9A0C12', order_id: order.id });
    setup([handoff]);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Lihat pesanan 3F9A0C12' }));
    expect(await screen.findByRole('dialog')).toBeInTheDocument();
  });
});
