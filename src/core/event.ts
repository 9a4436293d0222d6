import { ErrorCode, ReflexError } from './errors.js';

/**
 * A notification that the entity `foreignId` changed in the way `type` at `timestamp`.
 * It carries no state: consumers look the entity up. `id` is the stream cursor.
 */
export interface Event {
  /** The cursor of this event in its stream: the stream delivers strictly after it. */
  readonly id: string;
  /** The kind of change, as an integer (see {@link EventType}). */
  readonly type: number;
  /** The id of the entity that changed. */
  readonly foreignId: string;
  /** When the change was committed (the database clock for SQL streams), to the millisecond. */
  readonly timestamp: Date;
  /**
   * The exact time: microseconds since the Unix epoch, as the source stored it (MySQL
   * DATETIME(6), PostgreSQL timestamptz, SQLite's integer milliseconds × 1000, a gRPC Timestamp's
   * seconds and nanos with nanos below a microsecond dropped). `timestamp` is this rounded down to
   * the millisecond. Set by SQL streams and gRPC clients; absent from sources that keep only a
   * Date (in-memory logs, blobs).
   */
  readonly timestampUs?: bigint;
  /** Optional opaque payload. */
  readonly metadata?: Uint8Array;
  /** Optional encoded span context of the writer (see `encodeTrace`). */
  readonly trace?: Uint8Array;
}

/** An event type: a plain integer, or an object that knows its integer (an enum-like value). */
export type EventType = number | { reflexType(): number };

/** The integer of an event type. */
export function typeNumber(t: EventType): number {
  if (typeof t === 'number') return t;
  const reflexType = (t as { reflexType?: unknown } | null | undefined)?.reflexType;
  if (typeof reflexType !== 'function') {
    throw new ReflexError(
      ErrorCode.invalidArgument,
      `event type must be an integer or have reflexType(), got ${String(t)}`,
    );
  }
  return t.reflexType();
}

/** True when both types have the same integer. */
export function isType(a: EventType, b: EventType): boolean {
  return typeNumber(a) === typeNumber(b);
}

/** True when `a` has the integer of any of `bs`. */
export function isAnyType(a: EventType, ...bs: EventType[]): boolean {
  const n = typeNumber(a);
  return bs.some((b) => typeNumber(b) === n);
}

const int64Pattern = /^-?(0|[1-9][0-9]{0,18})$/;
const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** Parses a decimal 64-bit integer exactly (as a bigint), or undefined when `s` is not one. */
export function parseInt64(s: string): bigint | undefined {
  if (!int64Pattern.test(s)) return undefined;
  const n = BigInt(s);
  return n < int64Min || n > int64Max ? undefined : n;
}

/** True when the event's id is a decimal 64-bit integer. */
export function isIdInt(e: Pick<Event, 'id'>): boolean {
  return parseInt64(e.id) !== undefined;
}

/** The event's id as an exact bigint, or `0n` when it is not an integer (as the original). */
export function idInt(e: Pick<Event, 'id'>): bigint {
  return parseInt64(e.id) ?? 0n;
}

/** True when the event's foreign id is a decimal 64-bit integer. */
export function isForeignIdInt(e: Pick<Event, 'foreignId'>): boolean {
  return parseInt64(e.foreignId) !== undefined;
}

/** The event's foreign id as an exact bigint, or `0n` when it is not an integer (as the original). */
export function foreignIdInt(e: Pick<Event, 'foreignId'>): bigint {
  return parseInt64(e.foreignId) ?? 0n;
}

/**
 * Parses an integer cursor: '' is 0n (the start of the stream); anything but a non-negative
 * decimal 64-bit integer is an `ERR_REFLEX_INVALID_CURSOR` error.
 */
export function parseIntCursor(cursor: string): bigint {
  if (cursor === '') return 0n;
  const n = parseInt64(cursor);
  if (n === undefined || n < 0n) {
    throw new ReflexError(
      ErrorCode.invalidCursor,
      `invalid cursor ${JSON.stringify(cursor)}: want a non-negative integer id or ''`,
    );
  }
  return n;
}
