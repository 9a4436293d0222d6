import {
  type Consumer,
  type CursorStore,
  newSpec,
  type Spec,
  type StreamFunc,
  type StreamOptions,
} from '../core/index.js';

/**
 * The spec of a consumer that skips history: with no stored cursor it starts at the head of the
 * stream (only events written after it starts); once it has a cursor it resumes from it, so a
 * restart loses nothing. Works with any stream that supports `fromHead`.
 *
 * (`run` applies `fromHead` only while the cursor is empty, so this is `newSpec` with `fromHead`;
 * the Go original needed a wrapper, and its deprecated `NewBootstrapConsumable` ignored options.)
 *
 * @example
 * // A new audit consumer does not replay years of events.
 * await runForever(newBootstrapSpec(stream, store, auditConsumer), { signal });
 */
export function newBootstrapSpec(
  stream: StreamFunc,
  cursorStore: CursorStore,
  consumer: Consumer,
  options?: StreamOptions,
): Spec {
  return newSpec(stream, cursorStore, consumer, { ...options, fromHead: true });
}
