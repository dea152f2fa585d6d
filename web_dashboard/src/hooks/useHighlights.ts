import { useCallback, useState } from 'react';

import { withoutKey } from '../lib/sets';
import type { Later } from './useLater';

const HIGHLIGHT_MS = 5_000;

/** Rows marked as new for a few seconds after the feed brought them. */
export function useHighlights(later: Later) {
  const [highlighted, setHighlighted] = useState<ReadonlySet<string>>(new Set());
  const highlight = useCallback(
    (id: string) => {
      setHighlighted((s) => new Set(s).add(id));
      later(() => setHighlighted((s) => withoutKey(s, id)), HIGHLIGHT_MS);
    },
    [later],
  );
  return { highlighted, highlight };
}
