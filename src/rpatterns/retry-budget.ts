// The per-event failure count shared by the best-effort and dead-letter consumers.
import { type Event, isExpected } from '../core/index.js';

/**
 * Counts consecutive failures of the same event. `shouldGiveUp` is true once `retries` failures
 * of that event have been returned; a success or another event starts the count again.
 */
export class RetryBudget {
  readonly #retries: number;
  #eventId: string | undefined;
  #failures = 0;

  constructor(retries: number) {
    this.#retries = retries;
  }

  succeeded(): void {
    this.#eventId = undefined;
    this.#failures = 0;
  }

  /** Records a failure of `event`; true when it must be given up on (not returned again). */
  failed(event: Event): boolean {
    if (this.#eventId !== event.id) {
      this.#eventId = event.id;
      this.#failures = 0;
    }
    if (this.#failures < this.#retries) {
      this.#failures++;
      return false;
    }
    this.succeeded();
    return true;
  }
}

/**
 * True when the error must go back to `run` whatever the budget says: a shutdown (abort, stopped
 * stream, cancellation). Skipping the event then would lose it (the Go original's bug).
 */
export function mustReturn(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted || isExpected(err);
}
