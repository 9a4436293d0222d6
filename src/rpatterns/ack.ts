import {
  type Consumer,
  type ConsumerOptions,
  type CursorStore,
  type Event,
  newConsumer,
  newSpec,
  type Spec,
  type StreamFunc,
  type StreamOptions,
} from '../core/index.js';
import { abortable } from '../internal/abort.js';
import { checkCursorStore } from '../internal/cursor-store-check.js';
import { invalidArgument } from '../internal/errors.js';
import { settled } from '../internal/settled.js';

/** An event that the consumer acknowledges itself: `ack` moves the cursor to this event. */
export interface AckEvent extends Event {
  /**
   * Sets the consumer's cursor to this event's id, then flushes the store, so the position is
   * durable when it resolves. Acknowledging an event acknowledges every event before it.
   */
  ack(signal?: AbortSignal): Promise<void>;
}

/** The business logic of an ack consumer. */
export type AckConsumerFunc = (event: AckEvent, signal: AbortSignal) => Promise<void> | void;

/** A consumer that moves its cursor itself (see {@link newAckSpec}). */
export interface AckConsumer extends Consumer {
  /** The store the consumer acknowledges into. */
  readonly cursorStore: CursorStore;
}

/**
 * Builds a consumer whose cursor moves only when the function calls `event.ack()`: for work that
 * completes later than `consume` returns (batching, hand-over to another system). Events never
 * acknowledged are delivered again by the next run. Acknowledge in order: acking an event skips
 * every earlier one on restart. Run it with {@link newAckSpec}, which keeps `run` from setting
 * the cursor itself. Options are those of `newConsumer` (filters, metrics, recovery).
 *
 * @example
 * const pending: AckEvent[] = [];
 * const consumer = newAckConsumer('exporter', store, async (e) => {
 *   pending.push(e);
 *   if (pending.length === 100) {
 *     await exportAll(pending);
 *     await pending.at(-1)?.ack();
 *     pending.length = 0;
 *   }
 * });
 * await runForever(newAckSpec(stream, consumer), { signal });
 */
export function newAckConsumer(
  name: string,
  store: CursorStore,
  fn: AckConsumerFunc,
  options: ConsumerOptions = {},
): AckConsumer {
  checkCursorStore(store);
  if (typeof fn !== 'function') throw invalidArgument('ack consumer function must be a function');
  const inner = newConsumer(name, (e, signal) => fn(ackEvent(e, name, store), signal), options);
  return Object.freeze({
    name,
    cursorStore: store,
    consume: (e: Event, signal: AbortSignal) => inner.consume(e, signal),
    reset: (signal: AbortSignal) => inner.reset?.(signal) ?? Promise.resolve(),
    stop: () => inner.stop?.() ?? Promise.resolve(),
  });
}

/**
 * The spec of an {@link AckConsumer}: `run` reads the cursor and flushes the consumer's store, but
 * its own `setCursor` after each event does nothing (the consumer acknowledges instead).
 *
 * @example
 * await run(newAckSpec(stream, consumer), { signal });
 */
export function newAckSpec(
  stream: StreamFunc,
  consumer: AckConsumer,
  options?: StreamOptions,
): Spec {
  return newSpec(stream, consumerStore(consumer), consumer, options);
}

/** Builds the AckEvent of `event`. */
export function ackEvent(event: Event, name: string, store: CursorStore): AckEvent {
  return {
    ...event,
    ack: async (signal?: AbortSignal) => {
      signal?.throwIfAborted();
      await abortable(store.setCursor(name, event.id), signal);
      await abortable(store.flush(), signal);
    },
  };
}

/**
 * A view of `store` whose `setCursor` does nothing (the consumer moves the cursor itself); it
 * returns the shared settled promise, which `run` does not await.
 */
export function noSetCursorStore(store: CursorStore): CursorStore {
  checkCursorStore(store, 'consumer cursorStore');
  return Object.freeze({
    getCursor: (name: string) => store.getCursor(name),
    setCursor: () => settled,
    flush: () => store.flush(),
  });
}

/** The cursor store of the consumer given to an ack, batch or concurrent spec, checked. */
export function consumerStore(consumer: { readonly cursorStore: CursorStore }): CursorStore {
  if (typeof consumer !== 'object' || consumer === null) {
    throw invalidArgument('spec consumer must be an object with a cursorStore');
  }
  return noSetCursorStore(consumer.cursorStore);
}
