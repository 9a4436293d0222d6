// One call on the server: its response (headers once, then data, then trailers), why it was cut
// short, and the reading of its request. A call reset by its client before its source opened is
// the rapid-reset attack's unit of work, and a call that never sends its request the unit of a
// memory attack, so until its request is read a call holds as little as it can: one object, the
// listeners shared by every call (no closure, promise or timer of its own), no AbortController
// (made on demand), no error with a stack, no log line.
import { constants as h2, type ServerHttp2Stream } from 'node:http2';
import { ErrorCode, ReflexError } from '../core/index.js';
import type { LongTimer } from '../internal/timers.js';
import { decodeStreamRequest, type StreamRequestMessage } from './codec.js';
import type { GrpcStatus } from './status.js';
import { statusHeaders } from './status.js';

/** The largest request accepted (a StreamRequest is a cursor and three options). */
const maxRequestBytes = 64 * 1024;

/** The client's own cancellation: its stack says nothing, and a flood would pay for one per stream. */
function cancelledError(): ReflexError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new ReflexError(ErrorCode.canceled, 'call cancelled by the client');
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** What a call reports to its server. */
export interface CallOwner {
  /**
   * The call's request was read (`request`), or the call ended before: with `err` (a request too
   * large or malformed, or the call's abort reason), or with neither when its stream closed.
   */
  requestRead(call: Call, request: StreamRequestMessage | undefined, err?: unknown): void;
}

/** The connection's guard, as far as a call is concerned. */
export interface CallGuard {
  /** False once the connection goes away. */
  readonly accepting: boolean;
  /** The client reset a call before the server ended it. */
  countReset(): void;
  callEnded(): void;
}

/** The calls of streams, for the listeners shared by every call. */
const calls = new WeakMap<ServerHttp2Stream, Call>();

function onStreamClose(this: ServerHttp2Stream): void {
  calls.get(this)?.streamClosed();
}

function onRequestData(this: ServerHttp2Stream, chunk: Buffer): void {
  calls.get(this)?.requestData(chunk);
}

function onRequestEnd(this: ServerHttp2Stream): void {
  calls.get(this)?.requestEnd();
}

/** The stream can still carry a response: not reset, not closed, not destroyed. */
export function alive(stream: ServerHttp2Stream): boolean {
  return !stream.destroyed && !stream.closed;
}

export class Call {
  readonly stream: ServerHttp2Stream;
  /** The full method, `/package.Service/Method`. */
  readonly path: string;
  /** Its connection's guard: counts the call's reset (when its client resets it before the server ended it) and its end. */
  readonly guard: CallGuard | undefined;
  /** When the call was accepted (performance.now()), for its request timeout. */
  readonly acceptedAt: number;
  /** The client's deadline (grpc-timeout), armed while the call lives. */
  deadline: LongTimer | undefined;
  /** Events handed to the transport on this call. */
  sentEvents = 0;
  #responded = false;
  #ended = false;
  #aborted = false;
  /** Aborted by its stream's close (its reason, ERR_REFLEX_CANCELED, is made when asked for). */
  #closed = false;
  #reason: unknown;
  #controller: AbortController | undefined;
  /** Who waits for the request, while it is being read. */
  #owner: CallOwner | undefined;
  /** The request's bytes so far, and its grpc-encoding header (for the error it may deserve). */
  #chunks: Buffer[] | undefined;
  #size = 0;
  #encoding: string | undefined;

  constructor(
    stream: ServerHttp2Stream,
    path: string,
    guard: CallGuard | undefined,
    acceptedAt: number,
  ) {
    this.stream = stream;
    this.path = path;
    this.guard = guard;
    this.acceptedAt = acceptedAt;
    calls.set(stream, this);
    stream.once('close', onStreamClose);
  }

  /** The server ended the call (a status or an HTTP error went out). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Aborted: closed by the client, timed out, or the server stopping. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Aborted because its stream closed (the client reset it, or its connection went). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Why the call was aborted (ERR_REFLEX_CANCELED when its stream closed). */
  get reason(): unknown {
    if (this.#closed && this.#reason === undefined) this.#reason = cancelledError();
    return this.#reason;
  }

  /** Aborts when the call does; made on first use, so calls that never get this far have none. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }

  /** Ends the call's work with `reason`; the first reason wins. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    if (this.#controller !== undefined) this.#controller.abort(reason);
    this.#requestDone(undefined, reason);
  }

  /** Ends the call's work because its stream closed (reset by the client, or its connection gone). */
  streamClosed(): void {
    if (this.stream.rstCode !== h2.NGHTTP2_NO_ERROR && !this.#ended) this.guard?.countReset();
    if (this.#aborted) return;
    this.#aborted = true;
    this.#closed = true;
    if (this.#controller !== undefined) this.#controller.abort(this.reason);
    this.#requestDone(undefined, undefined);
  }

  /**
   * Reads the call's one request message; `owner.requestRead` runs once, when it is read or the
   * call ended first. It waits with the shared listeners alone: a call waiting for its request (a
   * client may hold thousands) holds no promise, closure or timer.
   */
  readRequest(owner: CallOwner, encoding: string | undefined): void {
    if (this.#aborted) {
      owner.requestRead(this, undefined, this.#closed ? undefined : this.#reason);
      return;
    }
    this.#owner = owner;
    this.#encoding = encoding;
    this.stream.on('data', onRequestData);
    this.stream.on('end', onRequestEnd);
  }

  /** A chunk of the request (from the shared 'data' listener). */
  requestData(chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#chunks === undefined) this.#chunks = [chunk];
    else this.#chunks.push(chunk);
    if (this.#size > maxRequestBytes) {
      this.#requestDone(
        undefined,
        new ReflexError(
          ErrorCode.invalidArgument,
          `stream request larger than ${maxRequestBytes} bytes`,
        ),
      );
    }
  }

  /** The client ended its side (from the shared 'end' listener). */
  requestEnd(): void {
    let request: StreamRequestMessage;
    try {
      request = parseRequest(this.#chunks ?? [], this.#encoding);
    } catch (err) {
      this.#requestDone(undefined, err);
      return;
    }
    this.#requestDone(request, undefined);
  }

  #requestDone(request: StreamRequestMessage | undefined, err: unknown): void {
    const owner = this.#owner;
    if (owner === undefined) return;
    this.#owner = undefined;
    this.#chunks = undefined;
    this.stream.off('data', onRequestData);
    this.stream.off('end', onRequestEnd);
    owner.requestRead(this, request, err);
  }

  respond(): void {
    if (this.#responded || this.stream.destroyed) return;
    this.#responded = true;
    this.stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': 'identity' },
      { waitForTrailers: true },
    );
  }

  httpError(status: number): void {
    if (this.stream.destroyed || this.stream.headersSent) return;
    this.#ended = true;
    this.stream.respond({ ':status': status }, { endStream: true });
    this.#releaseRequest();
  }

  /** Ends the call with a status: trailers after the data, or a trailers-only response. */
  end(status: GrpcStatus): void {
    if (this.#ended || this.stream.destroyed || this.stream.closed) return;
    this.#ended = true;
    const trailers = statusHeaders(status);
    if (!this.#responded) {
      this.#responded = true;
      this.stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', ...trailers },
        { endStream: true },
      );
      this.#releaseRequest();
      return;
    }
    this.stream.once('wantTrailers', () => {
      if (!this.stream.destroyed) this.stream.sendTrailers(trailers);
    });
    this.stream.end();
  }

  /**
   * A response sent before the whole request was read (a refused call, a request that never came):
   * the stream would stay open on the client's side. RST_STREAM NO_ERROR, sent once the response
   * is out, asks the client to stop sending and frees it (RFC 9113, 8.1).
   */
  #releaseRequest(): void {
    if (!this.stream.readableEnded && !this.stream.closed) this.stream.close(h2.NGHTTP2_NO_ERROR);
  }
}

function parseRequest(chunks: Buffer[], encoding: string | undefined): StreamRequestMessage {
  const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  if (body.length < 5 || body.length !== 5 + body.readUInt32BE(1)) {
    throw new ReflexError(ErrorCode.invalidArgument, 'want exactly one stream request message');
  }
  if (body[0] !== 0) {
    throw new ReflexError(
      ErrorCode.invalidArgument,
      `compressed requests are not supported (grpc-encoding ${String(encoding)})`,
    );
  }
  return decodeStreamRequest(body.subarray(5));
}
