import { checkCursorStore } from '../internal/cursor-store-check.js';
import { validateStreamOptions } from '../internal/stream-options.js';
import type { Consumer } from './consumer.js';
import type { CursorStore } from './cursor-store.js';
import { invalidArgument } from './errors.js';
import type { StreamFunc, StreamOptions } from './stream.js';

/** What `run` needs: a stream, where the cursor is kept, the consumer, and how to read the stream. */
export interface Spec {
  /** The consumer's name. */
  readonly name: string;
  readonly stream: StreamFunc;
  readonly cursorStore: CursorStore;
  readonly consumer: Consumer;
  /** Validated and frozen. */
  readonly options: StreamOptions;
  /** Calls the consumer's `stop`, if it has one. */
  stop(): Promise<void>;
}

/**
 * Binds a stream, a cursor store and a consumer. Options are validated here, once: an unknown
 * key, a negative or non-finite lag or a non-boolean flag throws `ERR_REFLEX_INVALID_ARGUMENT`.
 *
 * `fromHead` starts a consumer that has no cursor yet at the head; once it has a cursor, `run`
 * resumes from it (the Go original would skip to the head again on every run and lose events).
 *
 * @example
 * const spec = newSpec(events.toStream(db), cursors.toStore(db), consumer, { lag: 60_000 });
 */
export function newSpec(
  stream: StreamFunc,
  cursorStore: CursorStore,
  consumer: Consumer,
  options?: StreamOptions,
): Spec {
  if (typeof stream !== 'function') throw invalidArgument('spec stream must be a StreamFunc');
  checkCursorStore(cursorStore, 'spec cursor store');
  if (
    typeof consumer !== 'object' ||
    consumer === null ||
    typeof consumer.consume !== 'function' ||
    typeof consumer.name !== 'string' ||
    consumer.name === ''
  ) {
    throw invalidArgument('spec consumer must have a non-empty name and a consume function');
  }
  if (options !== undefined && 'signal' in options) {
    throw invalidArgument('spec options take no signal: pass it to run');
  }
  const resolved = validateStreamOptions(options);
  return Object.freeze({
    name: consumer.name,
    stream,
    cursorStore,
    consumer,
    options: resolved,
    stop: async () => {
      await consumer.stop?.();
    },
  });
}
