import { codeOf, ErrorCode, ReflexError } from '../core/index.js';
import { toWellFormed } from '../internal/well-formed.js';
import { goStatusDetails, reflexCodeOfGoStatus } from './jettison.js';

/** The trailing-metadata key that carries the reflex error code across a gRPC hop. */
export const errorCodeKey = 'reflex-error-code';

/**
 * The error codes grpc owns (docs/errors.md); the transport codes it shares with other remote
 * sources (unavailable, unauthenticated, permission denied) are the core's `ErrorCode`.
 */
export const GrpcErrorCode = {
  /**
   * A remote error whose gRPC status has no better reflex equivalent (UNKNOWN,
   * RESOURCE_EXHAUSTED, …). The gRPC status name and message are in the error's message.
   */
  remote: 'ERR_REFLEX_REMOTE',
  /** A call to a method the server does not serve (gRPC UNIMPLEMENTED). */
  unimplemented: 'ERR_REFLEX_UNIMPLEMENTED',
} as const;

/** The trailer of the google.rpc.Status details (base64), where Go's jettison puts its error codes. */
export const statusDetailsKey = 'grpc-status-details-bin';

/** The longest status message sent to a peer, in characters. */
export const maxPeerMessageChars = 512;

/** gRPC status codes (the ones this package uses by name). */
export const Status = {
  ok: 0,
  cancelled: 1,
  unknown: 2,
  invalidArgument: 3,
  deadlineExceeded: 4,
  permissionDenied: 7,
  resourceExhausted: 8,
  outOfRange: 11,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  unauthenticated: 16,
} as const;

const statusNames = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

const codePattern = /^ERR_[A-Z0-9_]{1,64}$/;

const statusOfCode: Readonly<Record<string, number>> = {
  [ErrorCode.stopped]: Status.unavailable,
  [ErrorCode.unavailable]: Status.unavailable,
  [ErrorCode.headReached]: Status.outOfRange,
  [ErrorCode.invalidCursor]: Status.invalidArgument,
  [ErrorCode.invalidArgument]: Status.invalidArgument,
  [ErrorCode.canceled]: Status.cancelled,
  [ErrorCode.deadlineExceeded]: Status.deadlineExceeded,
  [ErrorCode.unauthenticated]: Status.unauthenticated,
  [ErrorCode.permissionDenied]: Status.permissionDenied,
  [ErrorCode.internal]: Status.internal,
  [GrpcErrorCode.unimplemented]: Status.unimplemented,
};

const codeOfStatus: Readonly<Record<number, string>> = {
  [Status.cancelled]: ErrorCode.canceled,
  [Status.deadlineExceeded]: ErrorCode.deadlineExceeded,
  [Status.unavailable]: ErrorCode.unavailable,
  [Status.unauthenticated]: ErrorCode.unauthenticated,
  [Status.permissionDenied]: ErrorCode.permissionDenied,
  [Status.invalidArgument]: ErrorCode.invalidArgument,
  [Status.internal]: ErrorCode.internal,
  [Status.unimplemented]: GrpcErrorCode.unimplemented,
};

/** A gRPC status as sent in trailers. */
export interface GrpcStatus {
  readonly code: number;
  readonly message: string;
  /** The reflex error code, when there is one. */
  readonly reflexCode?: string;
}

/** The status a server sends for `err`: a matching gRPC code, the message, the reflex code. */
export function statusOf(err: unknown): GrpcStatus {
  let code = codeOf(err);
  if (code === undefined && err instanceof Error) {
    if (err.name === 'AbortError') code = ErrorCode.canceled;
    else if (err.name === 'TimeoutError') code = ErrorCode.deadlineExceeded;
  }
  const message = err instanceof Error ? err.message : String(err);
  const valid = code !== undefined && codePattern.test(code) ? code : undefined;
  return {
    code: (valid === undefined ? undefined : statusOfCode[valid]) ?? Status.unknown,
    message,
    ...(valid === undefined ? {} : { reflexCode: valid }),
  };
}

/** A status for a peer, with the level its cause is logged at on the server. */
export interface PeerStatus extends GrpcStatus {
  readonly level: 'debug' | 'warn' | 'error';
}

/** The normal ends of a call: their messages go to the peer, their causes are logged at debug level. */
const expectedCodes: ReadonlySet<string> = new Set([
  ErrorCode.stopped,
  ErrorCode.headReached,
  ErrorCode.canceled,
  ErrorCode.deadlineExceeded,
]);
/** The caller's faults: their messages (about the request) go to the peer, capped. */
const callerCodes: ReadonlySet<string> = new Set([
  ErrorCode.invalidCursor,
  ErrorCode.invalidArgument,
  ErrorCode.unauthenticated,
  ErrorCode.permissionDenied,
  GrpcErrorCode.unimplemented,
]);

/**
 * What a peer is told about `err`. A normal end or a bad request keeps its message, stripped of
 * control characters and capped at {@link maxPeerMessageChars} (a request may carry 64 KiB of
 * cursor); any other failure — a database's error text, a bug — becomes a generic message with
 * its code, and the server logs the whole error.
 */
export function peerStatus(err: unknown): PeerStatus {
  const s = statusOf(err);
  const code = s.reflexCode;
  if (code !== undefined && (expectedCodes.has(code) || callerCodes.has(code))) {
    return {
      ...s,
      message: sanitize(s.message),
      level: expectedCodes.has(code) ? 'debug' : 'warn',
    };
  }
  return {
    code: s.code,
    message: `the stream failed on the server${code === undefined ? '' : ` (${code})`}; its log has the details`,
    ...(code === undefined ? {} : { reflexCode: code }),
    level: 'error',
  };
}

/** Control characters out, at most maxPeerMessageChars characters (whole code points). */
export function sanitize(message: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  const clean = message.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  if (clean.length <= maxPeerMessageChars) return clean;
  return `${toWellFormed(clean.slice(0, maxPeerMessageChars - 1)).replace(/\uFFFD$/, '')}…`;
}

/** The trailers (or trailers-only headers) of a status. */
export function statusHeaders(s: GrpcStatus): Record<string, string> {
  const h: Record<string, string> = {
    'grpc-status': String(s.code),
    'grpc-message': encodeGrpcMessage(s.message),
  };
  if (s.reflexCode !== undefined) h[errorCodeKey] = s.reflexCode;
  // Stopped and head reached also in the form a Go reflex client's IsStoppedErr /
  // IsHeadReachedErr recognise (grpc-js clients see an extra binary trailer, nothing more).
  const details = goStatusDetails(s.reflexCode, s.code, s.message);
  if (details !== undefined) h[statusDetailsKey] = details;
  return h;
}

/**
 * The ReflexError for a failed call: the reflex code from the trailers when the server sent one
 * (a reflex-events server does), else one derived from the gRPC status code.
 */
export function errorOfStatus(
  status: number,
  message: string,
  reflexCode: string | undefined,
  details?: string,
): ReflexError {
  const fromTrailer =
    reflexCode !== undefined && codePattern.test(reflexCode) ? reflexCode : undefined;
  // A Go server says stopped / head reached in jettison's details, or at least in its messages.
  const fromGo =
    fromTrailer === undefined && status !== Status.ok
      ? reflexCodeOfGoStatus(details, message)
      : undefined;
  const code = fromTrailer ?? fromGo ?? codeOfStatus[status] ?? GrpcErrorCode.remote;
  const name = statusNames[status] ?? `status ${status}`;
  return new ReflexError(code, `remote stream: ${name}: ${message}`);
}

/** Percent-encodes a status message as the gRPC spec asks (UTF-8; bytes outside 0x20–0x7E and '%'). */
export function encodeGrpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const b of Buffer.from(message, 'utf8')) {
    out +=
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Decodes a percent-encoded gRPC status message (lenient: bad escapes stay as they are). */
export function decodeGrpcMessage(message: string): string {
  if (!message.includes('%')) return message;
  const bytes: number[] = [];
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(message.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(message.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(message[i] as string, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
