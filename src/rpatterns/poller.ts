import {
  type Clock,
  ErrorCode,
  type Event,
  ReflexError,
  type StreamCallOptions,
  type StreamFunc,
  systemClock,
} from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { checkOptionKeys, msOption } from '../internal/options.js';
import { BaseStreamClient } from '../internal/stream-client.js';
import { validateStreamCall } from '../internal/stream-options.js';

/**
 * A pull API: the page of events strictly after `after`, in order ('' = from the beginning),
 * empty when there is none yet. It receives the stream's options (the poller itself only
 * interprets `toHead`) and the stream's signal.
 */
export type PollFunc = (after: string, options: StreamCallOptions) => Promise<readonly Event[]>;

/** Options of {@link newPoller}. */
export interface PollerOptions {
  /** The wait after an empty page, in ms. @default 60_000 (1 min) */
  readonly backoffMs?: number;
  /** Time source of the wait, for tests. @default the system clock */
  readonly clock?: Clock;
}

/**
 * Turns a pull API into a StreamFunc: each non-empty page is delivered in order, and the next
 * poll asks for the events after the last one delivered; an empty page waits `backoffMs` (ended
 * at once by the stream's signal or `close()`). With `toHead`, an empty page ends the stream with
 * `ERR_REFLEX_HEAD_REACHED`. A poll error ends the stream with that error.
 *
 * @example
 * const stream = newPoller(async (after) => api.listChanges({ after, limit: 100 }), { backoffMs: 5_000 });
 * await runForever(newSpec(stream, store, consumer), { signal });
 */
export function newPoller(pollFn: PollFunc, options: PollerOptions = {}): StreamFunc {
  checkOptionKeys(options, ['backoffMs', 'clock'], 'poller');
  if (typeof pollFn !== 'function') throw invalidArgument('poll function must be a function');
  const backoffMs = msOption(options.backoffMs, 'poller backoffMs', 60_000);
  const clock = options.clock ?? systemClock;
  return (after, callOptions) => {
    try {
      const o = validateStreamCall(after, callOptions);
      return Promise.resolve(new PollerClient(pollFn, after, o, backoffMs, clock));
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

class PollerClient extends BaseStreamClient {
  readonly #poll: PollFunc;
  readonly #options: StreamCallOptions;
  readonly #backoffMs: number;
  readonly #clock: Clock;
  #cursor: string;
  #buffer: Event[] = [];

  constructor(
    poll: PollFunc,
    after: string,
    options: StreamCallOptions,
    backoffMs: number,
    clock: Clock,
  ) {
    super(options.signal);
    this.#poll = poll;
    this.#cursor = after;
    this.#options = options;
    this.#backoffMs = backoffMs;
    this.#clock = clock;
  }

  protected async pull(signal: AbortSignal): Promise<Event> {
    for (;;) {
      const next = this.#buffer.shift();
      if (next !== undefined) {
        this.#cursor = next.id;
        return next;
      }
      signal.throwIfAborted();
      const { signal: _, ...streamOptions } = this.#options;
      const page: unknown = await this.#poll(this.#cursor, { ...streamOptions, signal });
      if (!Array.isArray(page)) {
        throw invalidArgument(
          `poll function must resolve to an array of events, got ${typeof page}`,
        );
      }
      if (page.length > 0) {
        page.forEach(checkItem);
        this.#buffer = [...page];
        continue;
      }
      if (this.#options.toHead === true) {
        throw new ReflexError(ErrorCode.headReached, 'poller reached the head');
      }
      await this.#clock.sleep(this.#backoffMs, signal);
    }
  }
}

/**
 * Refuses a page item that is not an event: the poller reads its `id` as the next cursor (a hole
 * such as `[undefined]` would otherwise be polled again at once, for ever; an empty id would
 * restart from the beginning).
 */
function checkItem(item: unknown, index: number): void {
  if (typeof item !== 'object' || item === null) {
    throw invalidArgument(
      `poll function must resolve to an array of events: item ${index} is ${item === null ? 'null' : typeof item}`,
    );
  }
  const id = (item as { id?: unknown }).id;
  if (typeof id !== 'string' || id === '') {
    throw invalidArgument(
      `poll function must resolve to an array of events: item ${index} has no id (a non-empty string)`,
    );
  }
}
