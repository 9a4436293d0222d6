import type { Clock, Event, StreamCallOptions } from '../core/index.js';
import { BaseStreamClient } from '../internal/stream-client.js';
import type { Chunk, Loader } from './loader.js';

/**
 * A stream over a shared loader: it holds a reference to one chunk and an index (no copy), so
 * its memory is one chunk at most; it asks the loader for the next chunk when done.
 */
export class SqlStreamClient extends BaseStreamClient {
  readonly #loader: Loader;
  readonly #toHead: boolean;
  readonly #lagMs: number;
  readonly #clock: Clock;
  /** Where the next chunk starts: the cursor, then the end of each chunk read. */
  #prev: number;
  #chunk: Chunk | undefined;
  #index = 0;

  constructor(loader: Loader, prev: number, options: StreamCallOptions, clock: Clock) {
    super(options.signal);
    this.#loader = loader;
    this.#prev = prev;
    this.#toHead = options.toHead === true;
    this.#lagMs = options.lag ?? 0;
    this.#clock = clock;
  }

  /**
   * Fast path: an event already in hand is returned without the abort plumbing of a full
   * `pull` (catch-up reads spend most of their time here). Everything else goes through the base.
   */
  override recv(): Promise<Event> {
    const e = this.tryRecv();
    return e === undefined ? super.recv() : Promise.resolve(e);
  }

  override tryRecv(): Event | undefined {
    const chunk = this.#chunk;
    if (chunk === undefined || this.#lagMs !== 0 || this.signal.aborted) return undefined;
    const e = chunk.events[this.#index];
    if (e !== undefined) this.#index++;
    return e;
  }

  protected async pull(signal: AbortSignal): Promise<Event> {
    for (;;) {
      const chunk = this.#chunk;
      if (chunk !== undefined) {
        const e = chunk.events[this.#index];
        if (e !== undefined) {
          if (this.#lagMs > 0) {
            const wait = e.timestamp.getTime() + this.#lagMs - this.#clock.now();
            if (wait > 0) await this.#clock.sleep(wait, signal);
          }
          this.#index++;
          return e;
        }
        this.#prev = chunk.end;
        this.#chunk = undefined;
      }
      const pos = await this.#loader.next(this.#prev, signal, this.#toHead);
      this.#chunk = pos.chunk;
      this.#index = pos.index;
    }
  }
}
