import { hasCode, ReflexError } from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';

/** The error codes the testing kit owns (docs/errors.md). */
export const TestingErrorCode = {
  /** A failure injected on purpose by {@link Fate.tempt}. */
  tempt: 'ERR_REFLEX_TEMPT',
} as const;

/** Options of {@link newFate}. */
export interface FateOptions {
  /** Probability in [0, 1] that `tempt()` fails. @default 0.000001 */
  readonly p?: number;
  /** Seed of the pseudo-random sequence, so a failing run can be replayed. @default random */
  readonly seed?: number;
}

/** A chaos hook: call `tempt()` where a consumer could fail, to prove it is idempotent. */
export interface Fate {
  /** Throws a `ERR_REFLEX_TEMPT` error with probability `p`. */
  tempt(): void;
  /** How many times `tempt` was called and how many times it threw. */
  readonly counts: { readonly tempted: number; readonly failed: number };
}

/**
 * A seeded chaos helper in the spirit of luno/fate (which the Go original once passed to every
 * consumer): `tempt()` fails with probability `p`.
 *
 * @example
 * const fate = newFate({ p: 0.1, seed: 42 });
 * const consumer = newConsumer('c', async (e) => { fate.tempt(); await apply(e); });
 */
export function newFate(options: FateOptions = {}): Fate {
  const p = options.p ?? 1e-6;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1))
    throw invalidArgument('fate p must be in [0, 1]');
  let state = (options.seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  // mulberry32: small, fast and good enough for fault injection.
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const counts = { tempted: 0, failed: 0 };
  return {
    counts,
    tempt() {
      counts.tempted++;
      if (random() < p) {
        counts.failed++;
        throw new ReflexError(TestingErrorCode.tempt, 'fate tempted');
      }
    },
  };
}

/** True when `err` is (or wraps) the error of {@link Fate.tempt}. */
export function isTemptErr(err: unknown): boolean {
  return hasCode(err, TestingErrorCode.tempt);
}
