import { invalidArgument } from './errors.js';
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
  /** Releases the stream. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens a stream of the events strictly after the cursor `after` ('' = from the beginning).
 * Must support many independent concurrent streams. Aborting `options.signal` ends the stream.
 */
export type StreamFunc = (after: string, options?: StreamCallOptions) => Promise<StreamClient>;

const knownKeys = new Set(['lag', 'fromHead', 'toHead', 'signal']);

/**
 * Checks stream options and returns them frozen, without undefined members. Throws an
 * `ERR_REFLEX_INVALID_ARGUMENT` error naming the bad option.
 */
export function validateStreamOptions(options: StreamCallOptions | undefined): StreamCallOptions {
  if (options === undefined) return Object.freeze({});
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('stream options must be an object');
  }
  const out: { lag?: number; fromHead?: boolean; toHead?: boolean; signal?: AbortSignal } = {};
  for (const [key, value] of Object.entries(options)) {
    if (!knownKeys.has(key)) {
      throw invalidArgument(`unknown stream option ${JSON.stringify(key)}`);
    }
    if (value === undefined) continue;
    switch (key) {
      case 'lag':
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
          throw invalidArgument(
            `stream option lag must be a finite number of ms ≥ 0, got ${value}`,
          );
        }
        if (value > 0) out.lag = value;
        break;
      case 'fromHead':
      case 'toHead':
        if (typeof value !== 'boolean') {
          throw invalidArgument(`stream option ${key} must be a boolean, got ${typeof value}`);
        }
        if (value) out[key] = true;
        break;
      case 'signal':
        if (!(value instanceof AbortSignal)) throw invalidArgument('signal must be an AbortSignal');
        out.signal = value;
        break;
    }
  }
  return Object.freeze(out);
}

/**
 * For sources: validates the options of a stream call together with its cursor. `fromHead` with a
 * non-empty cursor is refused: the cursor would be silently ignored.
 */
export function validateStreamCall(after: string, options?: StreamCallOptions): StreamCallOptions {
  if (typeof after !== 'string') throw invalidArgument('cursor must be a string');
  const resolved = validateStreamOptions(options);
  if (resolved.fromHead === true && after !== '') {
    throw invalidArgument(
      `fromHead ignores the cursor ${JSON.stringify(after)}: pass '' with fromHead, or drop fromHead`,
    );
  }
  return resolved;
}
