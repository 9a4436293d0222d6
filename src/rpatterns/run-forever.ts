import {
  type Clock,
  codeOf,
  isExpected,
  type Logger,
  noopLogger,
  run,
  type Spec,
  systemClock,
} from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { checkKeys, checkMs } from './options.js';

/** Options of {@link runForever}. */
export interface RunForeverOptions {
  /** Aborting it ends the loop: the current run ends, `spec.stop()` is called, and the promise resolves. */
  readonly signal?: AbortSignal;
  /** Where retries are reported (expected errors at `debug`, others at `error`). @default no logging */
  readonly logger?: Logger;
  /** The pause after an expected error (abort of a run, stopped stream), in ms. @default 100 */
  readonly expectedErrorBackoffMs?: number;
  /** The pause after any other error, in ms, before jitter. @default 60_000 (1 min) */
  readonly errorBackoffMs?: number;
  /**
   * Spread of the error pause, as a fraction: the pause is drawn uniformly from
   * `errorBackoffMs × [1 − jitter, 1 + jitter]`, so restarted replicas do not retry in step.
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
  'errorBackoffMs',
  'jitter',
  'clock',
  'random',
] as const;

/**
 * Runs `spec` again and again until `signal` aborts: the fail-fast `run` made resilient. After each
 * run it calls `spec.stop()` (releasing what the consumer holds, e.g. a batch timer or in-flight
 * work), then pauses: briefly after an expected error (`isExpected`: a stopped stream, a
 * cancellation), longer with jitter after any other error, which it logs.
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
  checkKeys('runForever', options, runForeverKeys);
  const { signal } = options;
  const logger = options.logger ?? noopLogger;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const expectedMs = checkMs(
    'runForever expectedErrorBackoffMs',
    options.expectedErrorBackoffMs,
    100,
  );
  const errorMs = checkMs('runForever errorBackoffMs', options.errorBackoffMs, 60_000);
  const jitter = options.jitter ?? 0.2;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
    throw invalidArgument('runForever jitter must be a fraction in [0, 1]');
  }
  const fields = { consumer: spec.name };
  for (;;) {
    if (signal?.aborted) return;
    let failure: unknown;
    try {
      await run(spec, { ...(signal === undefined ? {} : { signal }), clock });
    } catch (err) {
      failure = err;
    }
    try {
      await spec.stop();
    } catch (err) {
      logger.warn('reflex consumer stop failed', { ...fields, code: codeOf(err), error: err });
    }
    if (signal?.aborted) return;
    let waitMs: number;
    if (isExpected(failure)) {
      waitMs = expectedMs;
      logger.debug('reflex consumer ended, restarting', {
        ...fields,
        code: codeOf(failure),
        error: failure,
        retryInMs: waitMs,
      });
    } else {
      waitMs = Math.round(errorMs * (1 + jitter * (2 * random() - 1)));
      logger.error('reflex consumer failed, restarting', {
        ...fields,
        code: codeOf(failure),
        error: failure,
        retryInMs: waitMs,
      });
    }
    try {
      await clock.sleep(waitMs, signal);
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
  }
}
