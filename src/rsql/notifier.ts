import type { Logger } from '../core/index.js';

/**
 * A running subscription to hints (a LISTEN connection, a Redis or NATS subscription, a file
 * watch); `close` stops it for good and settles once whatever it holds is released. Idempotent.
 */
export interface HintSubscription {
  close(): Promise<void> | void;
}

/**
 * A cross-process wake-up for the streams of an events table: the writer's `notify()` (what
 * `insert` returns, called after the commit) publishes a hint, and every loader of the table,
 * in any process, polls at once when one arrives instead of at its next poll interval.
 *
 * A hint carries nothing and guarantees nothing: streams poll every `pollIntervalMs` regardless,
 * so a lost hint (a dropped connection, a writer that never calls `notify()`) costs one poll
 * interval and a duplicated or spurious one costs one query, never an event. Implementations:
 * {@link natsNotifier}, {@link redisNotifier}, {@link postgresNotifier}, or your own.
 *
 * @example
 * const events = newEventsTable('user_events', { notifier: natsNotifier(nc) });
 */
export interface EventsNotifier {
  /**
   * Sends one hint that `table` has new committed events. Called with at most one call in flight
   * per table (the table coalesces the hints of a burst into one more); a rejection is logged,
   * never thrown at the writer. Must not wait for subscribers.
   */
  publish(table: string): Promise<void> | void;
  /**
   * Calls `wake` for every hint of `table` until the subscription is closed. Should call `wake`
   * once more after each reconnection (a hint sent meanwhile was lost). Must not throw for a
   * transient failure: report it to `logger` and keep trying.
   */
  subscribe(table: string, wake: () => void, logger: Logger): HintSubscription;
}

/**
 * The writer's side of a notifier for one table: one `publish` in flight at a time, and one more
 * after it when hints came meanwhile (their commits may have missed the first one's subscribers'
 * queries). A burst of commits costs two publishes, not one per commit.
 */
export class HintPublisher {
  readonly #notifier: EventsNotifier;
  readonly #table: string;
  readonly #logger: Logger;
  #inFlight = false;
  #again = false;
  #failing = false;

  constructor(notifier: EventsNotifier, table: string, logger: Logger) {
    this.#notifier = notifier;
    this.#table = table;
    this.#logger = logger;
  }

  /** Publishes a hint now, or once the one in flight settles. Never throws. */
  hint(): void {
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    this.#inFlight = true;
    let sent: Promise<void> | void;
    try {
      sent = this.#notifier.publish(this.#table);
    } catch (err) {
      sent = Promise.reject(err);
    }
    if (sent === undefined) {
      this.#settled(undefined);
      return;
    }
    sent.then(
      () => this.#settled(undefined),
      (err: unknown) => this.#settled(err),
    );
  }

  #settled(err: unknown): void {
    this.#inFlight = false;
    if (err !== undefined) {
      // Once per outage: a broken notifier must not log once per commit.
      if (!this.#failing) {
        this.#logger.warn('events notifier publish failed; streams fall back to polling', {
          table: this.#table,
          error: err,
        });
      }
      this.#failing = true;
      this.#again = false;
      return;
    }
    this.#failing = false;
    if (this.#again) {
      this.#again = false;
      this.hint();
    }
  }
}
