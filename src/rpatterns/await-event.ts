import {
  type Clock,
  ErrorCode,
  type EventType,
  isAnyType,
  ReflexError,
  type StreamFunc,
  systemClock,
} from '../core/index.js';
import { linkedController } from '../internal/abort.js';
import { invalidArgument } from '../internal/errors.js';
import { checkOptionKeys, msOption } from '../internal/options.js';

/** Options of {@link awaitEvent}. */
export interface AwaitEventOptions {
  /** The event must have one of these types. @default any type */
  readonly types?: readonly EventType[];
  /**
   * Checks the state directly (e.g. "is the order paid?"): called once the stream is open and
   * then every `pollIntervalMs`; `true` ends the wait. A rejection ends it with that error.
   * @default none: only the stream is watched
   */
  readonly poll?: (signal: AbortSignal) => Promise<boolean> | boolean;
  /** @default 1_000 */
  readonly pollIntervalMs?: number;
  readonly signal?: AbortSignal;
  /** Time source of the poll interval, for tests. @default the system clock */
  readonly clock?: Clock;
}

/**
 * Resolves when an event for `foreignId` (of one of `types`, if given) appears on `stream` after
 * the call, or when `poll` reports the state reached, whichever comes first. Opening the stream
 * from the head before the first poll closes the "checked the state, then missed the event" race.
 * Rejects with the stream's error (it ended), the poll's error, or the signal's reason; either way
 * the stream is closed and no timer is left.
 *
 * @example
 * await orders.markPaid(tx, orderId);
 * await awaitEvent(stream, orderId, {
 *   types: [OrderEvent.shipped],
 *   poll: async () => (await orders.get(orderId)).shipped,
 *   signal: AbortSignal.timeout(30_000),
 * });
 */
export async function awaitEvent(
  stream: StreamFunc,
  foreignId: string,
  options: AwaitEventOptions = {},
): Promise<void> {
  checkOptionKeys(options, ['types', 'poll', 'pollIntervalMs', 'signal', 'clock'], 'awaitEvent');
  if (typeof stream !== 'function') throw invalidArgument('awaitEvent stream must be a StreamFunc');
  if (typeof foreignId !== 'string')
    throw invalidArgument('awaitEvent foreign id must be a string');
  const intervalMs = msOption(options.pollIntervalMs, 'awaitEvent pollIntervalMs', 1_000, 1);
  const types = options.types ?? [];
  const clock = options.clock ?? systemClock;
  const { poll } = options;
  const link = linkedController(options.signal);
  const signal = link.controller.signal;
  try {
    signal.throwIfAborted();
    const client = await stream('', { fromHead: true, signal });
    try {
      const watchStream = async (): Promise<void> => {
        for (;;) {
          const e = await client.recv();
          if (e.foreignId === foreignId && (types.length === 0 || isAnyType(e.type, ...types)))
            return;
        }
      };
      const watchPoll = async (): Promise<void> => {
        if (poll === undefined) return new Promise<void>(() => {});
        for (;;) {
          if (await poll(signal)) return;
          await clock.sleep(intervalMs, signal);
        }
      };
      await Promise.race([watchStream(), watchPoll()]);
    } finally {
      await client.close();
    }
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw err;
  } finally {
    link.controller.abort(new ReflexError(ErrorCode.canceled, 'awaitEvent ended'));
    link.dispose();
  }
}
