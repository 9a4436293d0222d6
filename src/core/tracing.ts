import { otel } from '../internal/otel.js';
import { decodeBytesFields, encodeBytesField } from '../internal/protowire.js';

/** A span context as stored in `Event.trace`: lower-case hex ids. */
export interface TraceIds {
  /** 32 hex characters. */
  readonly traceId: string;
  /** 16 hex characters. */
  readonly spanId: string;
}

const traceIdPattern = /^[0-9a-f]{32}$/;
const spanIdPattern = /^[0-9a-f]{16}$/;
const zeroTrace = '0'.repeat(32);
const zeroSpan = '0'.repeat(16);
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function valid(ids: TraceIds): boolean {
  return (
    traceIdPattern.test(ids.traceId) &&
    spanIdPattern.test(ids.spanId) &&
    ids.traceId !== zeroTrace &&
    ids.spanId !== zeroSpan
  );
}

/**
 * Encodes a span context exactly as the Go original stores it: the protobuf message
 * `reflexpb.Trace { string trace_id = 1; string span_id = 2; }` with hex ids.
 */
export function encodeTrace(ids: TraceIds): Uint8Array {
  const out: number[] = [];
  encodeBytesField(1, utf8.encode(ids.traceId), out);
  encodeBytesField(2, utf8.encode(ids.spanId), out);
  return Uint8Array.from(out);
}

/** Decodes `Event.trace`; undefined for anything that is not a valid span context (best effort). */
export function decodeTrace(bytes: Uint8Array | undefined): TraceIds | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined;
  const fields = decodeBytesFields(bytes);
  if (fields === undefined) return undefined;
  try {
    const traceId = utf8Decoder.decode(fields.get(1) ?? new Uint8Array());
    const spanId = utf8Decoder.decode(fields.get(2) ?? new Uint8Array());
    const ids = { traceId, spanId };
    return valid(ids) ? ids : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The encoded span context of the active OpenTelemetry span, or undefined when there is none
 * (or @opentelemetry/api is not installed).
 */
export function activeTrace(): Uint8Array | undefined {
  const api = otel();
  if (api === undefined) return undefined;
  const ctx = api.trace.getSpanContext(api.context.active());
  if (ctx === undefined) return undefined;
  const ids = { traceId: ctx.traceId, spanId: ctx.spanId };
  return valid(ids) ? encodeTrace(ids) : undefined;
}

/**
 * Runs `fn` with the event's trace installed as the remote parent in the active OpenTelemetry
 * context, so spans the consumer starts join the writer's trace. Without a valid trace (or
 * without @opentelemetry/api) it just runs `fn`.
 */
export function withTraceParent<T>(trace: Uint8Array | undefined, fn: () => T): T {
  const ids = decodeTrace(trace);
  const api = ids === undefined ? undefined : otel();
  if (api === undefined || ids === undefined) return fn();
  const parent = api.trace.setSpanContext(api.context.active(), {
    traceId: ids.traceId,
    spanId: ids.spanId,
    traceFlags: api.TraceFlags.SAMPLED,
    isRemote: true,
  });
  return api.context.with(parent, fn);
}
