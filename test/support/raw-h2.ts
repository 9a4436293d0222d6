// A hand-driven HTTP/2 client for hostile-client tests: it writes frames itself (HEADERS without a
// body, RST_STREAM right after a request, more streams than SETTINGS allow), which node:http2's
// client never does, and records the frames the server sends back.
import { connect, type Socket } from 'node:net';
import { encodeStreamRequest, frame } from '../../src/grpc/codec.js';

export const FrameType = { data: 0, headers: 1, rstStream: 3, settings: 4, ping: 6, goaway: 7 };
const endStream = 0x1;
const endHeaders = 0x4;
const ack = 0x1;

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

function frameBytes(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an n-bit prefix. */
function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** Literal header fields without indexing, new names, no Huffman: the simplest valid HPACK. */
function hpack(headers: [string, string][]): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    out.push(0);
    const n = Buffer.from(name);
    const v = Buffer.from(value);
    out.push(...hpackInt(n.length, 7, 0), ...n, ...hpackInt(v.length, 7, 0), ...v);
  }
  return Buffer.from(out);
}

export class RawH2 {
  readonly socket: Socket;
  readonly frames: Frame[] = [];
  closed = false;
  #buf = Buffer.alloc(0);
  #nextId = 1;

  private constructor(socket: Socket, ackPings: boolean) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, chunk]);
      while (this.#buf.length >= 9) {
        const len = this.#buf.readUIntBE(0, 3);
        if (this.#buf.length < 9 + len) break;
        const f: Frame = {
          type: this.#buf[3] as number,
          flags: this.#buf[4] as number,
          streamId: this.#buf.readUInt32BE(5) & 0x7fffffff,
          payload: this.#buf.subarray(9, 9 + len),
        };
        this.#buf = this.#buf.subarray(9 + len);
        this.frames.push(f);
        if (f.type === FrameType.settings && (f.flags & ack) === 0) {
          socket.write(frameBytes(FrameType.settings, ack, 0, Buffer.alloc(0)));
        }
        if (ackPings && f.type === FrameType.ping && (f.flags & ack) === 0) {
          socket.write(frameBytes(FrameType.ping, ack, 0, f.payload));
        }
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  /**
   * Connects and sends the preface; `preface: false` sends nothing at all. `from` is the local
   * address (another loopback address, e.g. 127.0.0.2, stands for another host).
   */
  static connect(
    port: number,
    options: { preface?: boolean; ackPings?: boolean; from?: string } = {},
  ): Promise<RawH2> {
    return new Promise((resolve, reject) => {
      const at = { port, host: '127.0.0.1', localAddress: options.from ?? '127.0.0.1' };
      const socket = connect(at, () => {
        const c = new RawH2(socket, options.ackPings ?? true);
        if (options.preface !== false) {
          socket.write(
            Buffer.concat([
              Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
              frameBytes(FrameType.settings, 0, 0, Buffer.alloc(0)),
            ]),
          );
        }
        resolve(c);
      });
      socket.once('error', reject);
    });
  }

  /** The HEADERS frame of a gRPC call (and its request, when `request` is given) as bytes. */
  callBytes(
    path: string,
    options: { after?: string; body?: boolean; toHead?: boolean; extra?: [string, string][] } = {},
  ): { id: number; bytes: Buffer } {
    const id = this.#nextId;
    this.#nextId += 2;
    const block = hpack([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', path],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ...(options.extra ?? []),
    ]);
    const parts = [frameBytes(FrameType.headers, endHeaders, id, block)];
    if (options.body !== false) {
      // toHead: a call that is served ends by itself.
      const body = frame(
        encodeStreamRequest({ after: options.after ?? '', toHead: options.toHead ?? true }),
      );
      parts.push(frameBytes(FrameType.data, endStream, id, body));
    }
    return { id, bytes: Buffer.concat(parts) };
  }

  /** A PING (not an ack) carrying 8 bytes of `data`, as bytes. */
  static pingBytes(data: string): Buffer {
    return frameBytes(FrameType.ping, 0, 0, Buffer.from(data.padEnd(8).slice(0, 8)));
  }

  /** Whether the server acknowledged a PING that carried `data`. */
  pingAcked(data: string): boolean {
    const payload = Buffer.from(data.padEnd(8).slice(0, 8));
    return this.frames.some(
      (f) => f.type === FrameType.ping && (f.flags & ack) !== 0 && f.payload.equals(payload),
    );
  }

  /** Whether the server sent anything at all (its SETTINGS come first on a served connection). */
  get heard(): boolean {
    return this.frames.length > 0;
  }

  /** RST_STREAM CANCEL for a stream, as bytes. */
  static rstBytes(id: number): Buffer {
    const code = Buffer.alloc(4);
    code.writeUInt32BE(8);
    return frameBytes(FrameType.rstStream, 0, id, code);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** RST_STREAM codes the server sent, by stream id. */
  resets(): Map<number, number> {
    const out = new Map<number, number>();
    for (const f of this.frames) {
      if (f.type === FrameType.rstStream) out.set(f.streamId, f.payload.readUInt32BE(0));
    }
    return out;
  }

  /** The server's GOAWAY, if it sent one: its error code and debug data. */
  goaway(): { code: number; debug: string } | undefined {
    const f = this.frames.find((x) => x.type === FrameType.goaway);
    return f === undefined
      ? undefined
      : { code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString() };
  }

  /** True once the server ended the stream (HEADERS or DATA with END_STREAM, or RST_STREAM). */
  ended(id: number): boolean {
    return this.frames.some(
      (f) =>
        f.streamId === id &&
        (f.type === FrameType.rstStream ||
          ((f.type === FrameType.headers || f.type === FrameType.data) &&
            (f.flags & endStream) !== 0)),
    );
  }

  destroy(): void {
    this.socket.destroy();
  }
}
