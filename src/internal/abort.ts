import { type LongTimer, setLongTimeout } from './timers.js';

/**
 * Settles as `value` does, or rejects with the signal's reason as soon as it aborts. The
 * listener is removed either way, so nothing stays attached to a long-lived signal. `value` may
 * be a plain value or any thenable (a store written against the interface loosely): it is
 * normalised first, so nothing here can throw inside the abort listener.
 */
export function abortable<T>(
  value: T | PromiseLike<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  const promise = Promise.resolve(value);
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * An AbortController that also aborts when any parent signal aborts; `dispose()` detaches it from
 * the parents (call it in `finally`, or the parents keep a listener per child forever).
 */
export function linkedController(...parents: (AbortSignal | undefined)[]): {
  controller: AbortController;
  dispose: () => void;
} {
  const controller = new AbortController();
  const cleanups: (() => void)[] = [];
  for (const parent of parents) {
    if (parent === undefined) continue;
    if (parent.aborted) {
      controller.abort(parent.reason);
      break;
    }
    const onAbort = (): void => controller.abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    cleanups.push(() => parent.removeEventListener('abort', onAbort));
  }
  return {
    controller,
    dispose: () => {
      for (const c of cleanups) c();
      cleanups.length = 0;
    },
  };
}

/** A one-shot wake-up that many waiters can await; `wake()` releases them all. */
export class Waker {
  #waiters: (() => void)[] = [];

  /** Resolves at the next `wake()`, after `ms` (when given), or rejects when `signal` aborts. */
  wait(signal?: AbortSignal, ms?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: LongTimer | undefined;
      const cleanUp = (): void => {
        timer?.clear();
        signal?.removeEventListener('abort', onAbort);
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
      };
      const done = (): void => {
        cleanUp();
        resolve();
      };
      const onAbort = (): void => {
        // Rejects: cleaning up must not resolve first (a settled promise ignores the reject).
        cleanUp();
        reject(signal?.reason);
      };
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (ms !== undefined && Number.isFinite(ms)) timer = setLongTimeout(done, ms);
      this.#waiters.push(done);
    });
  }

  /** Releases every current waiter. */
  wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** How many are waiting now. */
  get size(): number {
    return this.#waiters.length;
  }
}
