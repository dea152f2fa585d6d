import { useEffect, useRef, type RefObject } from 'react';

const FOCUSABLE = [
  'a[href]',
  'button:not([disabled])',
  'input:not([disabled]):not([type="hidden"])',
  'select:not([disabled])',
  'textarea:not([disabled])',
  '[tabindex]:not([tabindex="-1"])',
].join(',');

export function focusableIn(container: HTMLElement): HTMLElement[] {
  return Array.from(container.querySelectorAll<HTMLElement>(FOCUSABLE)).filter(
    (el) => !el.hasAttribute('inert') && el.getAttribute('aria-hidden') !== 'true',
  );
}

/**
 * The active traps, innermost last: only that one handles keys and focus, so a dialog opened
 * from the drawer gets Esc and Tab while the drawer waits under it.
 */
const traps: object[] = [];

/**
 * While `active`: moves focus into `container` (to `initialFocus` or its first focusable
 * element), keeps Tab and Shift+Tab inside it, calls `onEscape` on Esc, and gives focus back to
 * whatever had it before when it ends. A trap activated while another is active sits on top of
 * it until it ends.
 */
export function useFocusTrap(
  container: RefObject<HTMLElement | null>,
  active: boolean,
  onEscape: () => void,
  initialFocus?: RefObject<HTMLElement | null>,
) {
  const onEscapeRef = useRef(onEscape);
  useEffect(() => {
    onEscapeRef.current = onEscape;
  }, [onEscape]);

  useEffect(() => {
    if (!active) return;
    const root = container.current;
    if (!root) return;
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const self = {};
    traps.push(self);
    const innermost = () => traps[traps.length - 1] === self;
    const first = initialFocus?.current ?? focusableIn(root)[0] ?? root;
    first.focus();

    function onKeyDown(event: KeyboardEvent) {
      if (!root || !innermost()) return;
      if (event.key === 'Escape') {
        event.stopPropagation();
        event.preventDefault();
        onEscapeRef.current();
        return;
      }
      if (event.key !== 'Tab') return;
      const items = focusableIn(root);
      if (items.length === 0) {
        event.preventDefault();
        root.focus();
        return;
      }
      const firstItem = items[0];
      const lastItem = items[items.length - 1];
      const current = document.activeElement;
      if (event.shiftKey && (current === firstItem || !root.contains(current))) {
        event.preventDefault();
        lastItem?.focus();
      } else if (!event.shiftKey && (current === lastItem || !root.contains(current))) {
        event.preventDefault();
        firstItem?.focus();
      }
    }

    function onFocusIn(event: FocusEvent) {
      if (root && innermost() && event.target instanceof Node && !root.contains(event.target)) {
        (focusableIn(root)[0] ?? root).focus();
      }
    }

    document.addEventListener('keydown', onKeyDown, true);
    document.addEventListener('focusin', onFocusIn);
    return () => {
      document.removeEventListener('keydown', onKeyDown, true);
      document.removeEventListener('focusin', onFocusIn);
      traps.splice(traps.indexOf(self), 1);
      if (previous && document.contains(previous)) previous.focus();
    };
  }, [active, container, initialFocus]);
}
