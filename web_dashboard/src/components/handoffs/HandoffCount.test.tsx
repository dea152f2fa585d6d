import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { renderWithProviders } from '../../test/helpers';
import { Header } from '../Header';

describe('the header count of hand-offs', () => {
  it('shows how many are waiting, with a label a screen reader can say', () => {
    renderWithProviders(<Header connection="live" handoffs={3} />);
    const link = screen.getByRole('link', { name: '3 hand-off menunggu' });
    expect(link).toHaveTextContent('Hand-off:3');
    expect(link).toHaveAttribute('href', '#handoffs');
    expect(link).toHaveAttribute('data-handoffs', '3');
  });

  it('shows 0 quietly, and nothing before the count is known', () => {
    const { rerender } = renderWithProviders(<Header connection="live" handoffs={0} />);
    expect(screen.getByRole('link', { name: 'Tidak ada hand-off menunggu' })).toHaveAttribute('data-handoffs', '0');
    rerender(<Header connection="live" />);
    expect(screen.queryByRole('link', { name: /hand-off/ })).not.toBeInTheDocument();
  });

  it('counts in English too', () => {
    renderWithProviders(<Header connection="live" handoffs={1} />, { locale: 'en' });
    expect(screen.getByRole('link', { name: '1 hand-off waiting' })).toBeInTheDocument();
  });

  it('leads to the hand-off panel and focuses it', async () => {
    const user = userEvent.setup();
    const scrollIntoView = vi.fn();
    renderWithProviders(
      <>
        <Header connection="live" handoffs={2} />
        <section id="handoffs" tabIndex={-1} aria-label="panel" />
      </>,
    );
    const panel = screen.getByRole('region', { name: 'panel' });
    panel.scrollIntoView = scrollIntoView;
    await user.click(screen.getByRole('link', { name: '2 hand-off menunggu' }));
    expect(scrollIntoView).toHaveBeenCalled();
    expect(panel).toHaveFocus();
    expect(window.location.hash).toBe('');
  });
});
