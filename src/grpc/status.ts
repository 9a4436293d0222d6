import { Metadata, type ServiceError, status as Status } from '@grpc/grpc-js';
import { codeOf, ErrorCode, ReflexError } from '../core/index.js';

/** The trailing-metadata key that carries the reflex error code across a gRPC hop. */
export const errorCodeKey = 'reflex-error-code';

/**
 * The code of a remote error whose gRPC status has no better reflex equivalent (UNKNOWN,
 * INTERNAL from a foreign server, …). The gRPC status is in the message and in `cause`.
 */
export const remoteErrorCode = 'ERR_REFLEX_REMOTE';

const codePattern = /^ERR_[A-Z0-9_]{1,64}$/;

const statusOfCode: Readonly<Record<string, Status>> = {
  [ErrorCode.stopped]: Status.UNAVAILABLE,
  [ErrorCode.unavailable]: Status.UNAVAILABLE,
  [ErrorCode.headReached]: Status.OUT_OF_RANGE,
  [ErrorCode.invalidCursor]: Status.INVALID_ARGUMENT,
  [ErrorCode.invalidArgument]: Status.INVALID_ARGUMENT,
  [ErrorCode.canceled]: Status.CANCELLED,
  [ErrorCode.deadlineExceeded]: Status.DEADLINE_EXCEEDED,
  [ErrorCode.unauthenticated]: Status.UNAUTHENTICATED,
  [ErrorCode.permissionDenied]: Status.PERMISSION_DENIED,
};

const codeOfStatus: Readonly<Partial<Record<Status, string>>> = {
  [Status.CANCELLED]: ErrorCode.canceled,
  [Status.DEADLINE_EXCEEDED]: ErrorCode.deadlineExceeded,
  [Status.UNAVAILABLE]: ErrorCode.unavailable,
  [Status.UNAUTHENTICATED]: ErrorCode.unauthenticated,
  [Status.PERMISSION_DENIED]: ErrorCode.permissionDenied,
  [Status.INVALID_ARGUMENT]: ErrorCode.invalidArgument,
  [Status.INTERNAL]: ErrorCode.internal,
};

/** The gRPC status a server sends for `err`: the reflex code in the trailers, a matching status code. */
export function statusOf(err: unknown): { code: Status; details: string; metadata: Metadata } {
  let code = codeOf(err);
  if (code === undefined && err instanceof Error) {
    if (err.name === 'AbortError') code = ErrorCode.canceled;
    else if (err.name === 'TimeoutError') code = ErrorCode.deadlineExceeded;
  }
  const metadata = new Metadata();
  if (code !== undefined && codePattern.test(code)) metadata.set(errorCodeKey, code);
  const details = err instanceof Error ? err.message : String(err);
  return {
    code: (code === undefined ? undefined : statusOfCode[code]) ?? Status.UNKNOWN,
    details,
    metadata,
  };
}

/**
 * The ReflexError for a failed call: the reflex code from the trailers when the server sent one
 * (a reflex-events server does), else one derived from the gRPC status code.
 */
export function errorOfStatus(err: ServiceError): ReflexError {
  const sent = err.metadata?.get(errorCodeKey)[0];
  const fromTrailer = typeof sent === 'string' && codePattern.test(sent) ? sent : undefined;
  const code = fromTrailer ?? codeOfStatus[err.code] ?? remoteErrorCode;
  const name = Status[err.code] ?? String(err.code);
  return new ReflexError(code, `remote stream: ${name}: ${err.details}`, { cause: err });
}
