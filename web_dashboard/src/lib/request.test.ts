import { describe, expect, it, vi } from 'vitest';

import { ApiError } from '../api/client';
import { startRequest } from './request';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('startRequest', () => {
  it('hands the answer to onData', async () => {
    const onData = vi.fn();
    const onError = vi.fn();
    const request = vi.fn((signal: AbortSignal) => {
      expect(signal.aborted).toBe(false);
      return Promise.resolve(42);
    });
    startRequest(request, onData, onError);
    await vi.waitFor(() => expect(onData).toHaveBeenCalledWith(42));
    expect(onError).not.toHaveBeenCalled();
  });

  it('hands a failure to onError', async () => {
    const onData = vi.fn();
    const onError = vi.fn();
    const failure = new ApiError({ kind: 'http', status: 500, detail: 'boom' });
    startRequest(() => Promise.reject(failure), onData, onError);
    await vi.waitFor(() => expect(onError).toHaveBeenCalledWith(failure));
    expect(onData).not.toHaveBeenCalled();
  });

  it('aborts on cleanup, and an aborted request reports nothing', async () => {
    const onData = vi.fn();
    const onError = vi.fn();
    const answer = deferred<number>();
    let seen: AbortSignal | undefined;
    const cleanup = startRequest(
      (signal) => {
        seen = signal;
        return answer.promise;
      },
      onData,
      onError,
    );
    cleanup();
    expect(seen?.aborted).toBe(true);
    answer.reject(new ApiError({ kind: 'aborted', status: 0, detail: '' }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(onData).not.toHaveBeenCalled();
    expect(onError).not.toHaveBeenCalled();
  });
});
