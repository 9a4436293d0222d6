import type { Event } from '../../core/index.js';
import type { Chunk, ReadPosition } from './chunk.js';

/** How many events a head cache keeps. */
export interface HeadCacheLimits {
  /** Events kept while the newest chunk is at the database's head (the full window). */
  readonly atHead: number;
  /**
   * Events kept while the newest chunk is behind the head (a catch-up reading ahead): enough for
   * streams reading side by side. Events then die young instead of being promoted by the GC (a
   * full window there tripled the GC time of a catch-up).
   */
  readonly behindHead: number;
}

/**
 * The newest resolved events of a table, as contiguous chunks (`chunks[i].end ===
 * chunks[i+1].after`), trimmed by whole chunks from the oldest. Streams reading inside it share
 * the chunks (no copy). Not thread-safe by design: one loader owns it.
 */
export class HeadCache {
  readonly #limits: HeadCacheLimits;
  #chunks: Chunk[] = [];
  #events = 0;

  constructor(limits: HeadCacheLimits) {
    this.#limits = limits;
  }

  /** The oldest chunk kept, if any. */
  get first(): Chunk | undefined {
    return this.#chunks[0];
  }

  /** The newest chunk kept, if any. */
  get last(): Chunk | undefined {
    return this.#chunks[this.#chunks.length - 1];
  }

  get isEmpty(): boolean {
    return this.#chunks.length === 0;
  }

  /** Where the cache starts (Infinity when empty). */
  get start(): number {
    return this.#chunks[0]?.after ?? Number.POSITIVE_INFINITY;
  }

  /** Events held now (noops not streamed are not counted). */
  get events(): number {
    return this.#events;
  }

  /** How many chunks are held now. */
  get chunks(): number {
    return this.#chunks.length;
  }

  /**
   * The chunk holding `after` and the index of its first event with a greater id (the index
   * equals the chunk's length when the rest of it is noops). `after` must lie in
   * [first.after, last.end).
   */
  find(after: number): ReadPosition {
    // Binary search the chunk with chunk.after <= after < chunk.end.
    const chunks = this.#chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((chunks[mid] as Chunk).after <= after) lo = mid;
      else hi = mid - 1;
    }
    const chunk = chunks[lo] as Chunk;
    const events = chunk.events;
    let a = 0;
    let b = events.length;
    while (a < b) {
      const m = (a + b) >> 1;
      // Ids are safe integers in canonical decimal (checked at load): exact as numbers.
      if (Number((events[m] as Event).id) <= after) a = m + 1;
      else b = m;
    }
    return { chunk, index: a };
  }

  /** Starts the cache again at `chunk` (whatever it held before). */
  reset(chunk: Chunk): void {
    this.#chunks = [chunk];
    this.#events = chunk.events.length;
  }

  /**
   * Appends a chunk loaded after the newest one (`chunk.after === last.end`; an empty range is
   * ignored) and trims the oldest whole chunks beyond the limit; the newest always stays.
   * `atHead` when the load reached what the database holds now.
   */
  append(chunk: Chunk, atHead: boolean): void {
    if (chunk.end === chunk.after) return;
    this.#chunks.push(chunk);
    this.#events += chunk.events.length;
    const limit = atHead ? this.#limits.atHead : this.#limits.behindHead;
    while (this.#chunks.length > 1 && this.#events > limit) {
      const dropped = this.#chunks.shift() as Chunk;
      this.#events -= dropped.events.length;
    }
  }

  /** Drops everything (the loader stopped). */
  clear(): void {
    this.#chunks = [];
    this.#events = 0;
  }
}
