import type { Translate } from '../i18n/context';

/** The element the header's count leads to. */
export const HANDOFFS_PANEL_ID = 'handoffs';

/** "3 hand-off menunggu" / "3 hand-offs waiting", or that none are. */
export function handoffCountLabel(t: Translate, count: number): string {
  if (count === 0) return t('handoffs.count.none');
  return t(count === 1 ? 'handoffs.count.one' : 'handoffs.count.other', { count });
}

/** Scrolls to the hand-off panel and moves the focus there. */
export function showHandoffsPanel(): void {
  const panel = document.getElementById(HANDOFFS_PANEL_ID);
  if (!panel) return;
  panel.scrollIntoView({ behavior: 'smooth', block: 'start' });
  panel.focus({ preventScroll: true });
}
