// The error details a Go reflex peer understands. Go's reflex marks ErrStopped and ErrHeadReached
// with jettison codes; with jettison's gRPC interceptors, a Go server sends them in the status's
// details (`grpc-status-details-bin`: a google.rpc.Status whose details hold a
// `jettisonpb.WrappedError`, or `jettisonpb.Hop`s in older jettison versions), and a Go client's
// IsStoppedErr / IsHeadReachedErr match on those codes. Only the wire format is reproduced here.
import { ErrorCode } from '../core/index.js';
import { decodeAllFields, encodeBytesField, encodeVarint } from '../internal/protowire.js';

/** The jettison code of Go reflex's ErrStopped. */
export const goStoppedCode = 'ERR_09290f5944cb8671';
/** The jettison code of Go reflex's ErrHeadReached. */
export const goHeadReachedCode = 'ERR_b4b155d2a91cfcd0';
/** The messages of those errors, the fallback when a Go server sends no details. */
export const goStoppedMessage = 'the event stream has been stopped';
export const goHeadReachedMessage = 'the event stream has reached the current head';

const wrappedErrorType = 'type.googleapis.com/jettisonpb.WrappedError';
const hopType = 'type.googleapis.com/jettisonpb.Hop';
/** Details larger than this are not decoded (they come from the peer, which may be hostile). */
const maxDetailsBytes = 16 * 1024;
/** WrappedErrors nest (wrapped_error, joined_errors): bounded, as a hostile peer may nest deep. */
const maxDepth = 32;

const goCodeOf: Readonly<Record<string, string>> = {
  [ErrorCode.stopped]: goStoppedCode,
  [ErrorCode.headReached]: goHeadReachedCode,
};
const reflexCodeOf: Readonly<Record<string, string>> = {
  [goStoppedCode]: ErrorCode.stopped,
  [goHeadReachedCode]: ErrorCode.headReached,
};
const reflexCodeOfMessage: Readonly<Record<string, string>> = {
  [goStoppedMessage]: ErrorCode.stopped,
  [goHeadReachedMessage]: ErrorCode.headReached,
};

const utf8 = new TextEncoder();
const text = new TextDecoder();

/**
 * The `grpc-status-details-bin` value (base64) a Go client recognises for a reflex code, or
 * undefined when Go has no equivalent. `status` and `message` repeat the trailers' (gRPC
 * implementations take the details' status as the call's status).
 */
export function goStatusDetails(
  reflexCode: string | undefined,
  status: number,
  message: string,
): string | undefined {
  const goCode = reflexCode === undefined ? undefined : goCodeOf[reflexCode];
  if (goCode === undefined) return undefined;
  const wrapped: number[] = [];
  encodeBytesField(1, utf8.encode(message), wrapped);
  encodeBytesField(7, utf8.encode(goCode), wrapped);
  const any: number[] = [];
  encodeBytesField(1, utf8.encode(wrappedErrorType), any);
  encodeBytesField(2, Uint8Array.from(wrapped), any);
  const out: number[] = [];
  if (status !== 0) {
    encodeVarint(1 << 3, out);
    encodeVarint(status, out);
  }
  encodeBytesField(2, utf8.encode(message), out);
  encodeBytesField(3, Uint8Array.from(any), out);
  return Buffer.from(out).toString('base64');
}

/**
 * The reflex code a Go peer meant: from the jettison codes in `grpc-status-details-bin`, else from
 * Go reflex's known messages; undefined when neither says stopped or head reached.
 */
export function reflexCodeOfGoStatus(
  details: string | undefined,
  message: string,
): string | undefined {
  if (details !== undefined && details.length <= (maxDetailsBytes * 4) / 3 + 4) {
    const codes = new Set<string>();
    collectStatusCodes(Buffer.from(details, 'base64'), codes);
    for (const c of codes) {
      const code = reflexCodeOf[c];
      if (code !== undefined) return code;
    }
  }
  return reflexCodeOfMessage[message];
}

function collectStatusCodes(status: Uint8Array, out: Set<string>): void {
  for (const [field, value] of decodeAllFields(status) ?? []) {
    if (field !== 3 || typeof value === 'number') continue;
    let type = '';
    let body: Uint8Array | undefined;
    for (const [f, v] of decodeAllFields(value) ?? []) {
      if (typeof v === 'number') continue;
      if (f === 1) type = text.decode(v);
      else if (f === 2) body = v;
    }
    if (body === undefined) continue;
    if (type === wrappedErrorType) collectWrappedCodes(body, out, 0);
    else if (type === hopType) collectHopCodes(body, out);
  }
}

/** WrappedError: code = 7; joined_errors = 3 and wrapped_error = 4 nest. */
function collectWrappedCodes(buf: Uint8Array, out: Set<string>, depth: number): void {
  if (depth > maxDepth) return;
  for (const [field, value] of decodeAllFields(buf) ?? []) {
    if (typeof value === 'number') continue;
    if (field === 7) out.add(text.decode(value));
    else if (field === 3 || field === 4) collectWrappedCodes(value, out, depth + 1);
  }
}

/** Hop (older jettison): errors = 2, each an Error with code = 4. */
function collectHopCodes(buf: Uint8Array, out: Set<string>): void {
  for (const [field, value] of decodeAllFields(buf) ?? []) {
    if (field !== 2 || typeof value === 'number') continue;
    for (const [f, v] of decodeAllFields(value) ?? []) {
      if (f === 4 && typeof v !== 'number') out.add(text.decode(v));
    }
  }
}
