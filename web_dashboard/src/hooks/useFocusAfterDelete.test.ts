import { act, renderHook } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';

import type { Order } from '../api/types';
import { makeOrder } from '../test/helpers';
import { useFocusAfterDelete } from './useFocusAfterDelete';

const budi = makeOrder();
const siti = makeOrder();
const added: HTMLElement[] = [];

function element<K extends keyof HTMLElementTagNameMap>(tag: K): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  el.tabIndex = -1;
  document.body.append(el);
  added.push(el);
  return el;
}

function mount() {
  const heading = element('h2');
  const hook = renderHook(({ orders }: { orders: Order[] }) => useFocusAfterDelete(orders), {
    initialProps: { orders: [budi, siti] },
  });
  hook.result.current.heading.current = heading;
  return { hook, heading };
}

afterEach(() => {
  for (const el of added.splice(0)) el.remove();
});

describe('useFocusAfterDelete', () => {
  it('moves focus to the heading once an expected deletion took the focused row away', () => {
    const { hook, heading } = mount();
    const rowButton = element('button');
    rowButton.focus();
    act(() => hook.result.current.expectDeletion());
    rowButton.remove();
    hook.rerender({ orders: [siti] });
    expect(heading).toHaveFocus();
  });

  it('leaves focus alone without an expected deletion, or when it went elsewhere', () => {
    const { hook, heading } = mount();
    const rowButton = element('button');
    rowButton.focus();
    rowButton.remove();
    hook.rerender({ orders: [siti] });
    expect(heading).not.toHaveFocus();

    const input = element('input');
    input.focus();
    act(() => hook.result.current.expectDeletion());
    hook.rerender({ orders: [] });
    expect(input).toHaveFocus();
  });
});
