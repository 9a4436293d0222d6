// The error class every package throws, with its code helpers. It lives here, below every
// package, so that shared helpers can throw it; `reflex-events` re-exports it as public API.

import { describeThrown } from './thrown.js';

/** The code of bad input, shared by every package's argument checks. */
export const invalidArgumentCode = 'ERR_REFLEX_INVALID_ARGUMENT';

const brand = Symbol.for('reflex-events.ReflexError');

/** Options of {@link ReflexError}. */
export interface ReflexErrorOptions {
  /** The error this one wraps; kept as `cause`. */
  readonly cause?: unknown;
}

/**
 * The one error class of reflex-events: a message and a stable string `code`.
 *
 * `instanceof ReflexError` holds across two installed copies of the package (a `Symbol.for` brand).
 * Use the guards ({@link isStoppedErr}, {@link isExpected}, …): they also look through `cause`.
 *
 * @example
 * throw new ReflexError(ErrorCode.invalidArgument, 'lag must be a finite number of ms ≥ 0');
 */
export class ReflexError extends Error {
  /** The stable code, e.g. `ERR_REFLEX_STOPPED`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ReflexErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReflexError';
    this.code = code;
    Object.defineProperty(this, brand, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    try {
      return typeof value === 'object' && value !== null && brand in value;
    } catch {
      return false; // a proxy whose `has` trap throws is no ReflexError
    }
  }
}

/**
 * Wraps `err` with a message prefix, keeping its code when it has one (so `isX` guards and
 * `codeOf` still answer for the wrapped error) and `fallbackCode` otherwise.
 */
export function wrapError(err: unknown, prefix: string, fallbackCode: string): ReflexError {
  const message = describeThrown(err);
  return new ReflexError(codeOf(err) ?? fallbackCode, `${prefix}: ${message}`, { cause: err });
}

/** The first reflex code found in `err` or its `cause` chain, or undefined. */
export function codeOf(err: unknown): string | undefined {
  for (const e of causeChain(err)) {
    if (e instanceof ReflexError) return e.code;
  }
  return undefined;
}

/** True when `err` or any error in its `cause` chain is a ReflexError with `code`. */
export function hasCode(err: unknown, code: string): boolean {
  for (const e of causeChain(err)) {
    if (e instanceof ReflexError && e.code === code) return true;
  }
  return false;
}

export function* causeChain(err: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  let current = err;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    yield current;
    try {
      current = typeof current === 'object' && 'cause' in current ? current.cause : undefined;
    } catch {
      current = undefined; // a throwing `cause` getter ends the chain
    }
  }
}

/** A ReflexError with code `ERR_REFLEX_INVALID_ARGUMENT`. */
export function invalidArgument(message: string, cause?: unknown): ReflexError {
  return new ReflexError(invalidArgumentCode, message, cause === undefined ? undefined : { cause });
}
