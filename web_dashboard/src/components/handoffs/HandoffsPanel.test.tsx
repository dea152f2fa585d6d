import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { createApiClient } from '../../api/client';
import type { Handoff } from '../../api/types';
import { useHandoffs } from '../../hooks/useHandoffs';
import { ADMIN_SESSION, fakeFetch, jsonResponse, makeHandoff, renderWithProviders, urlOf } from '../../test/helpers';
import { HandoffsPanel } from './HandoffsPanel';

function Harness({ onOpenOrder }: { onOpenOrder: (id: string) => void }) {
  return <HandoffsPanel handoffs={useHandoffs()} onOpenOrder={onOpenOrder} />;
}

function setup(items: Handoff[], locale: 'id' | 'en' = 'id') {
  const fetch = fakeFetch((url, init) => {
    const method = init.method ?? 'GET';
    if (url.pathname === '/dashboard/handoffs' && method === 'GET') return jsonResponse({ items, open: items.length });
    if (url.pathname.endsWith('/close') && method === 'POST') return jsonResponse({ handoff_id: 'x', message: 'ok' });
    return undefined;
  });
  const onOpenOrder = vi.fn();
  const client = createApiClient({ fetch, getCsrfToken: () => ADMIN_SESSION.csrfToken });
  renderWithProviders(<Harness onOpenOrder={onOpenOrder} />, { client, locale });
  const posts = () =>
    fetch.mock.calls.filter(([, init]) => init?.method === 'POST').map(([input]) => urlOf(input).pathname);
  return { onOpenOrder, posts };
}

describe('HandoffsPanel', () => {
  it('lists the waiting customers with how to reach them and what they need', async () => {
    const user = userEvent.setup();
    const linked = makeHandoff({
      nama_customer: 'Siti Aminah',
      email: 'siti@example.com',
      referensi: '3F9A0C12',
      order_id: '00000000-0000-4000-8000-000000000123',
      id_percakapan: 'chat-siti-1',
      ringkasan: 'Ingin memperpanjang gadai.\nKode tidak masuk dua kali.',
    });
    const unlinked = makeHandoff({ nama_customer: 'Budi Santoso', email: 'budi@example.com', referensi: 'AAAA0000' });
    const plain = makeHandoff({ nama_customer: 'Dewi Lestari', referensi: null });
    const { onOpenOrder } = setup([linked, unlinked, plain]);

    const panel = await screen.findByRole('region', { name: 'Permintaan bantuan petugas' });
    expect(panel).toHaveAttribute('id', 'handoffs');
    const items = await within(panel).findAllByRole('listitem');
    expect(items.map((li) => li.getAttribute('data-handoff-id'))).toEqual([linked.id, unlinked.id, plain.id]);
    expect(within(panel).getByTestId('handoffs-count')).toHaveTextContent('3 hand-off menunggu');
    expect(within(panel).getByTestId('handoffs-count')).toHaveAttribute('aria-live', 'polite');

    const first = within(items[0]!);
    expect(first.getByText('Siti Aminah')).toBeInTheDocument();
    expect(first.getByRole('link', { name: 'siti@example.com' })).toHaveAttribute('href', 'mailto:siti@example.com');
    expect(first.getByText('chat-siti-1')).toBeInTheDocument();
    expect(first.getByText(/Ingin memperpanjang gadai\.\s+Kode tidak masuk dua kali\./)).toBeInTheDocument();
    expect(first.getByText('ID percakapan')).toBeInTheDocument();
    expect(items[0]!.querySelector('time')).toHaveAttribute('dateTime', linked.opened_at);
    await user.click(first.getByRole('button', { name: 'Lihat pesanan 3F9A0C12' }));
    expect(onOpenOrder).toHaveBeenCalledWith(linked.order_id);

    // A reference that named no order is shown, not linked; none at all, nothing.
    expect(within(items[1]!).getByText('AAAA0000')).toBeInTheDocument();
    expect(within(items[1]!).queryByRole('button', { name: /Lihat pesanan/ })).not.toBeInTheDocument();
    expect(within(items[2]!).queryByText('Referensi')).not.toBeInTheDocument();
  });

  it('shows "data dihapus" for an erased customer, with no address to write to', async () => {
    const user = userEvent.setup();
    const erased = makeHandoff({
      id: '22222222-aaaa-4000-8000-000000000001',
      nama_customer: null,
      email: null,
      id_percakapan: null,
      ringkasan: null,
      referensi: '3F9A0C12',
      data_dihapus: true,
    });
    const kept = makeHandoff({ nama_customer: 'Siti Aminah', email: 'siti@example.com' });
    const { posts } = setup([erased, kept]);
    const items = await screen.findAllByRole('listitem');
    const item = within(items[0]!);
    // Name, conversation and summary.
    expect(item.getAllByText('data dihapus')).toHaveLength(3);
    expect(item.queryByRole('link')).not.toBeInTheDocument();
    expect(items[0]).not.toHaveTextContent('@');
    expect(item.getByText('3F9A0C12')).toBeInTheDocument();
    expect(within(items[1]!).getByRole('link', { name: 'siti@example.com' })).toBeInTheDocument();

    // It can still be marked contacted, named by its reference.
    await user.click(item.getByRole('button', { name: 'Sudah dihubungi: data dihapus (22222222)' }));
    await waitFor(() => expect(posts()).toEqual([`/dashboard/handoffs/${erased.id}/close`]));
  });

  it('says when nobody is waiting', async () => {
    setup([]);
    expect(await screen.findByText('Tidak ada permintaan yang menunggu')).toBeInTheDocument();
    expect(screen.getByTestId('handoffs-count')).toHaveTextContent('Tidak ada hand-off menunggu');
    expect(screen.queryByRole('listitem')).not.toBeInTheDocument();
  });

  it('"Sudah dihubungi" closes that hand-off through the API and takes it off the list', async () => {
    const user = userEvent.setup();
    const siti = makeHandoff({ nama_customer: 'Siti Aminah' });
    const budi = makeHandoff({ nama_customer: 'Budi Santoso' });
    const { posts } = setup([siti, budi]);
    await screen.findByText('Siti Aminah');

    await user.click(screen.getByRole('button', { name: 'Sudah dihubungi: Siti Aminah' }));
    await waitFor(() => expect(posts()).toEqual([`/dashboard/handoffs/${siti.id}/close`]));
    expect(screen.queryByText('Siti Aminah')).not.toBeInTheDocument();
    expect(screen.getByText('Budi Santoso')).toBeInTheDocument();
    expect(screen.getByTestId('handoffs-count')).toHaveTextContent('1 hand-off menunggu');
    // The focus stays in the panel rather than falling to the page.
    expect(screen.getByRole('region', { name: 'Permintaan bantuan petugas' })).toHaveFocus();
  });

  it('speaks English too', async () => {
    setup([makeHandoff({ nama_customer: 'Siti Aminah' }), makeHandoff({ nama_customer: 'Budi' })], 'en');
    await screen.findByRole('region', { name: 'Requests for an officer' });
    expect(await screen.findByTestId('handoffs-count')).toHaveTextContent('2 hand-offs waiting');
    expect(screen.getByRole('button', { name: 'Contacted: Siti Aminah' })).toHaveTextContent('Contacted');
  });
});
