/**
 * The least time between two hints a process acts on for one table, in ms, while hints are
 * sparse: events this far apart or more are never delayed. See {@link HintGap}.
 */
export const HINT_GAP_MS = 5;

/**
 * The most a hint waits to be acted on under a sustained rate, in ms (reached from about
 * 1,000 hints/s per table and process, see {@link HintGap}): a sustained write rate then costs
 * 40 publishes and 40 wake-up queries per second per table and process, half the poll interval's
 * worth of latency at most.
 */
export const HINT_GAP_MAX_MS = 25;

/** Options of a {@link HintGap}; the defaults are the library's. */
export interface HintGapOptions {
  /** The gap while hints are sparse, in ms. @default HINT_GAP_MS */
  readonly minMs?: number;
  /** The widest gap, under a sustained rate, in ms. @default HINT_GAP_MAX_MS */
  readonly maxMs?: number;
  /** The clock, in ms (tests drive it). @default performance.now */
  readonly now?: () => number;
}

/**
 * How long a table's hints wait to be acted on, on either end of a wake-up (the writer's
 * publishes, a loader's queries): at most one act per gap, a hint within the gap of the last act
 * being acted on at its end with all that came meanwhile.
 *
 * The gap follows the rate of hints. While fewer than one comes per `minMs` (200/s by default),
 * it stays at `minMs`, so sparse events are never delayed. Above that it widens in proportion:
 * each act measures the hints it takes and the time since the last act, and the next gap is
 * `minMs` × (hints per `minMs`), capped at `maxMs`: 5 ms at 200 hints/s, 10 ms at 400/s, 25 ms
 * from 1,000/s up. A busy table then costs a bounded, small rate of publishes and queries (each
 * one wakes another process, which on a shared machine comes out of the writers' throughput),
 * and pays for it with at most `maxMs` of latency. The first hint after a quiet spell is acted on
 * at once and narrows the gap back (the window it measures is long).
 *
 * A gap only defers: every hint counted is acted on at the latest at the gap's end, so a
 * deferred hint is never lost.
 */
export class HintGap {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #now: () => number;
  #ms: number;
  /** Hints since the last act. */
  #count = 0;
  /** When the last act was (the clock's ms). */
  #lastAt = Number.NEGATIVE_INFINITY;

  constructor(options: HintGapOptions = {}) {
    this.#minMs = options.minMs ?? HINT_GAP_MS;
    this.#maxMs = Math.max(this.#minMs, options.maxMs ?? HINT_GAP_MAX_MS);
    this.#now = options.now ?? (() => performance.now());
    this.#ms = this.#minMs;
  }

  /** The gap now, in ms. */
  get ms(): number {
    return this.#ms;
  }

  /** Counts one hint (acted on at once or deferred: both measure the rate). */
  hinted(): void {
    this.#count++;
  }

  /** Ms to wait before the next act (0 or less: now). */
  wait(): number {
    return this.#lastAt + this.#ms - this.#now();
  }

  /** The hints counted are acted on now: the next gap follows from their rate. */
  acted(): void {
    const now = this.#now();
    const span = now - this.#lastAt;
    const min = this.#minMs;
    // Hints per min gap over the window just ended; ≤ 1 keeps the min gap.
    const perMin = span > 0 ? (this.#count * min) / span : this.#count;
    this.#ms = Math.min(this.#maxMs, Math.max(min, min * perMin));
    this.#count = 0;
    this.#lastAt = now;
  }
}
