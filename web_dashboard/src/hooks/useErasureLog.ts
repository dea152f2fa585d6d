/**
 * The log of erasures (`GET /dashboard/admin/erasures`), newest first. An erasure answers once
 * its event is on the stream and the dashboard's projection records it milliseconds later, so
 * after one the log is read again until it lists it.
 */
import { useCallback, useEffect, useState } from 'react';

import { isApiError } from '../api/client';
import { useApi } from '../api/context';
import { ERASURE_LOG_LIMIT, type ErasureLogEntry, type ErasureResult } from '../api/privacy';

/** How often, and how many times, a new erasure is looked for in the log. */
const REFRESH_EVERY_MS = 250;
const REFRESH_TRIES = 20;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function listsErasure(entries: readonly ErasureLogEntry[] | null, erasure: ErasureResult): boolean {
  return (entries ?? []).some((e) => e.subject === erasure.subject && e.generation === erasure.generation);
}

export function useErasureLog() {
  const api = useApi();
  const [entries, setEntries] = useState<ErasureLogEntry[] | null>(null);
  const [error, setError] = useState(false);

  const load = useCallback(
    (signal?: AbortSignal): Promise<ErasureLogEntry[] | null> =>
      api
        .listErasures(ERASURE_LOG_LIMIT, signal)
        .then((list) => {
          setEntries(list);
          setError(false);
          return list;
        })
        .catch((e: unknown) => {
          if (!(isApiError(e) && e.kind === 'aborted')) setError(true);
          return null;
        }),
    [api],
  );

  useEffect(() => {
    const controller = new AbortController();
    void load(controller.signal);
    return () => controller.abort();
  }, [load]);

  /** Reads the log again until it lists `erasure` (or a few seconds passed). */
  const awaitErasure = useCallback(
    async (erasure: ErasureResult) => {
      for (let i = 0; i < REFRESH_TRIES; i++) {
        if (listsErasure(await load(), erasure)) return;
        await pause(REFRESH_EVERY_MS);
      }
    },
    [load],
  );

  return { entries, error, reload: load, awaitErasure };
}
