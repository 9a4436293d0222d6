/**
 * The longest delay one Node timer holds (2^31 − 1 ms, about 24.8 days). Node fires a longer one
 * after 1 ms, so every timer of this package is armed through this file, in chunks.
 */
export const maxTimerMs = 2_147_483_647;

/** A timer of any length, armed by {@link setLongTimeout}. */
export interface LongTimer {
  /** Cancels it; idempotent. */
  clear(): void;
  /** Lets the process exit while only this timer is left (as `Timeout.unref`). */
  unref(): LongTimer;
  /** Undoes {@link LongTimer.unref}. */
  ref(): LongTimer;
}

/**
 * Calls `fn` once after `ms` (any length, `Infinity` meaning never), re-arming a Node timer in
 * chunks of at most {@link maxTimerMs}. A delay that is not > 0 fires on the next turn.
 */
export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  let due = Math.max(ms || 0, 0); // NaN fires on the next turn, as setTimeout does
  let referenced = true;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const chunk = Math.min(due, maxTimerMs);
    due -= chunk;
    timer = setTimeout(due > 0 ? arm : fire, chunk);
    if (!referenced) timer.unref();
  };
  const fire = (): void => {
    timer = undefined;
    fn();
  };
  arm();
  const handle: LongTimer = {
    clear: () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    unref: () => {
      referenced = false;
      timer?.unref();
      return handle;
    },
    ref: () => {
      referenced = true;
      timer?.ref();
      return handle;
    },
  };
  return handle;
}

/**
 * Resolves after `ms` (any length: armed in chunks), or rejects with the signal's reason as soon
 * as it aborts; the listener is removed either way.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (!(ms > 0)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      timer.clear();
      reject(signal?.reason);
    };
    const timer = setLongTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
