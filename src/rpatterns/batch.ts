import {
  type Clock,
  type Consumer,
  type ConsumerOptions,
  type CursorStore,
  codeOf,
  ErrorCode,
  type Event,
  type Logger,
  newConsumer,
  newSpec,
  noopLogger,
  ReflexError,
  type Spec,
  type StreamFunc,
  type StreamOptions,
  systemClock,
} from '../core/index.js';
import { abortable, linkedController } from '../internal/abort.js';
import { checkCursorStore } from '../internal/cursor-store-check.js';
import { invalidArgument } from '../internal/errors.js';
import { checkOptionKeys, intOption, msOption } from '../internal/options.js';
import { describeThrown } from '../internal/thrown.js';
import { type AckConsumer, consumerStore } from './ack.js';
import { RpatternsErrorCode } from './error-codes.js';
import { consumerOptionKeys, split } from './options.js';

/** Processes a batch of events, in stream order. It is acknowledged only if this resolves. */
export type BatchFunc = (batch: readonly Event[], signal: AbortSignal) => Promise<void> | void;

/** Options of {@link newBatchConsumer}: a period, a maximum length, or both; and `newConsumer`'s options. */
export interface BatchConsumerOptions extends ConsumerOptions {
  /**
   * Process a partial batch once its first event is this old, in ms (the timer is armed at the
   * first event's timestamp + period − now, at least 100 ms, so a lagging consumer still batches).
   * 0 = no period: a partial batch waits for more events.
   * @default 0
   */
  readonly periodMs?: number;
  /** Process the batch as soon as it has this many events. 0 = no maximum. @default 0 */
  readonly maxLength?: number;
  /** Where a failed background (period) batch is reported. @default no logging */
  readonly logger?: Logger;
}

/** A consumer that processes events in batches; its `reset` starts it and its `stop` ends it. */
export interface BatchConsumer extends AckConsumer {
  reset(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

const ownKeys = ['periodMs', 'maxLength', 'logger'] as const;
const minTimerMs = 100;

/**
 * Builds a consumer that gathers events into batches and hands each batch to `fn`, then
 * acknowledges the batch's last event (setCursor + flush on `store`). A batch is processed when it
 * reaches `maxLength` (inside `consume`: an error fails the run at once) or when its period ends
 * (in the background: an error is logged and the next `consume` throws `ERR_REFLEX_BATCH_STATE`,
 * so `run` ends and the events are delivered again from the last acknowledged one).
 *
 * Each `reset` (every run) discards a stale partial batch — its events come again, since they were
 * never acknowledged — so no event is lost or processed twice by a successful batch. `stop` cancels
 * the timer and waits for a background batch; it is idempotent and safe before any `reset`.
 * Use it with {@link newBatchSpec}: with a plain `newSpec`, `run` would move the cursor past
 * events still waiting in a partial batch. Neither `periodMs` nor `maxLength` →
 * `ERR_REFLEX_INVALID_BATCH_CONFIG` at construction.
 *
 * @example
 * const consumer = newBatchConsumer('indexer', store, async (batch) => index(batch), {
 *   maxLength: 500,
 *   periodMs: 1_000,
 * });
 * await runForever(newBatchSpec(stream, consumer), { signal });
 */
export function newBatchConsumer(
  name: string,
  store: CursorStore,
  fn: BatchFunc,
  options: BatchConsumerOptions = {},
): BatchConsumer {
  checkOptionKeys(options, [...ownKeys, ...consumerOptionKeys], 'batch consumer');
  checkCursorStore(store);
  if (typeof fn !== 'function') throw invalidArgument('batch function must be a function');
  const periodMs = msOption(options.periodMs, 'batch consumer periodMs', 0);
  const maxLength = intOption(options.maxLength, 'batch consumer maxLength', 0);
  if (periodMs === 0 && maxLength === 0) {
    throw new ReflexError(
      RpatternsErrorCode.invalidBatchConfig,
      `batch consumer ${name} needs a periodMs, a maxLength, or both`,
    );
  }
  const consumerOptions = split(options, ownKeys);
  return new Batcher(name, store, fn, {
    periodMs,
    maxLength,
    logger: options.logger ?? noopLogger,
    clock: options.clock ?? systemClock,
    consumerOptions,
  });
}

/**
 * The spec of a {@link BatchConsumer}: batches are acknowledged by the consumer, so `run`'s own
 * `setCursor` does nothing; `run` resets the consumer and `spec.stop()` (runForever) stops it.
 */
export function newBatchSpec(
  stream: StreamFunc,
  consumer: BatchConsumer,
  options?: StreamOptions,
): Spec {
  return newSpec(stream, consumerStore(consumer), consumer, options);
}

interface Config {
  periodMs: number;
  maxLength: number;
  logger: Logger;
  clock: Clock;
  consumerOptions: ConsumerOptions;
}

type State =
  | { kind: 'idle' }
  | { kind: 'running'; life: ReturnType<typeof linkedController> }
  | { kind: 'failed'; life: ReturnType<typeof linkedController>; err: unknown };

class Batcher implements BatchConsumer {
  readonly name: string;
  readonly cursorStore: CursorStore;
  readonly #fn: BatchFunc;
  readonly #config: Config;
  readonly #inner: Consumer;
  #state: State = { kind: 'idle' };
  #batch: Event[] = [];
  #timer: AbortController | undefined;
  #background: Promise<void> | undefined;

  constructor(name: string, store: CursorStore, fn: BatchFunc, c: Config) {
    this.name = name;
    this.cursorStore = store;
    this.#fn = fn;
    this.#config = c;
    this.#inner = newConsumer(name, (e, signal) => this.#add(e, signal), c.consumerOptions);
  }

  consume(event: Event, signal: AbortSignal): Promise<void> {
    return this.#inner.consume(event, signal);
  }

  async reset(signal: AbortSignal): Promise<void> {
    await this.stop();
    await this.#inner.reset?.(signal);
    // A partial batch left by the previous run was never acknowledged: the stream delivers it again.
    this.#batch = [];
    this.#state = { kind: 'running', life: linkedController(signal) };
  }

  async stop(): Promise<void> {
    this.#cancelTimer();
    const state = this.#state;
    if (state.kind !== 'idle') {
      state.life.controller.abort(new ReflexError(ErrorCode.canceled, 'batch consumer stopped'));
      state.life.dispose();
    }
    this.#state = { kind: 'idle' };
    await this.#background;
    await this.#inner.stop?.();
  }

  async #add(event: Event, signal: AbortSignal): Promise<void> {
    if (this.#background !== undefined) await abortable(this.#background, signal);
    const state = this.#state;
    if (state.kind === 'idle') {
      throw new ReflexError(
        RpatternsErrorCode.batchState,
        `batch consumer ${this.name} is not running: reset it first (run does)`,
      );
    }
    if (state.kind === 'failed') {
      throw new ReflexError(
        RpatternsErrorCode.batchState,
        `batch consumer ${this.name} failed in the background: ${describeThrown(state.err)}`,
        { cause: state.err },
      );
    }
    this.#batch.push(event);
    if (this.#batch.length === 1 && this.#config.periodMs > 0)
      this.#arm(event, state.life.controller.signal);
    if (this.#config.maxLength > 0 && this.#batch.length >= this.#config.maxLength) {
      this.#cancelTimer();
      const batch = this.#batch;
      this.#batch = [];
      await this.#process(batch, signal);
    }
  }

  async #process(batch: Event[], signal: AbortSignal): Promise<void> {
    const last = batch.at(-1);
    if (last === undefined) return;
    await this.#fn(batch, signal);
    // Not abortable: once the batch is done, recording it avoids a duplicate on the next run.
    await this.cursorStore.setCursor(this.name, last.id);
    await this.cursorStore.flush();
  }

  #arm(first: Event, lifeSignal: AbortSignal): void {
    const c = this.#config;
    const delay = Math.max(minTimerMs, first.timestamp.getTime() + c.periodMs - c.clock.now());
    const timer = linkedController(lifeSignal);
    this.#timer = timer.controller;
    void c.clock.sleep(delay, timer.controller.signal).then(
      () => {
        timer.dispose();
        if (this.#timer !== timer.controller) return;
        this.#timer = undefined;
        const p = this.#flushInBackground(lifeSignal);
        this.#background = p;
        // Handles both outcomes: this chain can never reject unhandled.
        const clear = (): void => {
          if (this.#background === p) this.#background = undefined;
        };
        p.then(clear, clear);
      },
      () => timer.dispose(),
    );
  }

  async #flushInBackground(lifeSignal: AbortSignal): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    try {
      await this.#process(batch, lifeSignal);
    } catch (err) {
      const state = this.#state;
      if (state.kind === 'running') this.#state = { kind: 'failed', life: state.life, err };
      if (!lifeSignal.aborted) {
        // A throwing logger must not turn the recorded failure into a rejection of the flush
        // (awaited by the next consume and by stop): the failure is reported there anyway.
        try {
          this.#config.logger.error('reflex batch consumer: background batch failed', {
            consumer: this.name,
            firstEventId: batch[0]?.id,
            lastEventId: batch.at(-1)?.id,
            code: codeOf(err),
            error: err,
          });
        } catch {
          // ignored: see above
        }
      }
    }
  }

  #cancelTimer(): void {
    this.#timer?.abort();
    this.#timer = undefined;
  }
}
