import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { App } from '../../App';
import { createApiClient } from '../../api/client';
import type { CurrentMailTemplate, MailTemplate, MailTemplateChange } from '../../api/mailTemplate';
import type { AuthState } from '../../auth/permissions';
import {
  ADMIN_SESSION,
  FakeEventSource,
  createFakeEventSource,
  fakeFetch,
  jsonResponse,
  makeStats,
  renderWithProviders,
  urlOf,
} from '../../test/helpers';
import { MailTemplatePanel } from './MailTemplatePanel';

vi.mock('../charts/ChartsPanel', () => ({
  default: () => <p data-testid="charts" />,
}));

const text = (lang: string) => ({
  subject: `Subjek ${lang}`,
  greeting: `Halo {nama} ${lang}`,
  instructions: `Referensi {referensi}\n\n{kode}`,
  footer: `Pegadaian ${lang}`,
});
const DEFAULT: MailTemplate = { id: text('id'), en: text('en') };
const PLACEHOLDERS = ['{nama}', '{referensi}', '{kode}', '{berlaku_sampai}'];

interface Server {
  saved: MailTemplate | null;
  history: MailTemplateChange[];
  /** Overrides the preview's answer for a body. */
  preview?: (body: MailTemplate) => Response | undefined;
  /** Overrides the save's answer. */
  save?: (body: MailTemplate) => Response | undefined;
  /** How many reads of the history after a save still miss it (the projection a moment behind). */
  historyBehind?: number;
}

function current(server: Server): CurrentMailTemplate {
  return {
    template: server.saved ?? DEFAULT,
    changed_at: server.saved ? '2026-05-01T08:30:00Z' : null,
    changed_by: server.saved ? 'ani' : null,
    placeholders: PLACEHOLDERS,
    subject_max_chars: 150,
    text_max_chars: 2000,
    default_template: DEFAULT,
  };
}

/** The fake dashboard-api: renders a preview as `<p>{greeting}</p>`, keeps what is saved. */
function setup(server: Server) {
  let behind = 0;
  const fetch = fakeFetch((url, init) => {
    const method = init.method ?? 'GET';
    const body = () => JSON.parse(init.body as string) as MailTemplate;
    if (url.pathname === '/dashboard/mail-template' && method === 'GET') return jsonResponse(current(server));
    if (url.pathname === '/dashboard/mail-template/history') {
      if (behind > 0) {
        behind--;
        return jsonResponse(server.history.slice(1));
      }
      return jsonResponse(server.history);
    }
    if (url.pathname === '/dashboard/mail-template/preview' && method === 'POST') {
      const template = body();
      return (
        server.preview?.(template) ??
        jsonResponse({ subject: template.id.subject, text: template.id.greeting, html: `<p>${template.id.greeting}</p>` })
      );
    }
    if (url.pathname === '/dashboard/mail-template' && method === 'PUT') {
      const template = body();
      const refused = server.save?.(template);
      if (refused) return refused;
      server.saved = template;
      server.history = [
        { seq: 9, changed_at: '2026-05-01T08:30:00Z', changed_by: 'ani', changed_fields: ['id.greeting'], template },
        ...server.history,
      ];
      behind = server.historyBehind ?? 0;
      return jsonResponse({ message: 'Template email disimpan', template }, { status: 202 });
    }
    return undefined;
  });
  const client = createApiClient({ fetch, getCsrfToken: () => ADMIN_SESSION.csrfToken });
  renderWithProviders(<MailTemplatePanel />, { client });
  const calls = (path: string, method: string) =>
    fetch.mock.calls.filter(([input, init]) => urlOf(input).pathname === path && (init?.method ?? 'GET') === method);
  return { calls };
}

const greetingId = () => screen.findByLabelText('Salam pembuka (Bahasa Indonesia)');
const frame = () => screen.getByTitle('Pratinjau email (HTML)');

function refusal(loc: string[], msg: string, type: string): Response {
  return jsonResponse({ detail: [{ loc: ['body', ...loc], msg, type }] }, { status: 422 });
}

beforeEach(() => FakeEventSource.reset());

describe('MailTemplatePanel', () => {
  it('shows both languages and previews each draft, naming a field the server refuses', async () => {
    setup({
      saved: null,
      history: [],
      preview: (t) =>
        t.id.greeting.includes('{nama_lengkap}')
          ? refusal(
              ['id', 'greeting'],
              'unknown placeholder {nama_lengkap}: use {nama}, {referensi}, {kode}, {berlaku_sampai}',
              'value_error.placeholder_unknown',
            )
          : undefined,
    });
    expect(await greetingId()).toHaveValue('Halo {nama} id');
    expect(screen.getByLabelText('Petunjuk (English)')).toHaveValue('Referensi {referensi}\n\n{kode}');
    expect(screen.getByText('Memakai teks bawaan.')).toBeInTheDocument();
    await waitFor(() => expect(frame()).toHaveAttribute('srcdoc', '<p>Halo {nama} id</p>'));
    expect(frame()).toHaveAttribute('sandbox', '');

    fireEvent.change(await greetingId(), { target: { value: 'Halo {nama_lengkap}' } });
    expect(
      await screen.findByText('Placeholder {nama_lengkap} tidak dikenal. Gunakan {nama}, {referensi}, {kode}, {berlaku_sampai}.'),
    ).toHaveAttribute('data-error-for', 'id.greeting');
    expect(await greetingId()).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByText('Pratinjau belum diperbarui: perbaiki kolom yang ditandai.')).toBeInTheDocument();
    // The last good preview stays.
    expect(frame()).toHaveAttribute('srcdoc', '<p>Halo {nama} id</p>');

    fireEvent.change(await greetingId(), { target: { value: 'Salam hangat {nama}' } });
    await waitFor(() => expect(frame()).toHaveAttribute('srcdoc', '<p>Salam hangat {nama}</p>'));
    expect(screen.queryByText(/tidak dikenal/)).not.toBeInTheDocument();
    expect(await greetingId()).not.toHaveAttribute('aria-invalid');

    await userEvent.setup().click(screen.getByRole('button', { name: 'Teks' }));
    expect(screen.getByTestId('mail-preview-text')).toHaveTextContent('Salam hangat {nama}');
  });

  it('saves the draft with the CSRF token, then shows who changed what', async () => {
    const user = userEvent.setup();
    const { calls } = setup({ saved: null, history: [] });
    expect(await screen.findByText('Belum pernah diubah.')).toBeInTheDocument();
    fireEvent.change(await greetingId(), { target: { value: 'Salam hangat {nama}' } });
    await user.click(screen.getByRole('button', { name: 'Simpan template' }));

    await waitFor(() => expect(calls('/dashboard/mail-template', 'PUT')).toHaveLength(1));
    const [, init] = calls('/dashboard/mail-template', 'PUT')[0] ?? [];
    expect((init?.headers as Record<string, string>)['X-CSRF-Token']).toBe('csrf-admin');
    expect(JSON.parse(init?.body as string)).toEqual({ ...DEFAULT, id: { ...DEFAULT.id, greeting: 'Salam hangat {nama}' } });
    expect(await screen.findByText('Template email disimpan. Email berikutnya memakai teks ini.')).toBeInTheDocument();
    const history = await screen.findByTestId('mail-history');
    expect(await within(history).findByText('ani mengubah Salam pembuka (ID)')).toBeInTheDocument();
    expect(screen.getByTestId('mail-template-status')).toHaveTextContent('Terakhir diubah oleh ani');
    expect(screen.getByRole('button', { name: 'Batalkan perubahan' })).toBeDisabled();
  });

  it('reads the history again until it has the change, even when the template already has it', async () => {
    const user = userEvent.setup();
    const { calls } = setup({ saved: null, history: [], historyBehind: 2 });
    expect(await screen.findByText('Belum pernah diubah.')).toBeInTheDocument();
    fireEvent.change(await greetingId(), { target: { value: 'Salam hangat {nama}' } });
    await user.click(screen.getByRole('button', { name: 'Simpan template' }));

    const history = await screen.findByTestId('mail-history');
    expect(await within(history).findByText('ani mengubah Salam pembuka (ID)', {}, { timeout: 3000 })).toBeInTheDocument();
    // The first read, and three after the save: two behind, then the one with the change.
    expect(calls('/dashboard/mail-template/history', 'GET')).toHaveLength(4);
  });

  it('names the fields a refused save points at, in the operator language', async () => {
    const user = userEvent.setup();
    const { calls } = setup({
      saved: null,
      history: [],
      save: () =>
        refusal(
          ['en', 'instructions'],
          "must contain {kode}: the instructions carry the customer's code",
          'value_error.placeholder_required',
        ),
    });
    fireEvent.change(await screen.findByLabelText('Petunjuk (English)'), { target: { value: 'Ref {referensi}' } });
    await user.click(screen.getByRole('button', { name: 'Simpan template' }));
    const message = await screen.findByText(
      'Wajib memuat {kode}: pelanggan memberikan nomor referensi dan kode kepada asisten.',
    );
    expect(message).toHaveAttribute('data-error-for', 'en.instructions');
    expect(screen.getByLabelText('Petunjuk (English)')).toHaveAttribute('aria-invalid', 'true');
    expect(await screen.findByText('Template belum dapat disimpan: periksa kolom yang ditandai.')).toBeInTheDocument();
    expect(calls('/dashboard/mail-template', 'PUT')).toHaveLength(1);
    expect(screen.getByText('Memakai teks bawaan.')).toBeInTheDocument();
  });

  it('puts the default text back in the draft on request', async () => {
    const user = userEvent.setup();
    setup({ saved: { ...DEFAULT, en: { ...DEFAULT.en, footer: 'Changed' } }, history: [] });
    expect(await screen.findByLabelText('Penutup (English)')).toHaveValue('Changed');
    await user.click(screen.getByRole('button', { name: 'Pakai teks bawaan' }));
    expect(screen.getByLabelText('Penutup (English)')).toHaveValue('Pegadaian en');
    expect(screen.getByRole('button', { name: 'Batalkan perubahan' })).toBeEnabled();
  });
});

describe('the mail template on the dashboard', () => {
  function dashboard(auth: AuthState) {
    const fetch = fakeFetch((url) => {
      if (url.pathname === '/dashboard/orders') return jsonResponse([], { headers: { 'X-Total-Count': '0' } });
      if (url.pathname === '/dashboard/stats') return jsonResponse(makeStats());
      if (url.pathname === '/dashboard/handoffs') return jsonResponse({ items: [], open: 0 });
      if (url.pathname === '/dashboard/operators') return jsonResponse([]);
      if (url.pathname === '/dashboard/mail-template') return jsonResponse(current({ saved: null, history: [] }));
      if (url.pathname === '/dashboard/mail-template/history') return jsonResponse([]);
      return undefined;
    });
    render(<App fetch={fetch} createEventSource={createFakeEventSource} auth={auth} locale="id" />);
    return fetch;
  }

  it('is there for an admin', async () => {
    dashboard(ADMIN_SESSION);
    expect(await screen.findByRole('region', { name: 'Template email verifikasi' })).toBeInTheDocument();
  });

  it('is not there for an operator, who never asks for it', async () => {
    const fetch = dashboard({
      status: 'authenticated',
      user: { id: 2, username: 'sari', display_name: 'Sari', role: 'operator' },
      csrfToken: 'csrf-operator',
    });
    await screen.findByRole('heading', { name: 'Dashboard Gadai', level: 1 });
    await waitFor(() => expect(fetch).toHaveBeenCalled());
    expect(screen.queryByRole('region', { name: 'Template email verifikasi' })).not.toBeInTheDocument();
    expect(fetch.mock.calls.some(([input]) => urlOf(input).pathname.startsWith('/dashboard/mail-template'))).toBe(false);
  });
});
