import { ErrorCode, type Event, ReflexError } from '../core/index.js';

/**
 * The headers the relay writes on each JetStream message and the source reads back. The
 * message's id header (`Nats-Msg-Id`, JetStream's de-duplication key) is set too; the metadata
 * is the payload.
 */
export const relayHeaders = Object.freeze({
  /** The event's id in the relayed stream (its cursor there, e.g. the SQL row id). */
  id: 'Reflex-Id',
  foreignId: 'Reflex-Foreign-Id',
  /** The event type, a decimal integer. */
  type: 'Reflex-Type',
  /** The event's timestamp, ISO 8601 with milliseconds (`toISOString`). */
  timestamp: 'Reflex-Timestamp',
  /** The encoded span context (`encodeTrace`), base64. */
  trace: 'Reflex-Trace',
} as const);

/** What the source reads of a JetStream message (a `JsMsg` of the `nats` package fits). */
export interface ReadMsg {
  readonly seq: number;
  readonly data: Uint8Array;
  readonly headers?: { get(name: string): string } | undefined;
  readonly info: { readonly timestampNanos: number };
}

const typePattern = /^-?(0|[1-9][0-9]*)$/;

/**
 * The event of a message: `id` = the stream sequence, the rest from the relay's headers. A
 * message written by someone else (no reflex headers) is type 0 with foreign id '' at
 * JetStream's own timestamp, its payload as metadata. A malformed header is
 * `ERR_REFLEX_DESERIALIZATION`.
 */
export function decodeEvent(stream: string, m: ReadMsg): Event {
  const h = m.headers;
  const get = (name: string): string => (h === undefined ? '' : h.get(name));
  const bad = (what: string, value: string): ReflexError =>
    new ReflexError(
      ErrorCode.deserialization,
      `JetStream stream ${stream} message ${m.seq}: bad ${what} header ${JSON.stringify(value)}`,
    );
  const typeText = get(relayHeaders.type);
  let type = 0;
  if (typeText !== '') {
    type = Number(typeText);
    if (!typePattern.test(typeText) || !Number.isSafeInteger(type)) throw bad('type', typeText);
  }
  const tsText = get(relayHeaders.timestamp);
  const timestamp =
    tsText === '' ? new Date(Math.floor(m.info.timestampNanos / 1e6)) : new Date(tsText);
  if (Number.isNaN(timestamp.getTime())) throw bad('timestamp', tsText);
  const traceText = get(relayHeaders.trace);
  const event: {
    id: string;
    type: number;
    foreignId: string;
    timestamp: Date;
    metadata?: Uint8Array;
    trace?: Uint8Array;
  } = { id: String(m.seq), type, foreignId: get(relayHeaders.foreignId), timestamp };
  // A copy, as a plain Uint8Array: the client's Buffer is a view of its whole read chunk.
  if (m.data.length > 0) event.metadata = new Uint8Array(m.data);
  if (traceText !== '') event.trace = new Uint8Array(Buffer.from(traceText, 'base64'));
  return event;
}

/** The header values of an event, in the order of {@link relayHeaders}. */
export function headerValues(e: Event): [string, string][] {
  const out: [string, string][] = [
    [relayHeaders.id, e.id],
    [relayHeaders.foreignId, e.foreignId],
    [relayHeaders.type, String(e.type)],
    [relayHeaders.timestamp, e.timestamp.toISOString()],
  ];
  if (e.trace !== undefined && e.trace.length > 0) {
    out.push([relayHeaders.trace, Buffer.from(e.trace).toString('base64')]);
  }
  return out;
}
