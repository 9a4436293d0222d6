import {
  type Consumer,
  type CursorStore,
  codeOf,
  type Event,
  type Logger,
  newSpec,
  noopLogger,
  ReflexError,
  type Spec,
  type StreamFunc,
  type StreamOptions,
} from '../core/index.js';
import { parseInt64 } from '../core/internal.js';
import { Waker } from '../internal/abort.js';
import { checkCursorStore } from '../internal/cursor-store-check.js';
import { invalidArgument, wrapError } from '../internal/errors.js';
import { checkOptionKeys } from '../internal/options.js';
import { type AckConsumer, consumerStore } from './ack.js';
import { RpatternsErrorCode } from './error-codes.js';
import { type GapSequence, newGapSequence } from './gap-sequence.js';

/** Options of {@link newConcurrentConsumer}. */
export interface ConcurrentConsumerOptions {
  /** Where failed cursor writes are reported. @default no logging */
  readonly logger?: Logger;
}

/** A consumer that handles up to `maxInFlight` events at once; `reset` starts it, `stop` drains it. */
export interface ConcurrentConsumer extends AckConsumer {
  reset(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Wraps `consumer` so up to `maxInFlight` events are handled at the same time (`consume` returns
 * as soon as the event is started, and waits while the window is full). The cursor moves only
 * past a contiguous run of successes (a {@link GapSequence} over the integer event ids; sparse ids
 * are fine), so a crash redelivers every event not known to be done. Order is not kept, not even
 * per foreign id: the inner consumer must tolerate that.
 *
 * The first failure is thrown by the next `consume` (so `run` ends), wrapped with the code
 * `ERR_REFLEX_CONCURRENT_CONSUME` (or the failure's own code) and the original error as cause,
 * naming the failed event; the cursor stays before that event, and `reset` (the next run)
 * clears the failure. `stop` waits for every event in flight (they get the run's signal). Event ids must be integers. Use {@link newConcurrentSpec}:
 * with a plain `newSpec`, `run` would move the cursor past events still in flight. `consume`
 * before `reset` throws `ERR_REFLEX_BATCH_STATE`.
 *
 * @example
 * const consumer = newConcurrentConsumer(store, newConsumer('thumbnailer', makeThumbnail), 16);
 * await runForever(newConcurrentSpec(stream, consumer), { signal });
 */
export function newConcurrentConsumer(
  store: CursorStore,
  consumer: Consumer,
  maxInFlight: number,
  options: ConcurrentConsumerOptions = {},
): ConcurrentConsumer {
  checkOptionKeys(options, ['logger'], 'concurrent consumer');
  checkCursorStore(store);
  if (typeof consumer !== 'object' || consumer === null || typeof consumer.consume !== 'function') {
    throw invalidArgument('concurrent consumer needs a consumer');
  }
  if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) {
    throw invalidArgument(
      `concurrent consumer maxInFlight must be an integer ≥ 1, got ${maxInFlight}`,
    );
  }
  return new Concurrent(store, consumer, maxInFlight, options.logger ?? noopLogger);
}

/**
 * The spec of a {@link ConcurrentConsumer}: the consumer moves the cursor itself, so `run`'s own
 * `setCursor` does nothing; `run` resets it and `spec.stop()` (runForever) drains it.
 */
export function newConcurrentSpec(
  stream: StreamFunc,
  consumer: ConcurrentConsumer,
  options?: StreamOptions,
): Spec {
  return newSpec(stream, consumerStore(consumer), consumer, options);
}

interface Round {
  seq: GapSequence;
  inFlight: Set<Promise<void>>;
  failure: { err: unknown } | undefined;
  written: bigint;
  writes: Promise<void>;
}

class Concurrent implements ConcurrentConsumer {
  readonly name: string;
  readonly cursorStore: CursorStore;
  readonly #inner: Consumer;
  readonly #max: number;
  readonly #logger: Logger;
  readonly #slots = new Waker();
  #round: Round | undefined;

  constructor(store: CursorStore, inner: Consumer, max: number, logger: Logger) {
    this.name = inner.name;
    this.cursorStore = store;
    this.#inner = inner;
    this.#max = max;
    this.#logger = logger;
  }

  async reset(signal: AbortSignal): Promise<void> {
    await this.stop();
    await this.cursorStore.flush();
    await this.#inner.reset?.(signal);
    this.#round = {
      seq: newGapSequence(),
      inFlight: new Set(),
      failure: undefined,
      written: 0n,
      writes: Promise.resolve(),
    };
  }

  async stop(): Promise<void> {
    const round = this.#round;
    this.#round = undefined;
    if (round !== undefined) {
      await Promise.all(round.inFlight);
      await round.writes;
      await this.cursorStore.flush().catch((err: unknown) => {
        try {
          this.#logger.warn('reflex concurrent consumer: flush failed', {
            consumer: this.name,
            code: codeOf(err),
            error: err,
          });
        } catch {}
      });
    }
    await this.#inner.stop?.();
  }

  async consume(event: Event, signal: AbortSignal): Promise<void> {
    const round = this.#round;
    if (round === undefined) {
      throw new ReflexError(
        RpatternsErrorCode.batchState,
        `concurrent consumer ${this.name} is not running: reset it first (run does)`,
      );
    }
    const id = parseInt64(event.id);
    if (id === undefined) {
      throw invalidArgument(
        `concurrent consumer ${this.name} needs integer event ids, got ${event.id}`,
      );
    }
    for (;;) {
      if (round.failure !== undefined) throw round.failure.err;
      if (round.inFlight.size < this.#max) break;
      await this.#slots.wait(signal);
    }
    round.seq.doing(id);
    const task = this.#inner.consume(event, signal).then(
      () => {
        round.seq.done(id);
        this.#advance(round);
      },
      (err: unknown) => {
        round.failure ??= {
          err: wrapError(
            err,
            `concurrent consumer ${this.name} failed on event ${event.id}`,
            RpatternsErrorCode.concurrentConsume,
          ),
        };
      },
    );
    round.inFlight.add(task);
    void task.finally(() => {
      round.inFlight.delete(task);
      this.#slots.wake();
    });
  }

  #advance(round: Round): void {
    const max = round.seq.currentMax();
    if (max <= round.written) return;
    round.written = max;
    round.writes = round.writes.then(() =>
      this.cursorStore.setCursor(this.name, max.toString()).catch((err: unknown) => {
        // A logger that throws must not reject the chain: nobody may await its last link.
        try {
          this.#logger.error('reflex concurrent consumer: set cursor failed', {
            consumer: this.name,
            cursor: max.toString(),
            code: codeOf(err),
            error: err,
          });
        } catch {}
      }),
    );
  }
}
