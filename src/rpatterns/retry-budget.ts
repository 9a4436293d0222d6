// The per-event failure count shared by the best-effort and dead-letter consumers.
import {
  type Consumer,
  type ConsumerFunc,
  type ConsumerOptions,
  type Event,
  isExpected,
  type Logger,
  newConsumer,
  noopLogger,
} from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { checkRequiredOptionKeys, intOption } from '../internal/options.js';
import { consumerOptionKeys, split } from './options.js';

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

/**
 * The shared body of the best-effort and dead-letter consumers: `fn` with a per-event retry
 * budget; once it is spent, `giveUp` decides what becomes of the failure (return to swallow it,
 * throw to keep it). A shutdown is always returned (see {@link mustReturn}).
 */
export function budgetedConsumer<O extends ConsumerOptions & { retries?: number; logger?: Logger }>(
  kind: string,
  name: string,
  fn: ConsumerFunc,
  options: O,
  ownKeys: readonly string[],
  giveUp: (event: Event, err: unknown, signal: AbortSignal, logger: Logger) => Promise<void> | void,
): Consumer {
  checkRequiredOptionKeys(options, [...ownKeys, ...consumerOptionKeys], kind);
  if (typeof fn !== 'function') throw invalidArgument('consumer function must be a function');
  const budget = new RetryBudget(intOption(options.retries, `${kind} retries`, 0));
  const logger = options.logger ?? noopLogger;
  return newConsumer(
    name,
    async (event, signal) => {
      try {
        await fn(event, signal);
      } catch (err) {
        if (mustReturn(err, signal) || !budget.failed(event)) throw err;
        await giveUp(event, err, signal, logger);
        return;
      }
      budget.succeeded();
    },
    split(options, ownKeys),
  );
}
