/**
 * The live preview of a draft: once it has stayed the same for `delay` ms, the server renders
 * it with sample values (`POST /dashboard/mail-template/preview`, which checks it as saving
 * does). A draft that breaks the rules keeps the last good preview and gives the field errors.
 */
import { useEffect, useState } from 'react';

import { isApiError, type FieldError } from '../api/client';
import { useApi } from '../api/context';
import type { MailPreview, MailTemplate } from '../api/mailTemplate';
import { useDebouncedValue } from './useDebouncedValue';

interface PreviewState {
  preview: MailPreview | null;
  errors: FieldError[];
  /** The draft the preview or the errors belong to. */
  of: MailTemplate | null;
  failed: boolean;
}

export function useMailPreview(draft: MailTemplate | null, delay = 300) {
  const api = useApi();
  const settled = useDebouncedValue(draft, delay);
  const [state, setState] = useState<PreviewState>({ preview: null, errors: [], of: null, failed: false });

  useEffect(() => {
    if (!settled) return;
    const controller = new AbortController();
    api
      .previewMailTemplate(settled, controller.signal)
      .then((preview) => setState({ preview, errors: [], of: settled, failed: false }))
      .catch((e: unknown) => {
        if (isApiError(e) && e.kind === 'aborted') return;
        const errors = isApiError(e) && e.status === 422 ? e.fieldErrors : [];
        setState((s) => ({ ...s, errors, of: settled, failed: errors.length === 0 }));
      });
    return () => controller.abort();
  }, [api, settled]);

  return {
    preview: state.preview,
    errors: state.errors,
    /** The draft changed since the preview (or its errors) came. */
    updating: draft !== null && draft !== state.of,
    /** The preview shows an earlier draft: this one breaks the rules or could not be rendered. */
    stale: state.errors.length > 0 || state.failed,
  };
}
