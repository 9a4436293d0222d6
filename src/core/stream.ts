import type { Event } from './event.js';

/**
 * How a stream is read. Validated once by {@link validateStreamOptions}: an unknown key, a
 * negative or non-finite lag, or a non-boolean flag is an `ERR_REFLEX_INVALID_ARGUMENT` error.
 */
export interface StreamOptions {
  /**
   * Deliver an event only once it is at least this old, in ms. `run` applies it itself and
   * never sends it to the source; a source called directly may honour it.
   * @default 0
   */
  readonly lag?: number;
  /** Ignore the cursor and deliver only events written after the stream opened. @default false */
  readonly fromHead?: boolean;
  /** End with an `ERR_REFLEX_HEAD_REACHED` error once every existing event is delivered. @default false */
  readonly toHead?: boolean;
}

/** The options a {@link StreamFunc} receives: the stream options and the signal that ends the stream. */
export type StreamCallOptions = StreamOptions & { readonly signal?: AbortSignal };

/**
 * An open stream. Single reader: call `recv()` again only after the previous call settled.
 * `close()` is idempotent, ends a pending `recv()` and releases the source. `for await` reads it
 * until the head (with `toHead`) or the first error; `break` closes it.
 */
export interface StreamClient extends AsyncIterable<Event> {
  /** The next event, waiting for one as long as needed (until the stream's signal aborts). */
  recv(): Promise<Event>;
  /**
   * Optional: the next event when the client already holds it, else undefined (then call
   * `recv`). Never waits and never throws; an undefined answer says nothing about the stream's
   * end. Lets a hot loop such as `run` skip a promise per buffered event on a catch-up; the same
   * single-reader rule as `recv` applies.
   */
  tryRecv?(): Event | undefined;
  /** Releases the stream. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens a stream of the events strictly after the cursor `after` ('' = from the beginning).
 * Must support many independent concurrent streams. Aborting `options.signal` ends the stream.
 */
export type StreamFunc = (after: string, options?: StreamCallOptions) => Promise<StreamClient>;
