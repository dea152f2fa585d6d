/**
 * The mail template editor's state: the template the next mail uses (and the default), the
 * admin's draft, saving it (`verification.template_changed`), and the change history. A save
 * answers once the change is on the stream; the dashboard's projection shows it milliseconds
 * later, so the current template and the history are read again until both have it (the two
 * reads run side by side: one may see the change and the other not yet).
 */
import { useCallback, useEffect, useState } from 'react';

import { isApiError, type FieldError } from '../api/client';
import { useApi } from '../api/context';
import type {
  CurrentMailTemplate,
  MailLanguage,
  MailPart,
  MailTemplate,
  MailTemplateChange,
} from '../api/mailTemplate';
import { MAIL_LANGUAGES, MAIL_PARTS } from '../api/mailTemplate';
import { useToast } from '../components/toast/context';
import { useI18n } from '../i18n/context';
import { errorMessage } from '../lib/errors';

/** How often, and how many times, the saved template is looked for after a save. */
const REFRESH_EVERY_MS = 250;
const REFRESH_TRIES = 20;

export function sameTemplate(a: MailTemplate | null | undefined, b: MailTemplate | null | undefined): boolean {
  if (!a || !b) return a === b;
  return MAIL_LANGUAGES.every((l) => MAIL_PARTS.every((p) => a[l][p] === b[l][p]));
}

/** The current template and the history, as read together. */
interface Loaded {
  now: CurrentMailTemplate;
  changes: MailTemplateChange[];
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function useMailTemplate() {
  const api = useApi();
  const toast = useToast();
  const { t } = useI18n();
  const [current, setCurrent] = useState<CurrentMailTemplate | null>(null);
  const [history, setHistory] = useState<MailTemplateChange[] | null>(null);
  const [draft, setDraft] = useState<MailTemplate | null>(null);
  const [loadError, setLoadError] = useState(false);
  const [saving, setSaving] = useState(false);
  const [saveErrors, setSaveErrors] = useState<FieldError[]>([]);

  /** Reads the current template and the history; the draft starts as the current template. */
  const load = useCallback(
    (signal?: AbortSignal): Promise<Loaded | null> =>
      Promise.all([api.getMailTemplate(signal), api.mailTemplateHistory(signal)])
        .then(([now, changes]) => {
          setCurrent(now);
          setHistory(changes);
          setDraft((d) => d ?? now.template);
          setLoadError(false);
          return { now, changes };
        })
        .catch((e: unknown) => {
          if (!(isApiError(e) && e.kind === 'aborted')) setLoadError(true);
          return null;
        }),
    [api],
  );

  useEffect(() => {
    const controller = new AbortController();
    void load(controller.signal);
    return () => controller.abort();
  }, [load]);

  const setPart = useCallback((language: MailLanguage, part: MailPart, value: string) => {
    setDraft((d) => (d ? { ...d, [language]: { ...d[language], [part]: value } } : d));
    setSaveErrors([]);
  }, []);

  const replaceDraft = useCallback((template: MailTemplate) => {
    setDraft(template);
    setSaveErrors([]);
  }, []);

  const save = useCallback(async () => {
    if (!draft) return;
    setSaving(true);
    try {
      await api.saveMailTemplate(draft);
      toast.show({ tone: 'success', message: t('mailTemplate.saved') });
      for (let i = 0; i < REFRESH_TRIES; i++) {
        const loaded = await load();
        if (loaded && sameTemplate(loaded.now.template, draft) && sameTemplate(loaded.changes[0]?.template, draft)) break;
        await pause(REFRESH_EVERY_MS);
      }
    } catch (e) {
      if (isApiError(e) && e.status === 422) {
        setSaveErrors(e.fieldErrors);
        toast.show({ tone: 'error', message: t('mailTemplate.invalid') });
      } else {
        toast.show({ tone: 'error', message: errorMessage(e, t) });
      }
    } finally {
      setSaving(false);
    }
  }, [api, draft, load, t, toast]);

  return {
    current,
    history,
    draft,
    loadError,
    saving,
    saveErrors,
    /** The draft differs from the template the next mail uses. */
    dirty: current !== null && !sameTemplate(current.template, draft),
    reload: load,
    setPart,
    replaceDraft,
    save,
  };
}

export type MailTemplateEditor = ReturnType<typeof useMailTemplate>;
