import { causeChain, hasCode, invalidArgumentCode, ReflexError } from '../internal/errors.js';

export {
  codeOf,
  hasCode,
  invalidArgument,
  ReflexError,
  type ReflexErrorOptions,
  wrapError,
} from '../internal/errors.js';

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
  invalidArgument: invalidArgumentCode,
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
