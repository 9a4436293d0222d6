import {
  type Consumer,
  type ConsumerFunc,
  type ConsumerOptions,
  codeOf,
  type ErrorInsertFunc,
  type Logger,
} from '../core/index.js';
import { abortable } from '../internal/abort.js';
import { invalidArgument } from '../internal/errors.js';
import { describeThrown } from '../internal/thrown.js';
import { budgetedConsumer } from './retry-budget.js';

export type { ErrorInsertFunc } from '../core/index.js';

/** Options of {@link newDeadLetterConsumer}, plus those of `newConsumer`. */
export interface DeadLetterOptions extends ConsumerOptions {
  /**
   * How many times a failure of the same event is returned (so `run` fails and is retried) before
   * it is recorded as a dead letter and skipped. @default 0
   */
  readonly retries?: number;
  /** Where dead letters and failed recordings are reported. @default no logging */
  readonly logger?: Logger;
}

const ownKeys = ['retries', 'logger'] as const;

/**
 * Builds a consumer that, after `retries` consecutive failures of an event, records it with
 * `insertError(consumerName, eventId, message)` and skips it. If recording fails, the original
 * error is returned (the consumer stays on the event: nothing is skipped unrecorded).
 *
 * An expected error (abort, stopped stream, cancellation) or any error while the run's signal is
 * aborted is returned, never recorded nor swallowed. Fixed from the Go original: it passed the
 * event id and the consumer name swapped, and swallowed expected errors.
 *
 * @example
 * const consumer = newDeadLetterConsumer('billing', bill, errors.toErrorInsertFunc(db), {
 *   retries: 5,
 *   logger,
 * });
 */
export function newDeadLetterConsumer(
  name: string,
  fn: ConsumerFunc,
  insertError: ErrorInsertFunc,
  options: DeadLetterOptions = {},
): Consumer {
  if (typeof insertError !== 'function') {
    throw invalidArgument('dead-letter consumer insertError must be a function');
  }
  return budgetedConsumer(
    'dead-letter consumer',
    name,
    fn,
    options,
    ownKeys,
    async (event, err, signal, logger) => {
      const message = describeThrown(err);
      try {
        await abortable(insertError(name, event.id, message, signal), signal);
      } catch (insertErr) {
        logger.error('reflex dead-letter consumer: recording the failure failed', {
          consumer: name,
          eventId: event.id,
          code: codeOf(err),
          error: err,
          insertCode: codeOf(insertErr),
          insertError: insertErr,
        });
        throw err;
      }
      logger.warn('reflex dead-letter consumer: event recorded as a dead letter and skipped', {
        consumer: name,
        eventId: event.id,
        code: codeOf(err),
        error: err,
      });
    },
  );
}
