/**
 * Stable error codes. A code survives wrapping (guards walk the `cause` chain) and a gRPC hop
 * (the server sends it in the trailers, the client restores it).
 */
export const ErrorCode = {
  stopped: 'ERR_REFLEX_STOPPED',
  headReached: 'ERR_REFLEX_HEAD_REACHED',
  filter: 'ERR_REFLEX_FILTER',
  consecEvent: 'ERR_REFLEX_CONSEC_EVENT',
  invalidCursor: 'ERR_REFLEX_INVALID_CURSOR',
  invalidArgument: 'ERR_REFLEX_INVALID_ARGUMENT',
  cursorNotIncreasing: 'ERR_REFLEX_CURSOR_NOT_INCREASING',
  canceled: 'ERR_REFLEX_CANCELED',
  deadlineExceeded: 'ERR_REFLEX_DEADLINE_EXCEEDED',
  streamEnded: 'ERR_REFLEX_STREAM_ENDED',
  closed: 'ERR_REFLEX_CLOSED',
  unavailable: 'ERR_REFLEX_UNAVAILABLE',
  unauthenticated: 'ERR_REFLEX_UNAUTHENTICATED',
  permissionDenied: 'ERR_REFLEX_PERMISSION_DENIED',
  deserialization: 'ERR_REFLEX_DESERIALIZATION',
  metadataFilter: 'ERR_REFLEX_METADATA_FILTER',
  batchState: 'ERR_REFLEX_BATCH_STATE',
  invalidBatchConfig: 'ERR_REFLEX_INVALID_BATCH_CONFIG',
  database: 'ERR_REFLEX_DATABASE',
  getCursor: 'ERR_REFLEX_GET_CURSOR',
  setCursor: 'ERR_REFLEX_SET_CURSOR',
  reset: 'ERR_REFLEX_RESET',
  consume: 'ERR_REFLEX_CONSUME',
  recv: 'ERR_REFLEX_RECV',
  internal: 'ERR_REFLEX_INTERNAL',
} as const;

/** One of the {@link ErrorCode} values (other packages may use their own `ERR_*` strings too). */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

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
    return typeof value === 'object' && value !== null && brand in value;
  }
}

/**
 * Wraps `err` with a message prefix, keeping its code when it has one (so `isX` guards and
 * `codeOf` still answer for the wrapped error) and `fallbackCode` otherwise.
 */
export function wrapError(err: unknown, prefix: string, fallbackCode: string): ReflexError {
  const message = err instanceof Error ? err.message : String(err);
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

function* causeChain(err: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  let current = err;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    yield current;
    current = typeof current === 'object' && 'cause' in current ? current.cause : undefined;
  }
}

/** True when the stream was stopped by its server (clients should reconnect). */
export function isStoppedErr(err: unknown): boolean {
  return hasCode(err, ErrorCode.stopped);
}

/** True when a stream opened with `toHead` has delivered every event there is. */
export function isHeadReachedErr(err: unknown): boolean {
  return hasCode(err, ErrorCode.headReached);
}

/** True when an event filter failed (the consumer's function was not called for that event). */
export function isFilterErr(err: unknown): boolean {
  return hasCode(err, ErrorCode.filter);
}

/**
 * True for the errors of an orderly shutdown, which are not worth an alert: an abort or timeout
 * (`AbortError`/`TimeoutError`, as an `AbortSignal` raises them), a stopped stream, and a
 * cancelled call or exceeded deadline reported by a remote stream. False for `undefined`/`null`.
 */
export function isExpected(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if (e instanceof ReflexError) {
      if (
        e.code === ErrorCode.stopped ||
        e.code === ErrorCode.canceled ||
        e.code === ErrorCode.deadlineExceeded
      )
        return true;
    } else if (e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError')) {
      return true;
    }
  }
  return false;
}

/** A ReflexError with code `ERR_REFLEX_INVALID_ARGUMENT`. */
export function invalidArgument(message: string, cause?: unknown): ReflexError {
  return new ReflexError(
    ErrorCode.invalidArgument,
    message,
    cause === undefined ? undefined : { cause },
  );
}
