import type { Logger } from '../core/index.js';
import { HintGap } from './hint-gap.js';

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
   * per table, at most one per 5 ms (up to 25 ms under a sustained rate: the table coalesces the
   * hints of a burst into one more); a rejection is logged, never thrown at the writer. Must not
   * wait for subscribers.
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
 * The writer's side of a notifier for one table: fire-and-forget and coalesced. One `publish` in
 * flight at a time, started at least one {@link HintGap} after the previous one (5 ms while
 * commits are sparse, up to 25 ms under a sustained rate); a hint that comes meanwhile marks one
 * more for when both have passed (its commit may have missed the first one's subscribers'
 * queries) instead of queuing. A burst of commits costs two publishes, a sustained rate one per
 * gap; the writer never waits, and nothing is allocated per hint.
 */
export class HintPublisher {
  readonly #notifier: EventsNotifier;
  readonly #table: string;
  readonly #logger: Logger;
  readonly #gap: HintGap;
  readonly #onSent = (): void => this.#settled(undefined);
  readonly #onFailed = (err: unknown): void => this.#settled(err ?? new Error('publish failed'));
  readonly #onGap = (): void => {
    this.#timer = undefined;
    this.#publish(false);
  };
  #inFlight = false;
  #again = false;
  #failing = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(notifier: EventsNotifier, table: string, logger: Logger, gap = new HintGap()) {
    this.#notifier = notifier;
    this.#table = table;
    this.#logger = logger;
    this.#gap = gap;
  }

  /** Publishes a hint now, or once the one in flight settled and the gap passed. Never throws. */
  hint(): void {
    if (this.#closed) return;
    this.#gap.hinted();
    this.#publish(false);
  }

  /**
   * Stops for good: a hint waiting for its gap is published now, later ones are dropped (the
   * table is closed). Never throws.
   */
  close(): void {
    if (this.#closed) return;
    const pending = this.#timer !== undefined || (this.#again && !this.#inFlight);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (pending) this.#publish(true);
    this.#closed = true;
  }

  /** Publishes now unless one is in flight or (without `now`) the gap has not passed. */
  #publish(now: boolean): void {
    if (this.#closed) return;
    if (this.#inFlight || this.#timer !== undefined) {
      this.#again = true;
      return;
    }
    const wait = this.#gap.wait();
    if (wait > 0 && !now) {
      this.#timer = setTimeout(this.#onGap, wait);
      return;
    }
    this.#again = false;
    this.#inFlight = true;
    this.#gap.acted();
    let sent: Promise<void> | void;
    try {
      sent = this.#notifier.publish(this.#table);
    } catch (err) {
      this.#settled(err ?? new Error('publish failed'));
      return;
    }
    if (sent === undefined) this.#settled(undefined);
    else sent.then(this.#onSent, this.#onFailed);
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
    if (this.#again) this.#publish(false);
  }
}
