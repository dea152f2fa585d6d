import { describe, expect, it } from 'vitest';

import { attachmentName } from '../api/client';
import { MESSAGES, format, type MessageKey } from '../i18n/messages';
import { customerLabel, erasureRequest, serverErasureErrors, shortReference } from './privacy';

const t = (key: MessageKey, vars?: Record<string, string | number>) => format(MESSAGES.id[key], vars);

describe('erasureRequest', () => {
  it('sends exactly one of e-mail and order id, trimmed', () => {
    expect(erasureRequest({ by: 'email', value: ' budi@example.com ', alasan: ' PDP-1 ' }, t)).toEqual({
      request: { email: 'budi@example.com', alasan: 'PDP-1' },
      errors: null,
    });
    expect(
      erasureRequest({ by: 'order_id', value: '0190A0C2-7D1E-7C3A-9F00-3B2A1C0D9E8F', alasan: 'PDP-1' }, t).request,
    ).toEqual({ order_id: '0190a0c2-7d1e-7c3a-9f00-3b2a1c0d9e8f', alasan: 'PDP-1' });
  });

  it('names every problem by field, as the server would', () => {
    expect(erasureRequest({ by: 'email', value: '', alasan: '' }, t).errors).toEqual({
      email: 'Isi email pelanggan.',
      alasan: 'Alasan minimal 3 karakter.',
    });
    expect(erasureRequest({ by: 'email', value: 'budi@localhost', alasan: 'a@b' }, t).errors).toEqual({
      email: 'Email tidak valid.',
      alasan: 'Alasan tidak boleh memuat tanda @: tulis nomor permintaannya, bukan email.',
    });
    expect(erasureRequest({ by: 'order_id', value: '1A2B3C4D', alasan: 'x'.repeat(201) }, t).errors).toEqual({
      order_id: 'ID pesanan tidak valid: tulis ID lengkapnya (UUID).',
      alasan: 'Alasan maksimal 200 karakter.',
    });
    // Lengths in characters: 200 of them pass, whatever their size in UTF-16.
    expect(erasureRequest({ by: 'email', value: 'a@b.id', alasan: '😀'.repeat(200) }, t).errors).toBeNull();
    expect(erasureRequest({ by: 'email', value: 'a@b.id', alasan: '  ab  ' }, t).errors).toEqual({
      alasan: 'Alasan minimal 3 karakter.',
    });
  });
});

describe('serverErasureErrors', () => {
  it("puts each 422 item under its field and the rest on the form", () => {
    expect(
      serverErasureErrors(
        [
          { field: 'alasan', path: 'alasan', message: 'terlalu pendek', type: 'value_error' },
          { field: 'alasan', path: 'alasan', message: 'kedua', type: 'value_error' },
          { field: 'body', path: '', message: 'isi tepat satu', type: 'value_error' },
        ],
        t,
        'Periksa kolom yang ditandai.',
      ),
    ).toEqual({ alasan: 'terlalu pendek', form: 'isi tepat satu' });
    expect(serverErasureErrors([], t, 'Periksa kolom yang ditandai.')).toEqual({ form: 'Periksa kolom yang ditandai.' });
  });

  it("translates dashboard-api's kinds of problem", () => {
    const at = (field: string, type: string) => ({ field, path: field, message: 'in English', type });
    expect(
      serverErasureErrors(
        [at('email', 'value_error.one_of'), at('order_id', 'value_error.one_of'), at('alasan', 'value_error.personal_data')],
        t,
        '',
      ),
    ).toEqual({
      email: 'Isi tepat satu: email pelanggan atau ID pesanan.',
      order_id: 'Isi tepat satu: email pelanggan atau ID pesanan.',
      alasan: 'Alasan tidak boleh memuat tanda @: tulis nomor permintaannya, bukan email.',
    });
    expect(serverErasureErrors([at('alasan', 'value_error.length')], t, '').alasan).toBe(
      'Alasan harus 3-200 karakter: nomor permintaannya.',
    );
    expect(serverErasureErrors([at('email', 'value_error.email')], t, '').email).toBe('Email tidak valid.');
    expect(serverErasureErrors([at('order_id', 'type_error.uuid')], t, '').order_id).toBe(
      'ID pesanan tidak valid: tulis ID lengkapnya (UUID).',
    );
  });
});

describe('customerLabel', () => {
  it('names an erased customer by the reference, never as unknown', () => {
    const id = '0190a0c2-7d1e-7c3a-9f00-3b2a1c0d9e8f';
    expect(shortReference(id)).toBe('0190A0C2');
    expect(customerLabel({ id, nama_customer: null, data_dihapus: true }, t)).toBe('data dihapus (0190A0C2)');
    expect(customerLabel({ id, nama_customer: null, data_dihapus: false }, t)).toBe('Tidak diketahui');
    expect(customerLabel({ id, nama_customer: 'Budi' }, t)).toBe('Budi');
  });
});

describe('attachmentName', () => {
  it('reads the file name a Content-Disposition suggests', () => {
    expect(attachmentName('attachment; filename="data-pelanggan.json"', 'x.json')).toBe('data-pelanggan.json');
    expect(attachmentName("attachment; filename*=UTF-8''data%20budi.json; filename=\"a.json\"", 'x.json')).toBe(
      'data budi.json',
    );
    expect(attachmentName('attachment; filename=plain.json', 'x.json')).toBe('plain.json');
    expect(attachmentName('attachment; filename="../../etc/passwd"', 'x.json')).toBe('....etcpasswd');
    expect(attachmentName('attachment', 'x.json')).toBe('x.json');
    expect(attachmentName(null, 'x.json')).toBe('x.json');
  });
});
