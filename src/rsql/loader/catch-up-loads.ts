import type { LoadResult } from './chunk.js';

/**
 * Read-ahead pages kept per loader, one per stream catching up at its own position; beyond it
 * the oldest go (a closed stream's page, or one of a ninth stream, loaded again).
 */
export const readAheadKept = 8;

/**
 * The catch-up layer of a loader, for reads behind the head cache: loads of one position are
 * coalesced (singleflight, however many streams ask), and the next page of a catch-up can load
 * while a stream reads the current one (read-ahead).
 */
export class CatchUpLoads {
  readonly #load: (after: number) => Promise<LoadResult>;
  readonly #signal: AbortSignal;
  readonly #kept: number;
  readonly #inFlight = new Map<number, Promise<LoadResult>>();
  /**
   * Read-ahead pages by position. Taken once (a page kept after its reader took it was promoted
   * by the GC with every event in it, halving the catch-up rate). A failed read-ahead is
   * undefined: the reader loads again.
   */
  readonly #ahead = new Map<number, Promise<LoadResult | undefined>>();

  /**
   * @param load the layer below (one query per call).
   * @param signal aborts when the loader stops: no read-ahead starts after.
   * @param kept read-ahead pages kept at most.
   */
  constructor(
    load: (after: number) => Promise<LoadResult>,
    signal: AbortSignal,
    kept = readAheadKept,
  ) {
    this.#load = load;
    this.#signal = signal;
    this.#kept = kept;
  }

  /** The page after `after`: its read-ahead when one was started, else a coalesced load. */
  load(after: number): Promise<LoadResult> {
    const ahead = this.#ahead.get(after);
    if (ahead === undefined) return this.#coalesced(after);
    this.#ahead.delete(after);
    return ahead.then((result) => result ?? this.#coalesced(after));
  }

  /** Starts loading the page after `after` for a reader that will ask for it next. */
  readAhead(after: number): void {
    if (this.#ahead.has(after) || this.#signal.aborted) return;
    this.#ahead.set(
      after,
      this.#coalesced(after).then(
        (r) => r,
        () => undefined,
      ),
    );
    for (const key of this.#ahead.keys()) {
      if (this.#ahead.size <= this.#kept) break;
      this.#ahead.delete(key);
    }
  }

  /** Read-ahead pages waiting for their reader. */
  get pending(): number {
    return this.#ahead.size;
  }

  /** Forgets the read-ahead pages (the loader stopped). */
  clear(): void {
    this.#ahead.clear();
  }

  #coalesced(after: number): Promise<LoadResult> {
    let p = this.#inFlight.get(after);
    if (p === undefined) {
      p = this.#load(after).finally(() => this.#inFlight.delete(after));
      this.#inFlight.set(after, p);
    }
    return p;
  }
}
