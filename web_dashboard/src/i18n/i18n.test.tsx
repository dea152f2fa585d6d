import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { LanguageSwitch } from '../components/LanguageSwitch';
import { useI18n } from './context';
import { I18nProvider, LOCALE_STORAGE_KEY } from './I18nProvider';
import { MESSAGES, format } from './messages';

function Probe() {
  const { t } = useI18n();
  return (
    <>
      <h1>{t('app.title')}</h1>
      <button type="button">{t('action.send')}</button>
      <LanguageSwitch />
    </>
  );
}

describe('i18n', () => {
  it('starts in Bahasa Indonesia, switches to English and remembers it', async () => {
    const user = userEvent.setup();
    const { unmount } = render(
      <I18nProvider>
        <Probe />
      </I18nProvider>,
    );
    expect(screen.getByRole('heading')).toHaveTextContent('Dashboard Gadai');
    expect(screen.getByRole('button', { name: 'Kirim Verifikasi' })).toBeInTheDocument();
    expect(document.documentElement.lang).toBe('id');
    expect(screen.getByRole('button', { name: 'Bahasa Indonesia' })).toHaveAttribute('aria-pressed', 'true');

    await user.click(screen.getByRole('button', { name: 'English' }));
    expect(screen.getByRole('heading')).toHaveTextContent('Gadai Dashboard');
    expect(screen.getByRole('button', { name: 'Send Verification' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'English' })).toHaveAttribute('aria-pressed', 'true');
    expect(document.documentElement.lang).toBe('en');
    expect(window.localStorage.getItem(LOCALE_STORAGE_KEY)).toBe('en');

    unmount();
    render(
      <I18nProvider>
        <Probe />
      </I18nProvider>,
    );
    expect(screen.getByRole('heading')).toHaveTextContent('Gadai Dashboard');
  });

  it('has every key in both languages, with the same placeholders', () => {
    const idKeys = Object.keys(MESSAGES.id).sort();
    expect(Object.keys(MESSAGES.en).sort()).toEqual(idKeys);
    const placeholders = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
    for (const key of idKeys) {
      const k = key as keyof typeof MESSAGES.id;
      expect(placeholders(MESSAGES.en[k]), key).toEqual(placeholders(MESSAGES.id[k]));
    }
  });

  it('fills placeholders', () => {
    expect(format('Halaman {page} dari {total}', { page: 2, total: 9 })).toBe('Halaman 2 dari 9');
    expect(format('{missing} tetap', {})).toBe('{missing} tetap');
  });
});
