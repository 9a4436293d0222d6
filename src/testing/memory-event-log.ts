import {
  type Clock,
  ErrorCode,
  type Event,
  ReflexError,
  type StreamCallOptions,
  type StreamFunc,
  systemClock,
} from '../core/index.js';
import { parseIntCursor } from '../core/internal.js';
import { Waker } from '../internal/abort.js';
import { invalidArgument } from '../internal/errors.js';
import { BaseStreamClient } from '../internal/stream-client.js';
import { validateStreamCall } from '../internal/stream-options.js';

/** Options of {@link MemoryEventLog.insert}. */
export interface MemoryInsertOptions {
  readonly metadata?: Uint8Array;
  readonly trace?: Uint8Array;
  /** @default the clock's now */
  readonly timestamp?: Date;
}

/** Options of {@link newMemoryEventLog}. */
export interface MemoryEventLogOptions {
  /** @default the system clock */
  readonly clock?: Clock;
}

/**
 * An in-memory, append-only event log with a StreamFunc: for tests and demos. Ids are "1", "2", …;
 * the cursor is an event id (not a list index). Streams wait for new events without polling;
 * `fromHead` is resolved when the stream opens; `toHead` ends with `ERR_REFLEX_HEAD_REACHED`;
 * `lag` (when the source is called directly) holds events back until they are old enough.
 * `stop()` ends every open and later stream with `ERR_REFLEX_STOPPED`.
 */
export interface MemoryEventLog {
  /** Appends an event and wakes the waiting streams. */
  insert(foreignId: string, type: number, options?: MemoryInsertOptions): Event;
  readonly stream: StreamFunc;
  /** Every event so far, in order. */
  readonly events: readonly Event[];
  /** The id of the newest event, or '' when empty. */
  head(): string;
  stop(): void;
}

/** Creates a {@link MemoryEventLog}. */
export function newMemoryEventLog(options: MemoryEventLogOptions = {}): MemoryEventLog {
  return new Log(options.clock ?? systemClock);
}

class Log implements MemoryEventLog {
  readonly events: Event[] = [];
  readonly #waker = new Waker();
  readonly #clock: Clock;
  #stopped = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  insert(foreignId: string, type: number, options: MemoryInsertOptions = {}): Event {
    if (typeof foreignId !== 'string') throw invalidArgument('foreign id must be a string');
    if (!Number.isInteger(type)) throw invalidArgument('event type must be an integer');
    const event: Event = {
      id: String(this.events.length + 1),
      type,
      foreignId,
      timestamp: options.timestamp ?? new Date(this.#clock.now()),
      ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
      ...(options.trace === undefined ? {} : { trace: options.trace }),
    };
    this.events.push(event);
    this.#waker.wake();
    return event;
  }

  head(): string {
    return this.events.length === 0 ? '' : String(this.events.length);
  }

  stop(): void {
    this.#stopped = true;
    this.#waker.wake();
  }

  readonly stream: StreamFunc = (after: string, options?: StreamCallOptions) => {
    try {
      const o = validateStreamCall(after, options);
      const start = o.fromHead === true ? this.events.length : Number(parseIntCursor(after));
      return Promise.resolve(new LogClient(this, start, o));
    } catch (err) {
      return Promise.reject(err);
    }
  };

  get stopped(): boolean {
    return this.#stopped;
  }

  waitForChange(signal: AbortSignal, ms?: number): Promise<void> {
    return this.#waker.wait(signal, ms);
  }

  now(): number {
    return this.#clock.now();
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return this.#clock.sleep(ms, signal);
  }
}

class LogClient extends BaseStreamClient {
  readonly #log: Log;
  #next: number;
  readonly #options: StreamCallOptions;

  constructor(log: Log, next: number, options: StreamCallOptions) {
    super(options.signal);
    this.#log = log;
    this.#next = next;
    this.#options = options;
  }

  override tryRecv(): Event | undefined {
    if ((this.#options.lag ?? 0) > 0 || this.signal.aborted || this.#log.stopped) return undefined;
    const event = this.#log.events[this.#next];
    if (event !== undefined) this.#next++;
    return event;
  }

  protected async pull(signal: AbortSignal): Promise<Event> {
    for (;;) {
      if (this.#log.stopped)
        throw new ReflexError(ErrorCode.stopped, 'event stream has been stopped');
      const event = this.#log.events[this.#next];
      if (event !== undefined) {
        const lag = this.#options.lag ?? 0;
        const wait = lag - (this.#log.now() - event.timestamp.getTime());
        if (wait > 0) await this.#log.sleep(wait, signal);
        this.#next++;
        return event;
      }
      if (this.#options.toHead === true) {
        throw new ReflexError(ErrorCode.headReached, 'head of the event log reached');
      }
      await this.#log.waitForChange(signal);
    }
  }
}
