import { ErrorCode, ReflexError } from '../core/index.js';

/**
 * The error codes the JetStream bridge adds to the core's `ErrorCode`. An unreachable server or
 * a lost connection is the core's `ERR_REFLEX_UNAVAILABLE` (transient: retry), never a
 * cancellation; bad options are `ERR_REFLEX_INVALID_ARGUMENT`.
 *
 * @example
 * if (hasCode(err, NatsErrorCode.streamNotFound)) logger.error('create the stream first', { error: err });
 */
export const NatsErrorCode = {
  /** The named JetStream stream does not exist (or the account cannot see it). */
  streamNotFound: 'ERR_REFLEX_NATS_STREAM_NOT_FOUND',
  /** A subject that is malformed, or that the relay's stream does not capture. */
  subject: 'ERR_REFLEX_NATS_SUBJECT',
  /**
   * JetStream refused a publish: the stream's last sequence was not the expected one (another
   * publisher wrote to the stream, or an earlier publish of this relay was lost), or any other
   * refusal of the server (message too large, stream full).
   */
  publish: 'ERR_REFLEX_NATS_PUBLISH',
} as const;

/** The shape of a `NatsError` of the `nats` package, as far as this module reads it. */
interface NatsErrorLike {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly api_error?: { readonly err_code?: unknown; readonly description?: unknown };
}

const unavailableCodes = new Set([
  'CONNECTION_REFUSED',
  'CONNECTION_CLOSED',
  'CONNECTION_DRAINING',
  'CONNECTION_TIMEOUT',
  'DISCONNECT',
  'TIMEOUT',
  'NO_RESPONDERS',
  '503',
  'JS_NOT_ENABLED',
]);

/** JetStream API error codes (`err_code`) this module tells apart. */
const apiStreamNotFound = 10059;
const apiWrongLastSequence = 10071;
const apiNoLeader = 10008; // "JetStream cluster not available" during a leader election

/**
 * Maps an error of the `nats` package to a coded ReflexError: stream not found, unavailable
 * (refused, lost, timed out, no responders), bad subject, authentication; `fallback` otherwise.
 */
export function natsError(err: unknown, what: string, fallback: string): ReflexError {
  if (err instanceof ReflexError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as NatsErrorLike;
  const code = typeof e.code === 'string' ? e.code : String(e.code ?? '');
  const message = typeof e.message === 'string' ? e.message : String(err);
  const apiCode = e.api_error?.err_code;
  let reflexCode = fallback;
  if (apiCode === apiStreamNotFound || message === 'stream not found') {
    reflexCode = NatsErrorCode.streamNotFound;
  } else if (apiCode === apiWrongLastSequence) {
    reflexCode = NatsErrorCode.publish;
  } else if (apiCode === apiNoLeader || unavailableCodes.has(code)) {
    reflexCode = ErrorCode.unavailable;
  } else if (code === 'BAD_SUBJECT') {
    reflexCode = NatsErrorCode.subject;
  } else if (code === 'AUTHORIZATION_VIOLATION' || code === 'BAD_AUTHENTICATION') {
    reflexCode = ErrorCode.unauthenticated;
  } else if (code === 'PERMISSIONS_VIOLATION') {
    reflexCode = ErrorCode.permissionDenied;
  }
  const detail = code !== '' && code !== message ? `${message} (${code})` : message;
  return new ReflexError(reflexCode, `${what}: ${detail}`, { cause: err });
}
