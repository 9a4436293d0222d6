// The hand-written codec against protobufjs (through @grpc/proto-loader) loading src/grpc/reflex.proto:
// two independent implementations must agree byte for byte on what they read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import type { Event } from '../../src/core/index.js';
import {
  decodeEvent,
  decodeEventAt,
  decodeStreamRequest,
  encodeEvent,
  encodeStreamRequest,
  FrameWriter,
} from '../../src/grpc/codec.js';
import { asReceived } from '../support/events.js';

const protoPath = fileURLToPath(new URL('../../../src/grpc/reflex.proto', import.meta.url));
const defs = loadSync(protoPath, { keepCase: true, longs: Number, defaults: false });
const stream = (defs['reflexpb.Reflex'] as Record<string, MethodDefinition<object, object>>)
  .Stream as MethodDefinition<object, object>;

interface PbEvent {
  type?: number;
  timestamp?: { seconds?: number; nanos?: number };
  foreign_id?: string;
  id?: string;
  metadata?: Buffer;
  trace?: Buffer;
}

/** Events as sources without an exact time give them (a Date only). */
const dated: Event[] = [
  { id: '1', type: 1, foreignId: 'f1', timestamp: new Date(Date.UTC(2026, 0, 1, 12, 0, 0, 123)) },
  { id: '', type: 0, foreignId: '', timestamp: new Date(0) },
  { id: '9223372036854775807', type: -5, foreignId: 'ünïcødé ✓', timestamp: new Date(-1500) },
  {
    id: '42',
    type: 2147483647,
    foreignId: 'x'.repeat(300),
    timestamp: new Date(Date.UTC(1, 0, 1)),
    metadata: new Uint8Array([0, 1, 2, 255]),
    trace: new Uint8Array(200).fill(7),
  },
  // Short text takes a fast path when ASCII: a short non-ASCII one and a 13-character ASCII one.
  { id: 'é1', type: 3, foreignId: 'ñ', timestamp: new Date(1_700_000_000_001) },
  { id: '1234567890123', type: 300, foreignId: 'abcdefghijklm', timestamp: new Date(999) },
  {
    id: '7',
    type: -2147483648,
    foreignId: 'f',
    timestamp: new Date(8.64e15),
    metadata: new Uint8Array(70000).fill(3),
  },
];

/** The same events with their exact time, as a client decodes them (and SQL streams give them). */
const events: Event[] = dated.map(asReceived);

/** The varint of `v` (a negative one as its 64-bit two's complement, as protobuf does). */
function varint(v: bigint): number[] {
  let x = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (x > 0x7fn) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

/** An Event message holding only a Timestamp of (seconds, nanos), each sent even when zero. */
function eventWithTimestamp(seconds: bigint, nanos: bigint): Buffer {
  const body = [0x08, ...varint(seconds), 0x10, ...varint(nanos)];
  return Buffer.from([0x22, body.length, ...body, 0x32, 0x01, 0x31]);
}

describe('grpc codec', () => {
  it('encodes events that protobufjs decodes to the same fields', () => {
    for (const e of events) {
      const pb = stream.responseDeserialize(encodeEvent(e)) as PbEvent;
      assert.equal(pb.type ?? 0, e.type);
      assert.equal(pb.id ?? '', e.id);
      assert.equal(pb.foreign_id ?? '', e.foreignId);
      const ms = (pb.timestamp?.seconds ?? 0) * 1000 + (pb.timestamp?.nanos ?? 0) / 1e6;
      assert.equal(ms, e.timestamp.getTime());
      assert.deepEqual(new Uint8Array(pb.metadata ?? []), e.metadata ?? new Uint8Array());
      assert.deepEqual(new Uint8Array(pb.trace ?? []), e.trace ?? new Uint8Array());
    }
  });

  it('decodes what protobufjs encodes, and round-trips its own encoding', () => {
    for (const e of events) {
      const ms = e.timestamp.getTime();
      const seconds = Math.floor(ms / 1000);
      const bytes = stream.responseSerialize({
        type: e.type,
        timestamp: { seconds, nanos: (ms - seconds * 1000) * 1e6 },
        foreign_id: e.foreignId,
        id: e.id,
        metadata: e.metadata === undefined ? undefined : Buffer.from(e.metadata),
        trace: e.trace === undefined ? undefined : Buffer.from(e.trace),
      });
      assert.deepEqual(decodeEvent(bytes), e);
      assert.deepEqual(decodeEvent(encodeEvent(e)), e);
    }
    // An event with a Date only is sent as that Date and comes back with its exact time.
    for (const e of dated) assert.deepEqual(decodeEvent(encodeEvent(e)), asReceived(e));
  });

  it('carries microseconds exactly both ways (timestampUs ↔ seconds + nanos)', () => {
    const cases: [bigint, number, number][] = [
      [1_796_455_317_671_234n, 1_796_455_317, 671_234_000],
      [1n, 0, 1000],
      [-1n, -1, 999_999_000],
      [-1_500_001n, -2, 499_999_000],
      [8_640_000_000_000_000_000n, 8_640_000_000_000, 0], // beyond 2^53 µs: the bigint path
      [-8_639_999_999_999_999_999n, -8_640_000_000_000, 1000],
    ];
    for (const [us, seconds, nanos] of cases) {
      const e: Event = {
        id: '1',
        type: 1,
        foreignId: 'f',
        timestamp: new Date(Number(us / 1000n) - (us < 0n && us % 1000n !== 0n ? 1 : 0)),
        timestampUs: us,
      };
      const pb = stream.responseDeserialize(encodeEvent(e)) as PbEvent;
      assert.deepEqual(
        [pb.timestamp?.seconds ?? 0, pb.timestamp?.nanos ?? 0],
        [seconds, nanos],
        String(us),
      );
      const back = decodeEvent(encodeEvent(e));
      assert.equal(back.timestampUs, us);
      assert.equal(back.timestamp.getTime(), e.timestamp.getTime(), String(us));
    }
    // What a Go server sends: nanos of a microsecond time; finer nanos are dropped from timestampUs.
    const bytes = stream.responseSerialize({
      id: '2',
      timestamp: { seconds: 1_796_455_317, nanos: 671_234_567 },
    });
    const e = decodeEvent(bytes);
    assert.equal(e.timestampUs, 1_796_455_317_671_234n);
    assert.equal(e.timestamp.getTime(), 1_796_455_317_671);
    // A timestampUs that is not a bigint, or beyond a Date, is refused naming the event.
    const w = new FrameWriter(256);
    const base = { id: 'x-9', type: 1, foreignId: 'f', timestamp: new Date(0) };
    for (const bad of [
      { ...base, timestampUs: 5 as unknown as bigint },
      { ...base, timestampUs: 2n ** 80n },
    ]) {
      assert.throws(
        () => w.append(bad),
        (err: unknown) =>
          (err as { code?: string }).code === 'ERR_REFLEX_INVALID_ARGUMENT' &&
          String(err).includes('x-9'),
      );
      assert.equal(w.length, 0);
    }
  });

  it('frames a batch of events back to back', () => {
    const w = new FrameWriter(128);
    assert.equal(w.append(events[0] as Event), true);
    assert.equal(w.append(events[3] as Event), false, 'too big after the first: take first');
    const first = w.take();
    assert.equal(first.readUInt32BE(1), first.length - 5);
    assert.equal(w.append(events[3] as Event), true, 'an empty writer grows for a big event');
    const big = w.take();
    assert.deepEqual(decodeEvent(big.subarray(5)), events[3]);
  });

  it('decodes each frame of a batch in place, from its offsets', () => {
    const w = new FrameWriter(4096);
    const batch = events.slice(0, 3).concat(events.slice(4, 6));
    for (const e of batch) assert.equal(w.append(e), true);
    const bytes = w.take();
    const decoded: Event[] = [];
    for (let p = 0; p < bytes.length; ) {
      const len = bytes.readUInt32BE(p + 1);
      decoded.push(decodeEventAt(bytes, p + 5, p + 5 + len));
      p += 5 + len;
    }
    assert.deepEqual(decoded, batch);
    // A varint cut short at the end of its frame is refused, not read from the next frame.
    assert.throws(() => decodeEventAt(Buffer.from([0x18, 0x80, 0x18, 0x01]), 0, 2), {
      code: 'ERR_REFLEX_INVALID_ARGUMENT',
    });
  });

  it('encodes stream requests as protobufjs reads them; zero lag is dropped', () => {
    const cases = [
      { after: '', lagMs: 0 },
      { after: '123', lagMs: 1500, fromHead: false, toHead: true },
      { after: '', fromHead: true },
      { after: 'ünï', lagMs: 0.25 },
    ];
    for (const c of cases) {
      const pb = stream.requestDeserialize(encodeStreamRequest(c)) as {
        after?: string;
        options?: {
          lag?: { seconds?: number; nanos?: number };
          fromHead?: boolean;
          toHead?: boolean;
        };
      };
      assert.equal(pb.after ?? '', c.after);
      const lag = pb.options?.lag;
      if ((c.lagMs ?? 0) === 0) assert.equal(lag, undefined);
      else assert.equal((lag?.seconds ?? 0) * 1000 + (lag?.nanos ?? 0) / 1e6, c.lagMs);
      assert.equal(pb.options?.fromHead ?? false, c.fromHead ?? false);
      assert.equal(pb.options?.toHead ?? false, c.toHead ?? false);
      const back = decodeStreamRequest(encodeStreamRequest(c));
      assert.equal(back.after, c.after);
      assert.equal(back.lagMs ?? 0, c.lagMs ?? 0);
    }
    const fromPb = decodeStreamRequest(
      stream.requestSerialize({
        after: '5',
        options: { lag: { seconds: 2, nanos: 500_000_000 }, toHead: true },
      }),
    );
    assert.deepEqual(fromPb, { after: '5', lagMs: 2500, toHead: true });
  });

  it('refuses corrupt requests, the old int cursor and unknown options as invalid arguments', () => {
    const bad = [
      Buffer.from([0x1a, 0x05, 0x61]), // after: length past the end
      Buffer.from([0x08, 0x01]), // reserved field 1 (old int cursor)
      Buffer.from([0x12, 0x02, 0x18, 0x01]), // options field 3 (reserved)
      Buffer.from([0x12, 0x02, 0x28, 0x01]), // options field 5 (unknown)
      Buffer.from([0x3a, 0x00]), // unknown request field 7
      Buffer.from([0x1a]), // truncated tag value
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // endless varint
      Buffer.from([0x1f]), // wire type 7
      Buffer.from([0x18, 0x01]), // after as a varint (wrong wire type)
    ];
    for (const b of bad) {
      assert.throws(
        () => decodeStreamRequest(b),
        { code: 'ERR_REFLEX_INVALID_ARGUMENT' },
        b.toString('hex'),
      );
    }
  });

  it('skips unknown event fields and refuses malformed events', () => {
    const e = events[0] as Event;
    const withUnknown = Buffer.concat([
      encodeEvent(e),
      Buffer.from([0x48, 0x05, 0x52, 0x01, 0x61]),
    ]);
    assert.deepEqual(decodeEvent(withUnknown), e);
    assert.throws(() => decodeEvent(Buffer.from([0x32, 0x10, 0x41])), {
      code: 'ERR_REFLEX_INVALID_ARGUMENT',
    });
    assert.throws(() => decodeEvent(Buffer.from([0x18])), { code: 'ERR_REFLEX_INVALID_ARGUMENT' });
  });

  it('refuses an invalid timestamp before writing anything, naming the event', () => {
    const w = new FrameWriter(4096);
    const first = events[0] as Event;
    assert.equal(w.append(first), true);
    const before = w.length;
    const bad: Event[] = [
      { id: 'nan-1', type: 1, foreignId: 'f', timestamp: new Date(Number.NaN) },
      { id: 'big-2', type: 1, foreignId: 'f', timestamp: { getTime: () => 9e15 } as Date },
      { id: 'neg-3', type: 1, foreignId: 'f', timestamp: { getTime: () => -8.64e15 - 1 } as Date },
    ];
    for (const e of bad) {
      assert.throws(
        () => w.append(e),
        (err: unknown) =>
          (err as { code?: string }).code === 'ERR_REFLEX_INVALID_ARGUMENT' &&
          String(err).includes(e.id),
        e.id,
      );
      assert.equal(w.length, before, `${e.id}: nothing written`);
    }
    // The batch goes on intact after the refusals.
    const last = events[2] as Event;
    assert.equal(w.append(last), true);
    const bytes = w.take();
    const decoded: Event[] = [];
    for (let p = 0; p < bytes.length; ) {
      const len = bytes.readUInt32BE(p + 1);
      decoded.push(decodeEventAt(bytes, p + 5, p + 5 + len));
      p += 5 + len;
    }
    assert.deepEqual(decoded, [first, last]);
    // The bounds of a Date are fine.
    for (const ms of [8.64e15, -8.64e15]) {
      const e: Event = { id: '1', type: 1, foreignId: '', timestamp: new Date(ms) };
      assert.deepEqual(decodeEvent(encodeEvent(e)), asReceived(e));
    }
  });

  it('refuses timestamps with nanos outside [0, 1e9) or beyond the range of a Date', () => {
    assert.deepEqual(decodeEvent(eventWithTimestamp(1n, 999_999_999n)).timestamp.getTime(), 1999);
    assert.equal(
      decodeEvent(eventWithTimestamp(-8_640_000_000_000n, 0n)).timestamp.getTime(),
      -8.64e15,
    );
    const bad: [bigint, bigint][] = [
      [1n, -1n], // negative nanos (a 10-byte varint)
      [1n, 1_000_000_000n],
      [1n, 2n ** 32n + 5n], // wrapped to 5 by | 0 before
      [8_640_000_000_001n, 0n],
      [-8_640_000_000_001n, 0n],
      [2n ** 62n, 0n],
    ];
    for (const [seconds, nanos] of bad) {
      assert.throws(
        () => decodeEvent(eventWithTimestamp(seconds, nanos)),
        { code: 'ERR_REFLEX_INVALID_ARGUMENT' },
        `${seconds}s ${nanos}ns`,
      );
    }
    // A lag Duration's nanos are not wrapped either.
    const lag = [0x08, 0x01, 0x10, ...varint(2n ** 32n + 5n)];
    const options = [0x0a, lag.length, ...lag];
    assert.throws(() => decodeStreamRequest(Buffer.from([0x12, options.length, ...options])), {
      code: 'ERR_REFLEX_INVALID_ARGUMENT',
    });
  });

  it('refuses field tags of 2^32 and more (they wrapped onto other fields)', () => {
    // 2^32 + 0x32 wrapped to field 6 (id), wire type 2; 2^35 + 0x18 to field 3 (type).
    const wrappedId = Buffer.from([...varint(2n ** 32n + 0x32n), 0x01, 0x31]);
    const wrappedType = Buffer.from([...varint(2n ** 35n + 0x18n), 0x05]);
    const negative = Buffer.from([...varint(-1n), 0x00]);
    for (const b of [wrappedId, wrappedType, negative]) {
      assert.throws(
        () => decodeEvent(b),
        { code: 'ERR_REFLEX_INVALID_ARGUMENT' },
        b.toString('hex'),
      );
      assert.throws(
        () => decodeStreamRequest(b),
        { code: 'ERR_REFLEX_INVALID_ARGUMENT' },
        b.toString('hex'),
      );
    }
    // In a Timestamp: 2^32 + 0x08 wrapped to seconds.
    const ts = [...varint(2n ** 32n + 0x08n), 0x05];
    assert.throws(() => decodeEvent(Buffer.from([0x22, ts.length, ...ts])), {
      code: 'ERR_REFLEX_INVALID_ARGUMENT',
    });
    // The largest tag (field 2^29 - 1, wire type 0) is an unknown field, skipped.
    const largest = Buffer.from([...varint(2n ** 32n - 8n), 0x01, 0x32, 0x01, 0x31]);
    assert.equal(decodeEvent(largest).id, '1');
  });

  it('take() hands out the bytes in a buffer of their size and reuses its own', () => {
    const w = new FrameWriter(64 * 1024);
    const small = events[0] as Event;
    const big = events[6] as Event; // 70,000 B of metadata: larger than the capacity
    assert.equal(w.append(small), true);
    const a = w.take();
    // Not a view of the 64 KiB buffer: a queued write of one event holds about its own size.
    assert.ok(a.buffer.byteLength <= Buffer.poolSize, `holds ${a.buffer.byteLength} B`);
    assert.equal(w.length, 0);
    assert.equal(w.append(events[2] as Event), true, 'written over the reused buffer');
    const b = w.take();
    assert.deepEqual(decodeEvent(a.subarray(5)), small, 'a taken batch is not overwritten');
    assert.deepEqual(decodeEvent(b.subarray(5)), events[2]);
    assert.equal(w.append(big), true);
    assert.equal(w.append(small), false, 'the buffer of the big event holds nothing more');
    const c = w.take();
    assert.deepEqual(decodeEvent(c.subarray(5)), big);
    assert.equal(w.append(small), true, 'back to the reused buffer');
    assert.deepEqual(decodeEvent(w.take().subarray(5)), small);
    assert.deepEqual(decodeEvent(c.subarray(5)), big);
  });
});
