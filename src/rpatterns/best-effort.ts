import {
  type Consumer,
  type ConsumerFunc,
  type ConsumerOptions,
  codeOf,
  type Logger,
} from '../core/index.js';
import { budgetedConsumer } from './retry-budget.js';

/** Options of {@link newBestEffortConsumer}, plus those of `newConsumer`. */
export interface BestEffortOptions extends ConsumerOptions {
  /**
   * How many times a failure of the same event is returned (so `run` fails and is retried)
   * before the event is skipped. @default 0 (skip at the first failure)
   */
  readonly retries?: number;
  /** Where skipped events are reported (`warn`). @default no logging */
  readonly logger?: Logger;
}

const ownKeys = ['retries', 'logger'] as const;

/**
 * Builds a consumer that gives up on an event after `retries` consecutive failures of it: the
 * failure is logged and swallowed, so the cursor moves on. The count is per event and in memory;
 * a success or another event resets it.
 *
 * An expected error (abort, stopped stream, cancellation) or an error thrown while the run's
 * signal is aborted is always returned and never counted: a shutdown never skips an event (the
 * Go original skipped it once retries were exhausted).
 *
 * @example
 * const consumer = newBestEffortConsumer('notifier', async (e) => notify(e), { retries: 3, logger });
 */
export function newBestEffortConsumer(
  name: string,
  fn: ConsumerFunc,
  options: BestEffortOptions = {},
): Consumer {
  return budgetedConsumer(
    'best-effort consumer',
    name,
    fn,
    options,
    ownKeys,
    (event, err, _, logger) => {
      logger.warn('reflex best-effort consumer: skipping event after failures', {
        consumer: name,
        eventId: event.id,
        code: codeOf(err),
        error: err,
      });
    },
  );
}
