import { ErrorCode, type Event, isHeadReachedErr, type StreamClient } from '../core/index.js';
import { abortable, linkedController } from './abort.js';
import { ReflexError } from './errors.js';

/**
 * The shared shape of every stream client: single-reader `recv`, an idempotent `close` that ends
 * a pending `recv`, sticky errors, async iteration (`break` closes; the head ends the loop), and
 * `Symbol.asyncDispose`. Sources implement `pull` (and optionally `release`).
 */
export abstract class BaseStreamClient implements StreamClient {
  readonly #link: ReturnType<typeof linkedController>;
  #error: unknown;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** Aborts when the stream is closed or the caller's signal aborts. */
  protected readonly signal: AbortSignal;

  protected constructor(signal?: AbortSignal) {
    this.#link = linkedController(signal);
    // A field, not a getter: `tryRecv` reads it once per event.
    this.signal = this.#link.controller.signal;
  }

  /** Produces the next event; must honour `signal`. */
  protected abstract pull(signal: AbortSignal): Promise<Event>;

  /** Releases what the source holds; called once, by the first `close()`. */
  protected release(): Promise<void> {
    return Promise.resolve();
  }

  /** See {@link StreamClient.tryRecv}; a source with a buffer overrides it. */
  tryRecv(): Event | undefined {
    return undefined;
  }

  async recv(): Promise<Event> {
    if (this.#error !== undefined) throw this.#error;
    if (this.#closed) throw new ReflexError(ErrorCode.closed, 'stream is closed');
    const signal = this.signal;
    try {
      return await abortable(this.pull(signal), signal);
    } catch (err) {
      // A closed stream reports itself closed, not the abort used to end the pull.
      this.#error = this.#closed ? new ReflexError(ErrorCode.closed, 'stream is closed') : err;
      throw this.#error;
    }
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      this.#link.controller.abort(new ReflexError(ErrorCode.closed, 'stream is closed'));
      this.#link.dispose();
      this.#closing = this.release();
    }
    return this.#closing;
  }

  [Symbol.asyncIterator](): AsyncIterator<Event> {
    return {
      next: async (): Promise<IteratorResult<Event>> => {
        try {
          return { done: false, value: await this.recv() };
        } catch (err) {
          await this.close();
          if (isHeadReachedErr(err)) return { done: true, value: undefined };
          throw err;
        }
      },
      return: async (): Promise<IteratorResult<Event>> => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
