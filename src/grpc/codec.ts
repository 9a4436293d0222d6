// A hand-written protobuf codec for the three messages of reflex.proto (StreamRequest, StreamOptions,
// Event, plus the well-known Timestamp and Duration). Why not generated code: these messages are
// tiny and frozen by the Go original, the codec is exact and checked against protobufjs in the tests,
// it needs no code generator nor runtime, and it encodes straight into one reused buffer (no
// intermediate message objects: the server encodes a batch of events into one buffer).
import type { Event } from '../core/index.js';
import { ErrorCode, ReflexError } from '../core/index.js';

/** A stream request as the server sees it. */
export interface StreamRequestMessage {
  readonly after: string;
  readonly lagMs?: number;
  readonly fromHead?: boolean;
  readonly toHead?: boolean;
}

/** Thrown for bytes that are not a valid message; the server answers INVALID_ARGUMENT. */
export function corrupt(message: string): ReflexError {
  return new ReflexError(ErrorCode.invalidArgument, `corrupt protobuf message: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Writing

const two32 = 2 ** 32;
/** The largest |ms| a Date holds (±100,000,000 days from the epoch). */
const maxDateMs = 8.64e15;

/** Bytes of the varint of a non-negative integer < 2^53, or of a negative int64 (always 10). */
function varintSize(v: number): number {
  if (v < 0) return 10;
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 5;
  let x = Math.floor(v / 0x800000000);
  while (x > 0) {
    n++;
    x = Math.floor(x / 128);
  }
  return n;
}

function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  if (v >= 0 && v < 0x80000000) {
    let x = v;
    while (x > 0x7f) {
      buf[pos++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    buf[pos++] = x;
    return pos;
  }
  // 64-bit two's complement in two 32-bit halves (negative int32/int64, or ≥ 2^31).
  let lo: number;
  let hi: number;
  if (v >= 0) {
    lo = (v % two32) >>> 0;
    hi = Math.floor(v / two32) >>> 0;
  } else {
    const a = -v;
    lo = (a % two32) >>> 0;
    hi = Math.floor(a / two32) >>> 0;
    // negate: invert and add one
    lo = ~lo >>> 0;
    hi = ~hi >>> 0;
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
  }
  while (hi > 0 || lo > 0x7f) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}

/** The length of `s` when it is short ASCII (1 byte per character), else -1. */
function shortAsciiLength(s: string): number {
  const n = s.length;
  if (n > 32) return -1;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return -1;
  return n;
}

/** Writes `s` at `pos` (`len` bytes, `ascii` when measured by shortAsciiLength); returns the end. */
function writeText(buf: Buffer, pos: number, s: string, len: number, ascii: boolean): number {
  if (!ascii) return pos + buf.write(s, pos, len, 'utf8');
  for (let i = 0; i < len; i++) buf[pos + i] = s.charCodeAt(i);
  return pos + len;
}

/** Encodes (seconds, nanos) of a Timestamp or Duration body; returns its size when `buf` is null. */
function secondsNanosSize(seconds: number, nanos: number): number {
  return (seconds === 0 ? 0 : 1 + varintSize(seconds)) + (nanos === 0 ? 0 : 1 + varintSize(nanos));
}

function writeSecondsNanos(buf: Uint8Array, pos: number, seconds: number, nanos: number): number {
  let p = pos;
  if (seconds !== 0) {
    buf[p++] = 0x08;
    p = writeVarint(buf, p, seconds);
  }
  if (nanos !== 0) {
    buf[p++] = 0x10;
    p = writeVarint(buf, p, nanos);
  }
  return p;
}

/** The nanos of the last {@link secondsOfMicros} (a module variable: no result object per event). */
let nanosOfMicros = 0;

/**
 * The whole seconds of `us` microseconds since the epoch (floored), leaving the nanos in
 * `nanosOfMicros`; an `ERR_REFLEX_INVALID_ARGUMENT` error beyond what a Date holds.
 */
function secondsOfMicros(id: string, us: unknown): number {
  if (typeof us !== 'bigint') {
    throw new ReflexError(
      ErrorCode.invalidArgument,
      `event ${JSON.stringify(id)} has a timestampUs that is not a bigint (${typeof us})`,
    );
  }
  const n = Number(us);
  let seconds: number;
  if (Number.isSafeInteger(n)) {
    seconds = Math.floor(n / 1e6);
    nanosOfMicros = (n - seconds * 1e6) * 1000;
  } else {
    let s = us / 1_000_000n;
    let r = us % 1_000_000n;
    if (r < 0n) {
      s -= 1n;
      r += 1_000_000n;
    }
    seconds = Number(s);
    nanosOfMicros = Number(r) * 1000;
  }
  if (!(Math.abs(seconds) <= maxDateMs / 1000)) {
    throw new ReflexError(
      ErrorCode.invalidArgument,
      `event ${JSON.stringify(id)} has an invalid timestamp (${String(us)} µs)`,
    );
  }
  return seconds;
}

/**
 * Collects gRPC frames (a 5-byte prefix, then a `reflexpb.Event`) in one buffer, so a batch of
 * events goes to the transport in one write with no allocation per event.
 */
export class FrameWriter {
  /** Where frames are collected: `#home`, or a buffer of its own for one event too big for it. */
  #buf: Buffer;
  readonly #home: Buffer;
  #len = 0;

  constructor(capacity: number) {
    this.#home = Buffer.allocUnsafeSlow(capacity);
    this.#buf = this.#home;
  }

  /** Bytes collected so far. */
  get length(): number {
    return this.#len;
  }

  /**
   * The frames collected so far, in a buffer of their own size (a queued write of one small event
   * holds its bytes, not the capacity); the writer goes on reusing its buffer.
   */
  take(): Buffer {
    const len = this.#len;
    this.#len = 0;
    if (this.#buf !== this.#home) {
      // A buffer made for one big event, exactly its size: handed over as it is.
      const out = this.#buf.subarray(0, len);
      this.#buf = this.#home;
      return out;
    }
    const out = Buffer.allocUnsafe(len);
    this.#home.copy(out, 0, 0, len);
    return out;
  }

  /**
   * Appends the frame of `e`. Returns false, writing nothing, when it does not fit after what is
   * already collected (take() first, then append again); an event larger than the capacity gets a
   * buffer of its own when the writer is empty. An invalid timestamp (an Invalid Date, or beyond
   * what a Date holds) throws an `ERR_REFLEX_INVALID_ARGUMENT` error, writing nothing.
   */
  append(e: Event): boolean {
    let seconds: number;
    let nanos: number;
    if (e.timestampUs === undefined) {
      const ms = e.timestamp.getTime();
      // Checked first: NaN would make the measured size and the written bytes disagree, corrupting
      // this frame and every later one in the batch.
      if (typeof ms !== 'number' || !(Math.abs(ms) <= maxDateMs)) {
        throw new ReflexError(
          ErrorCode.invalidArgument,
          `event ${JSON.stringify(e.id)} has an invalid timestamp (${String(ms)} ms)`,
        );
      }
      seconds = Math.floor(ms / 1000);
      nanos = Math.round((ms - seconds * 1000) * 1e6);
    } else {
      // The exact form wins: microseconds, as the database stored them, to seconds and nanos.
      seconds = secondsOfMicros(e.id, e.timestampUs);
      nanos = nanosOfMicros;
    }
    const tsSize = secondsNanosSize(seconds, nanos);
    const fidAscii = shortAsciiLength(e.foreignId);
    const fidLen = fidAscii >= 0 ? fidAscii : Buffer.byteLength(e.foreignId);
    const idAscii = shortAsciiLength(e.id);
    const idLen = idAscii >= 0 ? idAscii : Buffer.byteLength(e.id);
    const meta = e.metadata;
    const trace = e.trace;
    const metaLen = meta === undefined ? 0 : meta.length;
    const traceLen = trace === undefined ? 0 : trace.length;
    const type = e.type | 0;
    const size =
      (type === 0 ? 0 : 1 + varintSize(type)) +
      1 +
      varintSize(tsSize) +
      tsSize +
      (fidLen === 0 ? 0 : 1 + varintSize(fidLen) + fidLen) +
      (idLen === 0 ? 0 : 1 + varintSize(idLen) + idLen) +
      (metaLen === 0 ? 0 : 1 + varintSize(metaLen) + metaLen) +
      (traceLen === 0 ? 0 : 1 + varintSize(traceLen) + traceLen);
    let buf = this.#buf;
    if (this.#len + 5 + size > buf.length) {
      if (this.#len > 0) return false;
      buf = Buffer.allocUnsafeSlow(5 + size);
      this.#buf = buf;
    }
    let p = this.#len;
    buf[p++] = 0;
    buf[p++] = size >>> 24;
    buf[p++] = (size >>> 16) & 0xff;
    buf[p++] = (size >>> 8) & 0xff;
    buf[p++] = size & 0xff;
    if (type !== 0) {
      buf[p++] = 0x18;
      p = writeVarint(buf, p, type);
    }
    buf[p++] = 0x22;
    p = writeVarint(buf, p, tsSize);
    p = writeSecondsNanos(buf, p, seconds, nanos);
    if (fidLen !== 0) {
      buf[p++] = 0x2a;
      p = writeVarint(buf, p, fidLen);
      p = writeText(buf, p, e.foreignId, fidLen, fidAscii >= 0);
    }
    if (idLen !== 0) {
      buf[p++] = 0x32;
      p = writeVarint(buf, p, idLen);
      p = writeText(buf, p, e.id, idLen, idAscii >= 0);
    }
    if (meta !== undefined && metaLen !== 0) {
      buf[p++] = 0x3a;
      p = writeVarint(buf, p, metaLen);
      buf.set(meta, p);
      p += metaLen;
    }
    if (trace !== undefined && traceLen !== 0) {
      buf[p++] = 0x42;
      p = writeVarint(buf, p, traceLen);
      buf.set(trace, p);
      p += traceLen;
    }
    this.#len = p;
    return true;
  }
}

/** Encodes one event as a `reflexpb.Event` (without the gRPC frame prefix). */
export function encodeEvent(e: Event): Buffer {
  const w = new FrameWriter(64);
  w.append(e);
  return w.take().subarray(5);
}

/** Prefixes a message with its gRPC frame header (uncompressed). */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** Encodes a `reflexpb.StreamRequest` (options first, as the Go original's marshaller does). */
export function encodeStreamRequest(req: StreamRequestMessage): Buffer {
  const lag = req.lagMs ?? 0;
  let lagSeconds = 0;
  let lagNanos = 0;
  if (lag > 0) {
    lagSeconds = Math.floor(lag / 1000);
    lagNanos = Math.round((lag - lagSeconds * 1000) * 1e6);
    if (lagNanos >= 1e9) {
      lagSeconds++;
      lagNanos -= 1e9;
    }
  }
  const durSize = secondsNanosSize(lagSeconds, lagNanos);
  const optSize =
    (lag > 0 ? 1 + varintSize(durSize) + durSize : 0) +
    (req.fromHead === true ? 2 : 0) +
    (req.toHead === true ? 2 : 0);
  const afterLen = Buffer.byteLength(req.after);
  const size =
    (optSize === 0 ? 0 : 1 + varintSize(optSize) + optSize) +
    (afterLen === 0 ? 0 : 1 + varintSize(afterLen) + afterLen);
  const buf = Buffer.allocUnsafe(size);
  let p = 0;
  if (optSize !== 0) {
    buf[p++] = 0x12;
    p = writeVarint(buf, p, optSize);
    if (lag > 0) {
      buf[p++] = 0x0a;
      p = writeVarint(buf, p, durSize);
      p = writeSecondsNanos(buf, p, lagSeconds, lagNanos);
    }
    if (req.fromHead === true) {
      buf[p++] = 0x10;
      buf[p++] = 1;
    }
    if (req.toHead === true) {
      buf[p++] = 0x20;
      buf[p++] = 1;
    }
  }
  if (afterLen !== 0) {
    buf[p++] = 0x1a;
    p = writeVarint(buf, p, afterLen);
    p += buf.write(req.after, p, afterLen, 'utf8');
  }
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Reading

class Reader {
  pos: number;
  readonly buf: Buffer;
  readonly end: number;

  constructor(buf: Buffer, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** A varint as a JS number: exact below 2^53; a 64-bit negative value comes back negative. */
  varint(): number {
    const buf = this.buf;
    const end = this.end;
    if (this.pos >= end) throw corrupt('truncated varint');
    let b = buf[this.pos++] as number;
    if (b < 0x80) return b;
    let lo = b & 0x7f;
    let hi = 0;
    let shift = 7;
    for (;;) {
      if (this.pos >= end) throw corrupt('truncated varint');
      b = buf[this.pos++] as number;
      const bits = b & 0x7f;
      if (shift < 28) {
        lo |= bits << shift;
      } else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else {
        hi |= bits << (shift - 32);
      }
      if (b < 0x80) break;
      shift += 7;
      if (shift >= 70) throw corrupt('varint too long');
    }
    return (hi | 0) * two32 + (lo >>> 0);
  }

  /** The bounds of a length-delimited value. */
  delimited(): number {
    const len = this.varint();
    if (len < 0 || this.pos + len > this.end) throw corrupt('truncated length-delimited field');
    return len;
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2: {
        const len = this.delimited();
        this.pos += len;
        return;
      }
      case 5:
        this.pos += 4;
        break;
      default:
        throw corrupt(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) throw corrupt('truncated fixed-size field');
  }
}

/**
 * A field tag as read: field numbers end at 2^29 - 1, so a tag is below 2^32. A larger (or a
 * negative 64-bit) one is refused: `tag >>> 3` would wrap it onto some other field.
 */
function tagOf(tag: number): number {
  if (tag < 0 || tag >= two32) throw corrupt(`field tag ${tag} out of range`);
  return tag;
}

function expectWire(field: string, wire: number, want: number): void {
  if (wire !== want) throw corrupt(`field ${field} has wire type ${wire}, want ${want}`);
}

/** Reads a Timestamp or Duration body: [seconds, nanos]. */
function readSecondsNanos(r: Reader, len: number): [number, number] {
  const end = r.pos + len;
  const sub = new Reader(r.buf, r.pos, end);
  let seconds = 0;
  let nanos = 0;
  while (sub.pos < end) {
    const tag = tagOf(sub.varint());
    const wire = tag & 7;
    const field = tag >>> 3;
    if (field === 1) {
      expectWire('seconds', wire, 0);
      seconds = sub.varint();
    } else if (field === 2) {
      expectWire('nanos', wire, 0);
      nanos = sub.varint(); // not | 0: an out-of-range value must be refused, not wrapped
    } else {
      sub.skip(wire);
    }
  }
  if (sub.pos !== end) throw corrupt('field overruns its message');
  r.pos = end;
  return [seconds, nanos];
}

function copyBytes(buf: Buffer, start: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(buf.subarray(start, start + len));
  return out;
}

/**
 * The position after the last varint read by {@link varintAt} (a module variable rather than a
 * result object: decoding an event allocates nothing but the event).
 */
let next = 0;

/** Reads the varint at `pos` (before `end`); the position after it is left in `next`. */
function varintAt(buf: Uint8Array, pos: number, end: number): number {
  // Up to 7 bytes (< 2^49: ids, lengths, Timestamp seconds and nanos) in arithmetic; longer ones
  // (negative int64s) and truncated ones go to the Reader, which checks everything.
  let value = 0;
  let scale = 1;
  for (let p = pos; p < end && p < pos + 7; p++) {
    const b = buf[p] as number;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      next = p + 1;
      return value;
    }
    scale *= 128;
  }
  const r = new Reader(buf as Buffer, pos, end);
  const v = r.varint();
  next = r.pos;
  return v;
}

/** The end of the length-delimited value whose length varint is at `pos`; it starts at `next`. */
function delimitedAt(buf: Uint8Array, pos: number, end: number): number {
  const len = varintAt(buf, pos, end);
  if (len < 0 || next + len > end) throw corrupt('truncated length-delimited field');
  return next + len;
}

/**
 * The text of UTF-8 bytes [start, end). Short ASCII text (ids, short foreign ids) is built here:
 * Buffer's toString costs more than the string itself at these lengths. Up to 12 characters V8
 * keeps such a concatenation flat (longer ones would become chains of cons strings).
 */
function textAt(buf: Buffer, start: number, end: number): string {
  if (end - start > 12) return buf.toString('utf8', start, end);
  let out = '';
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (c >= 0x80) return buf.toString('utf8', start, end);
    out += String.fromCharCode(c);
  }
  return out;
}

/** Skips the value of a field of wire type `wire` at `pos`; returns the position after it. */
function skipAt(buf: Buffer, pos: number, end: number, wire: number): number {
  const r = new Reader(buf, pos, end);
  r.skip(wire);
  return r.pos;
}

/** The nanos of the Timestamp last read by {@link timestampSecondsAt}. */
let timestampNanos = 0;

/**
 * The seconds of the Timestamp body in [pos, end), its nanos left in `timestampNanos`; refused
 * beyond what a Date holds.
 */
function timestampSecondsAt(buf: Buffer, pos: number, end: number): number {
  let seconds = 0;
  let nanos = 0;
  let p = pos;
  while (p < end) {
    const tag = tagOf(varintAt(buf, p, end));
    p = next;
    const wire = tag & 7;
    const field = tag >>> 3;
    if (field === 1) {
      expectWire('seconds', wire, 0);
      seconds = varintAt(buf, p, end);
      p = next;
    } else if (field === 2) {
      expectWire('nanos', wire, 0);
      nanos = varintAt(buf, p, end);
      p = next;
    } else {
      p = skipAt(buf, p, end, wire);
    }
  }
  if (p !== end) throw corrupt('field overruns its message');
  if (!(nanos >= 0 && nanos < 1e9)) throw corrupt(`timestamp nanos ${nanos} outside [0, 1e9)`);
  const ms = seconds * 1000 + Math.floor(nanos / 1e6);
  if (!(Math.abs(ms) <= maxDateMs))
    throw corrupt(`timestamp of ${seconds} s beyond a Date's range`);
  timestampNanos = nanos;
  return seconds;
}

/** Microseconds since the epoch of (seconds, nanos): exact, nanos below a microsecond dropped. */
function microsOf(seconds: number, nanos: number): bigint {
  const us = Math.floor(nanos / 1000);
  const n = seconds * 1e6 + us;
  return Number.isSafeInteger(n) ? BigInt(n) : BigInt(seconds) * 1_000_000n + BigInt(us);
}

/**
 * Decodes a `reflexpb.Event`. Unknown fields are skipped (a newer writer may add some); malformed
 * bytes throw an `ERR_REFLEX_INVALID_ARGUMENT` error. `metadata`/`trace` are absent when empty,
 * as proto3 cannot tell empty from unset.
 */
export function decodeEvent(buf: Buffer): Event {
  return decodeEventAt(buf, 0, buf.length);
}

/** {@link decodeEvent} of the message in `buf` from `start` to `end`, without slicing it out. */
export function decodeEventAt(buf: Buffer, start: number, end: number): Event {
  let type = 0;
  let seconds = 0;
  let nanos = 0;
  let foreignId = '';
  let id = '';
  let metadata: Uint8Array | undefined;
  let trace: Uint8Array | undefined;
  let p = start;
  while (p < end) {
    const tag = tagOf(varintAt(buf, p, end));
    p = next;
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 3:
        expectWire('type', wire, 0);
        type = varintAt(buf, p, end) | 0;
        p = next;
        break;
      case 4: {
        expectWire('timestamp', wire, 2);
        const to = delimitedAt(buf, p, end);
        seconds = timestampSecondsAt(buf, next, to);
        nanos = timestampNanos;
        p = to;
        break;
      }
      case 5: {
        expectWire('foreign_id', wire, 2);
        const to = delimitedAt(buf, p, end);
        foreignId = textAt(buf, next, to);
        p = to;
        break;
      }
      case 6: {
        expectWire('id', wire, 2);
        const to = delimitedAt(buf, p, end);
        id = textAt(buf, next, to);
        p = to;
        break;
      }
      case 7: {
        expectWire('metadata', wire, 2);
        const to = delimitedAt(buf, p, end);
        metadata = to === next ? undefined : copyBytes(buf, next, to - next);
        p = to;
        break;
      }
      case 8: {
        expectWire('trace', wire, 2);
        const to = delimitedAt(buf, p, end);
        trace = to === next ? undefined : copyBytes(buf, next, to - next);
        p = to;
        break;
      }
      case 0:
        throw corrupt('field number 0');
      default:
        p = skipAt(buf, p, end, wire);
    }
  }
  if (p !== end) throw corrupt('field overruns its message');
  const timestamp = new Date(seconds * 1000 + Math.floor(nanos / 1e6));
  const timestampUs = microsOf(seconds, nanos);
  if (metadata === undefined && trace === undefined) {
    return { id, type, foreignId, timestamp, timestampUs };
  }
  const event: { -readonly [K in keyof Event]: Event[K] } = {
    id,
    type,
    foreignId,
    timestamp,
    timestampUs,
  };
  if (metadata !== undefined) event.metadata = metadata;
  if (trace !== undefined) event.trace = trace;
  return event;
}

function decodeOptions(
  r: Reader,
  len: number,
  out: { -readonly [K in keyof StreamRequestMessage]: StreamRequestMessage[K] },
): void {
  const end = r.pos + len;
  const sub = new Reader(r.buf, r.pos, end);
  while (sub.pos < end) {
    const tag = tagOf(sub.varint());
    const wire = tag & 7;
    const field = tag >>> 3;
    if (field === 1) {
      expectWire('options.lag', wire, 2);
      const [s, n] = readSecondsNanos(sub, sub.delimited());
      const lag = s * 1000 + n / 1e6;
      if (!Number.isFinite(lag) || lag < 0 || n < 0 || n >= 1e9) {
        throw new ReflexError(
          ErrorCode.invalidArgument,
          `stream option lag must be ≥ 0, got ${s}s ${n}ns`,
        );
      }
      if (lag > 0) out.lagMs = lag;
    } else if (field === 2 || field === 4) {
      expectWire(field === 2 ? 'options.fromHead' : 'options.toHead', wire, 0);
      const v = sub.varint() !== 0;
      if (v) {
        if (field === 2) out.fromHead = true;
        else out.toHead = true;
      }
    } else {
      // Refused rather than ignored: a server that silently ignores an option it does not know
      // would stream something else than what the client asked for.
      throw new ReflexError(ErrorCode.invalidArgument, `unknown stream option field ${field}`);
    }
  }
  if (sub.pos !== end) throw corrupt('options overrun their message');
  r.pos = end;
}

/**
 * Decodes a `reflexpb.StreamRequest`. Malformed bytes, the reserved field 1 (the old int cursor) and
 * unknown options are `ERR_REFLEX_INVALID_ARGUMENT` errors.
 */
export function decodeStreamRequest(buf: Buffer): StreamRequestMessage {
  const r = new Reader(buf, 0, buf.length);
  const out: { -readonly [K in keyof StreamRequestMessage]: StreamRequestMessage[K] } = {
    after: '',
  };
  while (r.pos < r.end) {
    const tag = tagOf(r.varint());
    const wire = tag & 7;
    const field = tag >>> 3;
    if (field === 2) {
      expectWire('options', wire, 2);
      decodeOptions(r, r.delimited(), out);
    } else if (field === 3) {
      expectWire('after', wire, 2);
      const len = r.delimited();
      out.after = buf.toString('utf8', r.pos, r.pos + len);
      r.pos += len;
    } else if (field === 1) {
      throw new ReflexError(
        ErrorCode.invalidArgument,
        'stream request field 1 (the old int cursor) is no longer supported: send after',
      );
    } else if (field === 0) {
      throw corrupt('field number 0');
    } else {
      throw new ReflexError(ErrorCode.invalidArgument, `unknown stream request field ${field}`);
    }
  }
  if (r.pos !== r.end) throw corrupt('field overruns its message');
  return out;
}
