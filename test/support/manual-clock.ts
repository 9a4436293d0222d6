import type { Clock } from '../../src/core/index.js';

interface Timer {
  at: number;
  ms: number;
  resolve: () => void;
  cleanup: () => void;
}

/** Lets the macrotask queue run a few times, so chains of awaits started by a timer finish. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * A clock whose sleeps wait until the test moves time on with `advance`: timers fire in order and
 * only then. Aborting a sleep's signal rejects it and removes its timer.
 */
export class ManualClock implements Clock {
  nowMs: number;
  readonly #timers: Timer[] = [];
  readonly #waiters: ((ms: number) => void)[] = [];
  /** Every sleep asked for, in ms. */
  readonly sleeps: number[] = [];

  constructor(nowMs = Date.UTC(2026, 0, 1)) {
    this.nowMs = nowMs;
  }

  now(): number {
    return this.nowMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        timer.cleanup();
        reject(signal?.reason);
      };
      const timer: Timer = {
        at: this.nowMs + ms,
        ms,
        resolve: () => {
          timer.cleanup();
          resolve();
        },
        cleanup: () => {
          signal?.removeEventListener('abort', onAbort);
          const i = this.#timers.indexOf(timer);
          if (i >= 0) this.#timers.splice(i, 1);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#timers.push(timer);
      this.#waiters.shift()?.(ms);
    });
  }

  /**
   * Resolves with the length of the next (or a current) pending sleep, so a test waits for the
   * code under test to start sleeping rather than for real time; fails after `timeoutMs`.
   */
  nextSleep(timeoutMs = 5000): Promise<number> {
    const current = this.#timers[0];
    if (current !== undefined) return Promise.resolve(current.ms);
    return new Promise<number>((resolve, reject) => {
      const waiter = (ms: number): void => {
        clearTimeout(timer);
        resolve(ms);
      };
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`no sleep started within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Ends every pending sleep at once, moving time on to the latest of them. */
  release(): void {
    for (const t of [...this.#timers].sort((a, b) => a.at - b.at)) {
      this.nowMs = Math.max(this.nowMs, t.at);
      t.resolve();
    }
  }

  /** How many sleeps are waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time on by `ms`, firing due timers in order, and lets their continuations run. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.nowMs = Math.max(this.nowMs, due.at);
      due.resolve();
      await settle();
    }
    this.nowMs = target;
    await settle();
  }
}
