import { isApiError } from '../api/client';

/**
 * One read for an effect: starts `request`, hands its answer to `onData` and any failure but an
 * abort to `onError`, and returns the effect's cleanup, which aborts it. A request aborted by that
 * cleanup (a newer one took its place, or the page went away) reports nothing.
 */
export function startRequest<T>(
  request: (signal: AbortSignal) => Promise<T>,
  onData: (data: T) => void,
  onError: (error: unknown) => void,
): () => void {
  const controller = new AbortController();
  request(controller.signal)
    .then(onData)
    .catch((e: unknown) => {
      if (isApiError(e) && e.kind === 'aborted') return;
      onError(e);
    });
  return () => controller.abort();
}
