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
 * The error codes core owns: those of `run`, streams and cursors in general, and the transport
 * codes every remote source shares. Each package exports its own (`RsqlErrorCode`,
 * `RpatternsErrorCode`, `FiltersErrorCode`, `RblobErrorCode`, `GrpcErrorCode`, `NatsErrorCode`,
 * `TestingErrorCode`); docs/errors.md lists them all. A code survives wrapping (guards walk the `cause` chain) and a gRPC hop
 * (the server sends it in the trailers, the client restores it).
 */
export const ErrorCode = {
  stopped: 'ERR_REFLEX_STOPPED',
  headReached: 'ERR_REFLEX_HEAD_REACHED',
  filter: 'ERR_REFLEX_FILTER',
  invalidCursor: 'ERR_REFLEX_INVALID_CURSOR',
  invalidArgument: invalidArgumentCode,
  canceled: 'ERR_REFLEX_CANCELED',
  deadlineExceeded: 'ERR_REFLEX_DEADLINE_EXCEEDED',
  streamEnded: 'ERR_REFLEX_STREAM_ENDED',
  closed: 'ERR_REFLEX_CLOSED',
  unavailable: 'ERR_REFLEX_UNAVAILABLE',
  unauthenticated: 'ERR_REFLEX_UNAUTHENTICATED',
  permissionDenied: 'ERR_REFLEX_PERMISSION_DENIED',
  deserialization: 'ERR_REFLEX_DESERIALIZATION',
  getCursor: 'ERR_REFLEX_GET_CURSOR',
  setCursor: 'ERR_REFLEX_SET_CURSOR',
  reset: 'ERR_REFLEX_RESET',
  consume: 'ERR_REFLEX_CONSUME',
  recv: 'ERR_REFLEX_RECV',
  internal: 'ERR_REFLEX_INTERNAL',
  /** A shard's lease moved on (expired or taken by another member): its cursor write was refused. */
  leaseLost: 'ERR_REFLEX_LEASE_LOST',
  /** A member joined a shard group with another shard count than the one stored with the group. */
  shardCountMismatch: 'ERR_REFLEX_SHARD_COUNT_MISMATCH',
} as const;

/** One of the {@link ErrorCode} values (other packages may use their own `ERR_*` strings too). */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** True when the stream was stopped by its server (clients should reconnect). */
export function isStoppedErr(err: unknown): boolean {
  return hasCode(err, ErrorCode.stopped);
}

/** True when a cursor write was refused because the shard's lease moved on (fencing). */
export function isLeaseLostErr(err: unknown): boolean {
  return hasCode(err, ErrorCode.leaseLost);
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

/**
 * Driver and socket codes of a connection that was lost, refused or is restarting: mysql2's and
 * Node's codes, and PostgreSQL's SQLSTATEs 57P01–57P03 (shutdown, crash, starting up) and class 08
 * (connection exception, matched by prefix below). `ER_CON_COUNT_ERROR`/53300: too many
 * connections, which frees up on its own.
 */
const transientDriverCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_CON_COUNT_ERROR',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

/** The rsql codes of a lost database connection, kept here as strings (core sits below rsql). */
const dbClosedCode = 'ERR_REFLEX_DB_CLOSED';
/** What the rsql drivers tag a pool or database closed by its owner with: no retry reopens it. */
const ownerClosedCode = 'POOL_CLOSED';

/**
 * True for an error that a retry after a short pause can fix: a lost or refused connection, a
 * database shutting down, restarting or starting up, an unreachable server. That is
 * `ERR_REFLEX_DB_CLOSED` (rsql: the connection was lost or refused), `ERR_REFLEX_UNAVAILABLE`
 * (grpc: the server is unreachable or the connection dropped), and a driver error anywhere in the
 * `cause` chain with one of these codes: `ECONNREFUSED`, `ECONNRESET`, `ECONNABORTED`, `EPIPE`,
 * `ETIMEDOUT`, `EHOSTUNREACH`, `ENETUNREACH`, `ENETDOWN`, `EAI_AGAIN`, `PROTOCOL_CONNECTION_LOST`,
 * `PROTOCOL_SEQUENCE_TIMEOUT`, `ER_SERVER_SHUTDOWN`, `ER_CONNECTION_KILLED`, `ER_CON_COUNT_ERROR`,
 * PostgreSQL's `57P01`–`57P03`, `53300` and class `08xxx`.
 *
 * False for a pool or database its owner closed (it stays closed: the driver's `POOL_CLOSED` is
 * in the chain), for the errors of an orderly stop (see {@link isExpected}) and for everything
 * else: a consumer's own failure (unless its cause is one of the above: its own database lost),
 * bad input, a broken table. `runForever` retries transient errors with a short exponential
 * back-off and the others after its long pause.
 *
 * @example
 * try { await table.insert(pool, id, type); }
 * catch (err) { if (isTransientErr(err)) retryLater(); else throw err; }
 */
export function isTransientErr(err: unknown): boolean {
  let transient = false;
  for (const e of causeChain(err)) {
    const code =
      typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string'
        ? e.code
        : undefined;
    if (code === undefined) continue;
    if (code === ownerClosedCode) return false;
    if (e instanceof ReflexError) {
      if (code === dbClosedCode || code === ErrorCode.unavailable) transient = true;
    } else if (transientDriverCodes.has(code) || /^08[0-9A-Z]{3}$/.test(code)) {
      transient = true;
    }
  }
  return transient;
}
