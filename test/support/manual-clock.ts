import type { Clock } from '../../src/core/index.js';

interface PendingSleep {
  readonly ms: number;
  readonly release: () => void;
}

/**
 * A clock whose sleeps wait until the test releases them: `nextSleep()` resolves when code under
 * test starts sleeping (so a test waits for the condition, never for real time), `release()`
 * ends every pending sleep and advances the time by its length. Aborts reject sleeps at once.
 */
export class ManualClock implements Clock {
  nowMs: number;
  readonly #pending: PendingSleep[] = [];
  readonly #waiters: ((s: PendingSleep) => void)[] = [];
  /** Every sleep asked for, in ms. */
  readonly sleeps: number[] = [];

  constructor(nowMs = Date.UTC(2026, 10, 28, 13)) {
    this.nowMs = nowMs;
  }

  now(): number {
    return this.nowMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#pending.indexOf(entry);
        if (i >= 0) this.#pending.splice(i, 1);
        reject(signal?.reason);
      };
      const entry: PendingSleep = {
        ms,
        release: () => {
          signal?.removeEventListener('abort', onAbort);
          this.nowMs += ms;
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.push(entry);
      const waiter = this.#waiters.shift();
      waiter?.(entry);
    });
  }

  /** Resolves with the length of the next (or a current) pending sleep, failing after `timeoutMs`. */
  nextSleep(timeoutMs = 5000): Promise<number> {
    const current = this.#pending[0];
    if (current !== undefined) return Promise.resolve(current.ms);
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`no sleep started within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (s: PendingSleep): void => {
        clearTimeout(timer);
        resolve(s.ms);
      };
      this.#waiters.push(waiter);
    });
  }

  /** How many sleeps are pending. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Ends every pending sleep. */
  release(): void {
    for (const s of this.#pending.splice(0)) s.release();
  }
}
