import {
  type Clock,
  type CursorStore,
  codeOf,
  isExpected,
  isTransientErr,
  type Logger,
  noopLogger,
  run,
  type Spec,
  systemClock,
} from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { checkOptionKeys, msOption } from '../internal/options.js';

/** Options of {@link runForever}. */
export interface RunForeverOptions {
  /** Aborting it ends the loop: the current run ends, `spec.stop()` is called, and the promise resolves. */
  readonly signal?: AbortSignal;
  /**
   * Where retries are reported (expected errors at `debug`, transient ones at `warn`, others at
   * `error`, each with its `code`). @default no logging
   */
  readonly logger?: Logger;
  /** The pause after an expected error (abort of a run, stopped stream), in ms. @default 100 */
  readonly expectedErrorBackoffMs?: number;
  /**
   * The first pause after a transient error ({@link isTransientErr}: a lost or refused
   * connection, a database restarting, an unreachable server), in ms before jitter. It doubles
   * with each transient failure in a row up to `transientBackoffMaxMs`, and starts again from
   * here once a run delivered an event or lasted `transientBackoffMaxMs`. @default 100
   */
  readonly transientBackoffMs?: number;
  /**
   * The cap of the transient back-off, in ms before jitter, ≥ `transientBackoffMs`. The default
   * keeps a dependency that stays down at ≤ 1 run (one connection attempt) per second even at
   * the low end of the jitter, and resumes ≤ 1.5 s after it is back. @default 1_250
   */
  readonly transientBackoffMaxMs?: number;
  /**
   * The pause after any other error (one a retry cannot fix soon: a consumer's own failure, a
   * broken table), in ms, before jitter. @default 60_000 (1 min)
   */
  readonly errorBackoffMs?: number;
  /**
   * Spread of the error and transient pauses, as a fraction: a pause `p` is drawn uniformly from
   * `p × [1 − jitter, 1 + jitter]`, so restarted replicas do not retry in step.
   * @default 0.2
   */
  readonly jitter?: number;
  /** Time source for the pauses (and the runs' lag waits), for tests. @default the system clock */
  readonly clock?: Clock;
  /** Source of the jitter, a function returning [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** The option keys of {@link runForever} (patterns that pass options through accept them too). */
export const runForeverKeys = [
  'signal',
  'logger',
  'expectedErrorBackoffMs',
  'transientBackoffMs',
  'transientBackoffMaxMs',
  'errorBackoffMs',
  'jitter',
  'clock',
  'random',
] as const;

/**
 * Runs `spec` again and again until `signal` aborts: the fail-fast `run` made resilient. After each
 * run it calls `spec.stop()` (releasing what the consumer holds, e.g. a batch timer or in-flight
 * work), then pauses: briefly after an expected error (`isExpected`: a stopped stream, a
 * cancellation); after a transient one (`isTransientErr`: a lost connection, a database or server
 * restarting) from 100 ms doubling to a cap of 1.25 s, with jitter, logged at `warn`, so events
 * flow again about a second after the dependency is back and a dependency that stays down costs
 * at most one attempt a second; after any other error the long pause (1 min with jitter), logged
 * at `error`.
 *
 * It **resolves** (never rejects) once `signal` aborts, after the current run has ended and
 * `spec.stop()` has returned, so nothing of it is left running. Without a signal it never settles.
 * Unlike the Go original it stops the consumer before the pause rather than after it.
 *
 * @example
 * const ac = new AbortController();
 * const done = runForever(newSpec(stream, store, consumer), { signal: ac.signal, logger: console });
 * // on shutdown:
 * ac.abort();
 * await done;
 */
export async function runForever(spec: Spec, options: RunForeverOptions = {}): Promise<void> {
  checkOptionKeys(options, runForeverKeys, 'runForever');
  const { signal } = options;
  const logger = options.logger ?? noopLogger;
  const clock = options.clock ?? systemClock;
  const backoff = new Backoff(options);
  const watched = watchProgress(spec, signal);
  const fields = { consumer: spec.name };
  for (;;) {
    if (signal?.aborted) return;
    let failure: unknown;
    watched.progressed = false;
    const startedAt = clock.now();
    try {
      await run(watched.spec, { ...(signal === undefined ? {} : { signal }), clock, logger });
    } catch (err) {
      failure = err;
    }
    backoff.ran(watched.progressed, clock.now() - startedAt);
    try {
      await spec.stop();
    } catch (err) {
      logger.warn('reflex consumer stop failed', { ...fields, code: codeOf(err), error: err });
    }
    if (signal?.aborted) return;
    const { waitMs, level, message } = backoff.after(failure);
    logger[level](message, { ...fields, code: codeOf(failure), error: failure, retryInMs: waitMs });
    try {
      await clock.sleep(waitMs, signal);
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
  }
}

/**
 * The spec with a cursor store that notes progress (an event's cursor set). A run that delivered
 * nothing has nothing new to write: its end-of-run flush is skipped (unless shutting down), so a
 * retry against a database that is down costs one statement, not two. What earlier runs left
 * pending is written by the store's own flush or by the next run that delivers.
 */
function watchProgress(
  spec: Spec,
  signal: AbortSignal | undefined,
): { readonly spec: Spec; progressed: boolean } {
  const store = spec.cursorStore;
  const watched = { spec, progressed: false };
  const cursorStore: CursorStore = {
    getCursor: (name) => store.getCursor(name),
    setCursor: (name, cursor) => {
      watched.progressed = true;
      return store.setCursor(name, cursor);
    },
    flush: () =>
      watched.progressed || signal?.aborted === true ? store.flush() : Promise.resolve(),
  };
  watched.spec = { ...spec, cursorStore };
  return watched;
}

/** How long to wait before the next run, and how loudly to say why. */
class Backoff {
  readonly #expectedMs: number;
  readonly #transientMs: number;
  readonly #transientMaxMs: number;
  readonly #errorMs: number;
  readonly #jitter: number;
  readonly #random: () => number;
  /**
   * Transient failures in a row: the back-off doubles with each, and starts over once a run
   * made progress (an event's cursor was set) or held up as long as the cap.
   */
  #transientStreak = 0;

  constructor(options: RunForeverOptions) {
    this.#expectedMs = msOption(
      options.expectedErrorBackoffMs,
      'runForever expectedErrorBackoffMs',
      100,
    );
    this.#transientMs = msOption(options.transientBackoffMs, 'runForever transientBackoffMs', 100);
    this.#transientMaxMs = msOption(
      options.transientBackoffMaxMs,
      'runForever transientBackoffMaxMs',
      Math.max(1_250, this.#transientMs),
      this.#transientMs,
    );
    this.#errorMs = msOption(options.errorBackoffMs, 'runForever errorBackoffMs', 60_000);
    const jitter = options.jitter ?? 0.2;
    if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
      throw invalidArgument('runForever jitter must be a fraction in [0, 1]');
    }
    this.#jitter = jitter;
    this.#random = options.random ?? Math.random;
  }

  /** A run ended: progress, or one that held up as long as the cap, resets the streak. */
  ran(progressed: boolean, tookMs: number): void {
    if (progressed || tookMs >= this.#transientMaxMs) this.#transientStreak = 0;
  }

  after(failure: unknown): { waitMs: number; level: 'debug' | 'warn' | 'error'; message: string } {
    if (isExpected(failure)) {
      return {
        waitMs: this.#expectedMs,
        level: 'debug',
        message: 'reflex consumer ended, restarting',
      };
    }
    if (isTransientErr(failure)) {
      // 2^streak, with the exponent bounded so a long outage never overflows.
      const base = this.#transientMs * 2 ** Math.min(this.#transientStreak, 30);
      this.#transientStreak++;
      return {
        waitMs: this.#spread(Math.min(base, this.#transientMaxMs)),
        level: 'warn',
        message: 'reflex consumer lost its source, retrying',
      };
    }
    return {
      waitMs: this.#spread(this.#errorMs),
      level: 'error',
      message: 'reflex consumer failed, restarting',
    };
  }

  #spread(ms: number): number {
    return Math.round(ms * (1 + this.#jitter * (2 * this.#random() - 1)));
  }
}
