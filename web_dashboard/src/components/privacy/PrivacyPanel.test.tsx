import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { createApiClient } from '../../api/client';
import type { ErasureLogEntry, ErasureResult } from '../../api/privacy';
import { saveFile } from '../../lib/download';
import { ADMIN_SESSION, fakeFetch, jsonResponse, renderWithProviders, urlOf } from '../../test/helpers';
import { PrivacyPanel } from './PrivacyPanel';

// jsdom cannot download; the panel's part is handing the right file over.
vi.mock('../../lib/download', () => ({ saveFile: vi.fn() }));

const SUBJECT = 'ab'.repeat(32);
const ORDER_ID = '0190a0c2-7d1e-7c3a-9f00-3b2a1c0d9e8f';

function logEntry(overrides: Partial<ErasureLogEntry> = {}): ErasureLogEntry {
  return {
    id: '0190a0c2-0000-7000-8000-000000000001',
    occurred_at: '2025-03-04T05:06:07Z',
    actor: 'ani',
    dasar: 'permintaan',
    alasan: 'PDP-2025-0001',
    subject: 'cd'.repeat(32),
    generation: 1,
    pesanan: 2,
    handoff: 0,
    ...overrides,
  };
}

interface Server {
  log: ErasureLogEntry[];
  /** The answer to an erasure; by default 202 with three orders and one hand-off. */
  erase?: (body: Record<string, unknown>) => Response;
  /** The answer to the access export. */
  data?: (email: string) => Response;
}

function setup(server: Server, locale: 'id' | 'en' = 'id') {
  const fetch = fakeFetch((url, init) => {
    const method = init.method ?? 'GET';
    if (url.pathname === '/dashboard/admin/erasures' && method === 'GET') return jsonResponse(server.log);
    if (url.pathname === '/dashboard/admin/erasures' && method === 'POST') {
      const body = JSON.parse(init.body as string) as Record<string, unknown>;
      if (server.erase) return server.erase(body);
      const result: ErasureResult = { subject: SUBJECT, generation: 2, pesanan: 3, handoff: 1 };
      // The projection records the erasure a moment after the answer.
      setTimeout(() => {
        server.log = [logEntry({ id: 'new', subject: SUBJECT, generation: 2, pesanan: 3, handoff: 1, alasan: String(body.alasan) }), ...server.log];
      }, 300);
      return jsonResponse(result, { status: 202 });
    }
    if (url.pathname === '/dashboard/admin/customers/data' && method === 'POST') {
      // The address travels in the body, never in the URL.
      if (url.search !== '') throw new Error(`unexpected query ${url.search}`);
      const body = JSON.parse(init.body as string) as { email?: string };
      return server.data?.(body.email ?? '');
    }
    return undefined;
  });
  const client = createApiClient({ fetch, getCsrfToken: () => ADMIN_SESSION.csrfToken });
  renderWithProviders(<PrivacyPanel />, { client, locale });
  const calls = (path: string, method: string) =>
    fetch.mock.calls.filter(([input, init]) => urlOf(input).pathname === path && (init?.method ?? 'GET') === method);
  const erasures = () => calls('/dashboard/admin/erasures', 'POST');
  const eraseSection = () => screen.getByRole('region', { name: 'Hapus data pelanggan' });
  return { fetch, calls, erasures, eraseSection };
}

beforeEach(() => vi.mocked(saveFile).mockClear());

describe('PrivacyPanel: erasing a customer', () => {
  it('checks the form before asking anything: each problem under its field', async () => {
    const user = userEvent.setup();
    const { erasures, eraseSection } = setup({ log: [] });
    const section = eraseSection();
    await user.click(within(section).getByRole('button', { name: 'Hapus data pelanggan' }));

    expect(within(section).getByText('Isi email pelanggan.')).toBeInTheDocument();
    expect(within(section).getByLabelText('Email pelanggan')).toHaveAttribute('aria-invalid', 'true');
    expect(within(section).getByLabelText('Email pelanggan')).toHaveAccessibleDescription('Isi email pelanggan.');
    expect(within(section).getByText('Alasan minimal 3 karakter.')).toBeInTheDocument();

    await user.type(within(section).getByLabelText('Email pelanggan'), 'bukan-email');
    await user.type(within(section).getByLabelText('Alasan (nomor permintaan)'), 'minta budi@example.com');
    await user.click(within(section).getByRole('button', { name: 'Hapus data pelanggan' }));
    expect(within(section).getByText('Email tidak valid.')).toBeInTheDocument();
    expect(
      within(section).getByText('Alasan tidak boleh memuat tanda @: tulis nomor permintaannya, bukan email.'),
    ).toBeInTheDocument();

    // By order: the id must be a whole UUID.
    await user.click(within(section).getByRole('radio', { name: 'Salah satu pesanannya' }));
    await user.type(within(section).getByLabelText('ID pesanan'), '1A2B3C4D');
    await user.click(within(section).getByRole('button', { name: 'Hapus data pelanggan' }));
    expect(within(section).getByText('ID pesanan tidak valid: tulis ID lengkapnya (UUID).')).toBeInTheDocument();

    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
    expect(erasures()).toHaveLength(0);
  });

  it('erases only after the confirmation that says it reaches all orders and cannot be undone', async () => {
    const user = userEvent.setup();
    const { erasures, eraseSection, calls } = setup({ log: [logEntry()] });
    const section = eraseSection();
    await screen.findByText('PDP-2025-0001');
    await user.type(within(section).getByLabelText('Email pelanggan'), ' Budi@Example.com ');
    await user.type(within(section).getByLabelText('Alasan (nomor permintaan)'), 'PDP-2025-0142');
    await user.click(within(section).getByRole('button', { name: 'Hapus data pelanggan' }));

    let dialog = screen.getByRole('alertdialog', { name: 'Hapus data pribadi pelanggan?' });
    expect(dialog).toHaveAccessibleDescription(/dari SEMUA pesanannya dan permintaan bantuannya/);
    expect(dialog).toHaveAccessibleDescription(/permanen dan tidak dapat dibatalkan \(UU PDP\)/);
    expect(within(dialog).getByTestId('erase-target')).toHaveTextContent('Pelanggan dengan email Budi@Example.com');
    expect(within(dialog).getByText('Alasan: PDP-2025-0142')).toBeInTheDocument();
    expect(within(dialog).getByRole('button', { name: 'Batal' })).toHaveFocus();

    // Cancel: nothing is sent.
    await user.click(within(dialog).getByRole('button', { name: 'Batal' }));
    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
    expect(erasures()).toHaveLength(0);

    await user.click(within(section).getByRole('button', { name: 'Hapus data pelanggan' }));
    dialog = screen.getByRole('alertdialog');
    await user.click(within(dialog).getByRole('button', { name: 'Ya, hapus permanen' }));

    const result = await within(section).findByTestId('erase-result');
    expect(result).toHaveTextContent('Data pribadi dihapus dari 3 pesanan dan 1 permintaan bantuan.');
    expect(result).toHaveTextContent(`Subjek ${SUBJECT}, generasi kunci 2`);
    expect(erasures()).toHaveLength(1);
    const [, init] = erasures()[0]!;
    expect((init?.headers as Record<string, string>)['X-CSRF-Token']).toBe('csrf-admin');
    expect(JSON.parse(init?.body as string)).toEqual({ email: 'Budi@Example.com', alasan: 'PDP-2025-0142' });
    // The form is emptied: no e-mail stays on screen.
    expect(within(section).getByLabelText('Email pelanggan')).toHaveValue('');

    // The log is read again until the projection lists the erasure.
    const log = screen.getByTestId('erasure-log');
    await waitFor(() => expect(within(log).getByText('PDP-2025-0142')).toBeInTheDocument(), { timeout: 3000 });
    expect(calls('/dashboard/admin/erasures', 'GET').length).toBeGreaterThan(2);
  });

  it('erases by order id', async () => {
    const user = userEvent.setup();
    const { erasures, eraseSection } = setup({ log: [] });
    const section = eraseSection();
    await user.click(within(section).getByRole('radio', { name: 'Salah satu pesanannya' }));
    await user.type(within(section).getByLabelText('ID pesanan'), ORDER_ID.toUpperCase());
    await user.type(within(section).getByLabelText('Alasan (nomor permintaan)'), 'PDP-7');
    await user.click(within(section).getByRole('button', { name: 'Hapus data pelanggan' }));
    const dialog = screen.getByRole('alertdialog');
    expect(within(dialog).getByTestId('erase-target')).toHaveTextContent('Pelanggan pesanan 0190A0C2');
    await user.click(within(dialog).getByRole('button', { name: 'Ya, hapus permanen' }));
    await within(section).findByTestId('erase-result');
    expect(JSON.parse(erasures()[0]![1]?.body as string)).toEqual({ order_id: ORDER_ID, alasan: 'PDP-7' });
  });

  it("shows the server's 422 under each field it names, and the rest for the form", async () => {
    const user = userEvent.setup();
    const { eraseSection } = setup({
      log: [],
      erase: () =>
        jsonResponse(
          {
            detail: [
              { loc: ['body', 'email'], msg: 'must be an e-mail address', type: 'value_error.email' },
              { loc: ['body', 'alasan'], msg: 'alasan tidak boleh memuat nomor telepon', type: 'value_error.phone' },
              { loc: ['body'], msg: 'permintaan ini sudah tercatat', type: 'value_error.duplicate' },
            ],
          },
          { status: 422 },
        ),
    });
    const section = eraseSection();
    await user.type(within(section).getByLabelText('Email pelanggan'), 'budi@example.com');
    await user.type(within(section).getByLabelText('Alasan (nomor permintaan)'), 'telp 0812');
    await user.click(within(section).getByRole('button', { name: 'Hapus data pelanggan' }));
    await user.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Ya, hapus permanen' }));

    const alasan = within(section).getByLabelText('Alasan (nomor permintaan)');
    await waitFor(() => expect(alasan).toHaveAttribute('aria-invalid', 'true'));
    // A kind of problem the app knows is said in the admin's language; another in the server's words.
    expect(alasan).toHaveAccessibleDescription(/alasan tidak boleh memuat nomor telepon/);
    expect(within(section).getByLabelText('Email pelanggan')).toHaveAccessibleDescription('Email tidak valid.');
    expect(within(section).getByRole('alert')).toHaveTextContent('permintaan ini sudah tercatat');
    expect(within(section).queryByTestId('erase-result')).not.toBeInTheDocument();
    // What was typed stays, to be corrected; an edit clears the server's objection.
    expect(within(section).getByLabelText('Email pelanggan')).toHaveValue('budi@example.com');
    await user.type(alasan, '-x');
    expect(alasan).not.toHaveAttribute('aria-invalid');
  });

  it('says when nothing is held about the customer (404)', async () => {
    const user = userEvent.setup();
    const { eraseSection } = setup({
      log: [],
      erase: () => jsonResponse({ detail: 'Tidak ada data pelanggan ini' }, { status: 404 }),
    });
    const section = eraseSection();
    await user.type(within(section).getByLabelText('Email pelanggan'), 'siapa@example.com');
    await user.type(within(section).getByLabelText('Alasan (nomor permintaan)'), 'PDP-9');
    await user.click(within(section).getByRole('button', { name: 'Hapus data pelanggan' }));
    await user.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Ya, hapus permanen' }));
    expect(await within(section).findByRole('alert')).toHaveTextContent('Tidak ada data pelanggan ini.');
  });
});

describe('PrivacyPanel: the access export', () => {
  it('downloads the JSON the server makes for the e-mail', async () => {
    const user = userEvent.setup();
    const file = JSON.stringify({ subject: SUBJECT, pesanan: [{ nama_customer: 'Budi Santoso' }] });
    const asked: string[] = [];
    setup({
      log: [],
      data: (email) => {
        asked.push(email);
        return new Response(file, {
          status: 200,
          headers: {
            'Content-Type': 'application/json',
            'Content-Disposition': 'attachment; filename="data-pelanggan-abababab.json"',
          },
        });
      },
    });
    const section = screen.getByRole('region', { name: 'Unduh data pelanggan' });
    await user.click(within(section).getByRole('button', { name: 'Unduh JSON' }));
    expect(within(section).getByRole('alert')).toHaveTextContent('Isi email pelanggan.');
    expect(asked).toEqual([]);

    await user.type(within(section).getByLabelText('Email pelanggan'), 'budi@example.com');
    await user.click(within(section).getByRole('button', { name: 'Unduh JSON' }));
    await waitFor(() => expect(saveFile).toHaveBeenCalledTimes(1));
    expect(asked).toEqual(['budi@example.com']);
    const [blob, filename] = vi.mocked(saveFile).mock.calls[0]!;
    expect(filename).toBe('data-pelanggan-abababab.json');
    expect(await blob.text()).toBe(file);
    expect(await screen.findByText('Data pelanggan diunduh: data-pelanggan-abababab.json')).toBeInTheDocument();
  });

  it('says when nothing is held (404) and downloads nothing', async () => {
    const user = userEvent.setup();
    setup({ log: [], data: () => jsonResponse({ detail: 'Tidak ada data pelanggan ini' }, { status: 404 }) });
    const section = screen.getByRole('region', { name: 'Unduh data pelanggan' });
    await user.type(within(section).getByLabelText('Email pelanggan'), 'siapa@example.com');
    await user.click(within(section).getByRole('button', { name: 'Unduh JSON' }));
    expect(await within(section).findByRole('alert')).toHaveTextContent('Tidak ada data yang disimpan untuk email ini.');
    expect(saveFile).not.toHaveBeenCalled();
  });
});

describe('PrivacyPanel: the erasure log', () => {
  it('lists when, who, on what basis, why and how much, newest first', async () => {
    setup({
      log: [
        logEntry({ id: 'b', actor: 'system', dasar: 'retensi', alasan: 'retensi 365 hari', pesanan: 4, handoff: 0 }),
        logEntry({ id: 'a', actor: 'ani', dasar: 'permintaan', alasan: 'PDP-2025-0001', pesanan: 2, handoff: 1 }),
      ],
    });
    const log = await screen.findByTestId('erasure-log');
    const rows = within(log).getAllByRole('row').slice(1);
    expect(rows.map((r) => r.getAttribute('data-erasure-id'))).toEqual(['b', 'a']);
    const [first, second] = rows.map((r) => within(r).getAllByRole('cell').map((c) => c.textContent));
    expect(first!.slice(1, 6)).toEqual(['sistem', 'Masa simpan berakhir', 'retensi 365 hari', '4', '0']);
    expect(second!.slice(1, 6)).toEqual(['ani', 'Permintaan pelanggan', 'PDP-2025-0001', '2', '1']);
    expect(within(rows[1]!).getByTitle('cd'.repeat(32))).toHaveTextContent('cdcdcdcdcdcd');
    expect(within(rows[0]!).getByRole('cell', { name: /2025/ }).querySelector('time')).toHaveAttribute(
      'dateTime',
      '2025-03-04T05:06:07Z',
    );
  });

  it('says when nothing was erased yet, in English too', async () => {
    setup({ log: [] }, 'en');
    expect(await screen.findByText('No data has been erased yet.')).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Personal data' })).toBeInTheDocument();
    expect(screen.getByRole('region', { name: "Erase a customer's data" })).toBeInTheDocument();
  });
});
