import { sleep } from '../internal/timers.js';

/** The time source of a loop: injectable so tests never sleep for real. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `Date.now()` and `node:timers/promises`. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  sleep,
});
