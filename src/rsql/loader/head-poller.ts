import type { Logger } from '../../core/index.js';
import { Waker } from '../../internal/abort.js';
import type { WakeupSource } from '../dialect.js';
import type { HintGap } from '../hint-gap.js';

/**
 * The wake-up seam of a loader: starts one source of hints that events may have been committed
 * (a PostgreSQL NOTIFY listener, a watch on a SQLite file, a message on Redis or NATS). The
 * source calls `wake()` on each hint; the loader then polls the head at once instead of at the
 * next poll interval, if some stream waits there.
 *
 * A starter is called once per loader, when a stream first waits at the head, and its source
 * runs until the loader stops (`close()`, awaited by `Loader.stop`). Hints are only hints: a
 * missed, late or spurious one costs latency or one query, never an event, because the loader
 * polls on its timer regardless and every poll is one coalesced query whatever the number of
 * streams or hints. A starter returns undefined when it has nothing for this handle; it should
 * not throw (a throw is logged and the loader polls on its timer alone).
 *
 * @example
 * // wakes the loader whenever another process announces an insert on a bus
 * const starter: WakeupStarter = (wake) => {
 *   const off = bus.subscribe('events.orders', wake);
 *   return { close: off };
 * };
 */
export type WakeupStarter = (wake: () => void) => WakeupSource | undefined;

/** What a head poller works with. */
export interface HeadPollerConfig {
  /** Delay between polls while some stream waits at the head. */
  readonly intervalMs: number;
  /** The wake-up sources, started at the first wait (see {@link WakeupStarter}). */
  readonly wakeups: readonly WakeupStarter[];
  readonly logger: Logger;
  /** The table's name, for log fields. */
  readonly table: string;
  /** Aborts when the loader stops. */
  readonly signal: AbortSignal;
  /**
   * Reads the head now: the loader's coalesced head load, which reports its end through
   * {@link HeadPoller.polled} or {@link HeadPoller.wakeWaiters}.
   */
  readonly poll: () => Promise<void>;
  /** True while a head load is in flight: a timed poll is then not scheduled on top of it. */
  readonly polling: () => boolean;
  /**
   * A notify or hint came while no stream waited: the loader keeps it (its next read loads
   * instead of waiting for a poll). Optional.
   */
  readonly idleHint?: (() => void) | undefined;
  /**
   * The least time between two hints acted on: a hint within it of the last one is acted on at
   * its end (one for all that came meanwhile); it widens under a sustained rate of hints. None:
   * each hint at once.
   */
  readonly hintGap?: HintGap | undefined;
}

/**
 * The poll and wake-up layer of a loader: streams waiting at the head sleep here; one timer polls
 * while anyone waits (one query per interval whatever the number of streams); a notify or a
 * wake-up hint polls at once; every head load, whoever started it, wakes the waiters, and a
 * failed one is kept with its number so each waiter that was there fails fast.
 */
export class HeadPoller {
  readonly #config: HeadPollerConfig;
  readonly #waker = new Waker();
  #timer: NodeJS.Timeout | undefined;
  #waiting = 0;
  /** Counts finished head loads; a failed one is kept with its number. */
  #polls = 0;
  #failure: { readonly n: number; readonly error: unknown } | undefined;
  #sources: WakeupSource[] | undefined;
  /** The timer of the hint deferred to the gap's end. */
  #hintTimer: NodeJS.Timeout | undefined;

  constructor(config: HeadPollerConfig) {
    this.#config = config;
  }

  /** Streams waiting now. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Waits for the next head load to end (or a notify), polling on the timer meanwhile. Rejects
   * with the loader's stop reason, the signal's reason, or the error of a head load that failed
   * while it waited.
   */
  async wait(signal: AbortSignal): Promise<void> {
    this.#startWakeups();
    const seen = this.#polls;
    this.#waiting++;
    try {
      this.#pollSoon(this.#config.intervalMs);
      await this.#waker.wait(signal);
    } finally {
      this.#waiting--;
    }
    this.#config.signal.throwIfAborted();
    // Fail fast (like the original's streams): a poll that failed while we waited ends the read.
    const failure = this.#failure;
    if (failure !== undefined && failure.n > seen) throw failure.error;
  }

  /**
   * Polls now when some stream waits (an insert in this process, or a wake-up hint); otherwise
   * hands the hint to `idleHint`, so that a stream busy with what it read does not wait a poll
   * interval for what the hint announced. At most one hint per `hintGap` is acted on: one
   * within the gap of the last is acted on at its end, together with those that came meanwhile.
   */
  notify(): void {
    if (this.#config.signal.aborted) return;
    const gap = this.#config.hintGap;
    gap?.hinted();
    if (this.#hintTimer !== undefined) return;
    // While writers commit faster than a query, each hint would start one more query as soon as
    // the last ended: the reader would query nonstop, its database load growing with the write
    // rate. A hint within the gap is acted on at its end instead, with all that came meanwhile.
    const wait = gap === undefined ? 0 : gap.wait();
    if (wait > 0) {
      this.#hintTimer = setTimeout(() => {
        this.#hintTimer = undefined;
        this.#act();
      }, wait);
      return;
    }
    this.#act();
  }

  #act(): void {
    if (this.#config.signal.aborted) return;
    this.#config.hintGap?.acted();
    if (this.#waiting > 0) this.#pollSoon(0);
    else this.#config.idleHint?.();
  }

  /**
   * A head load ended (counted): wakes the waiters. With `failure`, it failed: recorded before
   * the waiters wake, so each of them sees it.
   */
  polled(failure?: { readonly error: unknown }): void {
    this.#polls++;
    if (failure !== undefined) this.#failure = { n: this.#polls, error: failure.error };
    this.#waker.wake();
  }

  /** Wakes the waiters without counting a poll (nothing was read: they load themselves). */
  wakeWaiters(): void {
    this.#waker.wake();
  }

  /**
   * Stops the timer, wakes the waiters (they see the loader's stop reason) and closes the
   * wake-up sources; settles once they are closed. Call after the loader's signal aborted.
   */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#hintTimer !== undefined) clearTimeout(this.#hintTimer);
    this.#timer = undefined;
    this.#hintTimer = undefined;
    const sources = this.#sources ?? [];
    this.#waker.wake();
    await Promise.all(sources.map((s) => s.close()));
  }

  /** Starts the wake-up sources once, when a stream first waits. */
  #startWakeups(): void {
    if (this.#sources !== undefined || this.#config.signal.aborted) return;
    const sources: WakeupSource[] = [];
    for (const start of this.#config.wakeups) {
      try {
        const source = start(() => this.notify());
        if (source !== undefined) sources.push(source);
      } catch (err) {
        this.#config.logger.warn('wake-up source failed to start; polling on the timer alone', {
          table: this.#config.table,
          error: err,
        });
      }
    }
    this.#sources = sources;
  }

  #pollSoon(ms: number): void {
    if (this.#config.signal.aborted) return;
    if (ms === 0) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#poll();
      return;
    }
    if (this.#timer !== undefined || this.#config.polling()) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#poll();
    }, ms);
  }

  #poll(): void {
    this.#config.poll().then(
      () => {
        if (this.#waiting > 0) this.#pollSoon(this.#config.intervalMs);
      },
      (err: unknown) => {
        this.#config.logger.warn('events poll failed', { table: this.#config.table, error: err });
        if (this.#waiting > 0) this.#pollSoon(this.#config.intervalMs);
      },
    );
  }
}
