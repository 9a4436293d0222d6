import {
  type ClientHttp2Stream,
  constants as h2,
  type IncomingHttpHeaders,
  type SecureClientSessionOptions,
} from 'node:http2';
import {
  ErrorCode,
  type Event,
  ReflexError,
  type StreamCallOptions,
  type StreamClient,
  type StreamFunc,
} from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { checkOptionKeys } from '../internal/options.js';
import { BaseStreamClient } from '../internal/stream-client.js';
import { validateStreamCall } from '../internal/stream-options.js';
import { decodeEventAt, encodeStreamRequest, frame, type StreamRequestMessage } from './codec.js';
import { Connection, type SessionState } from './connection.js';
import { type ClientLimits, clientLimitKeys, resolveClientLimits } from './limits.js';
import { reflexStreamMethod } from './server.js';
import {
  decodeGrpcMessage,
  errorCodeKey,
  errorOfStatus,
  Status,
  statusDetailsKey,
} from './status.js';

/** TLS settings of a client (PEM). */
export interface ClientTlsOptions {
  /** CA certificates to trust for the server's certificate (PEM). @default the system's roots */
  readonly ca?: string | Uint8Array;
  /** A client certificate (PEM), for servers that require one (mutual TLS). */
  readonly cert?: string | Uint8Array;
  /** The key of `cert` (PEM). */
  readonly key?: string | Uint8Array;
  /** The name to check the server's certificate against, when it differs from the address's host. */
  readonly serverName?: string;
}

/** Options of {@link newReflexClient}. */
export interface ReflexClientOptions {
  /** Connect over TLS (`true`: the system's roots); plaintext when absent or false. @default false */
  readonly tls?: ClientTlsOptions | boolean;
  /** Sent as `authorization: Bearer <token>` on every call (use with TLS). */
  readonly token?: string;
  /** Extra request headers sent on every call (lower-case keys; not grpc-* nor connection-specific ones such as connection or upgrade). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * A deadline for every stream, in ms from its opening: the call then ends with
   * `ERR_REFLEX_DEADLINE_EXCEEDED` (the server sees the deadline too). None when absent.
   */
  readonly timeoutMs?: number;
  /** The largest event accepted, in bytes. @default 64 MiB */
  readonly maxEventBytes?: number;
  /**
   * While calls are open, a keepalive PING goes out this often (0: never); doubled for the
   * connection when a server answers GOAWAY "too_many_pings". A Go server enforces 5 min by
   * default: use 300000 or more (or 0) against one. @default 30000
   */
  readonly keepaliveMs?: number;
  /**
   * A PING unanswered this long means the connection is lost: its calls fail with
   * `ERR_REFLEX_UNAVAILABLE` (so `runForever` restarts them). @default 10000
   */
  readonly keepaliveTimeoutMs?: number;
  /** A connection without calls this long is closed (the next call opens a new one). @default 300000 */
  readonly idleTimeoutMs?: number;
}

/** A connection to a gRPC server of reflex streams. */
export interface ReflexClient extends AsyncDisposable {
  /** The server's `reflexpb.Reflex/Stream`, as a StreamFunc. */
  readonly stream: StreamFunc;
  /**
   * Another method served with the reflex message types, e.g. `'example.Events/StreamEvent1'`
   * (a leading `/` is optional).
   */
  streamFunc(method: string): StreamFunc;
  /** Closes the open streams (their `recv` fails with `ERR_REFLEX_CLOSED`) and the connection; refuses new streams. Idempotent. */
  close(): Promise<void>;
}

const knownOptions: readonly string[] = [
  'tls',
  'token',
  'headers',
  'timeoutMs',
  'maxEventBytes',
  ...clientLimitKeys,
];
const methodPattern =
  /^\/?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\/[A-Za-z_][A-Za-z0-9_]*$/;
/** Received bytes a stream holds before it stops reading from the connection. */
const highWaterBytes = 16 * 1024;

/** Connection-specific headers, which HTTP/2 forbids (`te` is allowed only as `trailers`). */
const connectionHeaders = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** grpc-timeout carries at most 8 digits. */
const maxTimeoutMs = 99_999_999;

/**
 * Connects (lazily, at the first stream; again after a disconnection) to a server of reflex
 * streams: a reflex-events server or a Go reflex server. Each stream is one server-streaming
 * call: the options (lag in ms as a proto Duration, fromHead, toHead) travel in the request;
 * aborting the stream's signal or closing it cancels the call. Events are read from the connection
 * only as `recv` asks (plus a 16 KiB buffer), so a slow consumer holds the server back.
 *
 * Errors keep their reflex code across the hop (`isStoppedErr`, `isHeadReachedErr`,
 * `ERR_REFLEX_INVALID_CURSOR`, …); gRPC statuses map to codes too: CANCELLED →
 * `ERR_REFLEX_CANCELED`, DEADLINE_EXCEEDED → `ERR_REFLEX_DEADLINE_EXCEEDED`, UNAVAILABLE (and a
 * lost connection, a keepalive ping unanswered) → `ERR_REFLEX_UNAVAILABLE`, UNAUTHENTICATED,
 * PERMISSION_DENIED, INVALID_ARGUMENT, INTERNAL, UNIMPLEMENTED to theirs, a Go server's stop and
 * head reached to `ERR_REFLEX_STOPPED` / `ERR_REFLEX_HEAD_REACHED`, anything else →
 * `ERR_REFLEX_REMOTE`.
 *
 * @example
 * const client = newReflexClient('orders.internal:9000', { tls: { ca }, token });
 * await run(newSpec(client.stream, cursors, consumer), { signal });
 * await client.close();
 */
export function newReflexClient(address: string, options: ReflexClientOptions = {}): ReflexClient {
  const config = clientConfig(address, options);
  const connection = new Connection(
    `${config.tls === undefined ? 'http' : 'https'}://${address}`,
    connectOptions(config.tls),
    config.limits,
  );
  const streamFunc = (method: string): StreamFunc => remoteStreamFunc(connection, method, config);
  const close = (): Promise<void> => connection.close();
  return {
    stream: streamFunc(reflexStreamMethod),
    streamFunc,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The client's options, checked once. */
interface ClientConfig {
  readonly tls: ClientTlsOptions | undefined;
  /** Sent with every call (token and extra headers). */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number | undefined;
  readonly maxEventBytes: number;
  readonly limits: ClientLimits;
}

function clientConfig(address: string, options: ReflexClientOptions): ClientConfig {
  const parts =
    typeof address === 'string'
      ? /^(\[[0-9a-fA-F:.]+\]|[^/\s:[\]]+):(\d{1,5})$/.exec(address)
      : null;
  if (parts === null || Number(parts[2]) > 65535) {
    throw invalidArgument(
      `address must be "host:port" (an IPv6 host in brackets), got ${JSON.stringify(address)}`,
    );
  }
  if (options === undefined) throw invalidArgument('client options must be an object');
  checkOptionKeys(options, knownOptions, 'client');
  const { timeoutMs, token } = options;
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > maxTimeoutMs)
  ) {
    // grpc-timeout carries at most 8 digits: 99,999,999 ms is about 27.8 hours.
    throw invalidArgument(`timeoutMs must be in (0, ${maxTimeoutMs}] ms, got ${timeoutMs}`);
  }
  if (token !== undefined && (typeof token !== 'string' || token === '' || /[\r\n]/.test(token))) {
    throw invalidArgument('token must be a non-empty string on one line');
  }
  const maxEventBytes = options.maxEventBytes ?? 64 * 1024 * 1024;
  if (!Number.isInteger(maxEventBytes) || maxEventBytes <= 0) {
    throw invalidArgument(`maxEventBytes must be a positive integer, got ${maxEventBytes}`);
  }
  const headers = extraHeaders(options.headers ?? {});
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return {
    tls: options.tls === true ? {} : options.tls === false ? undefined : options.tls,
    headers,
    timeoutMs,
    maxEventBytes,
    limits: resolveClientLimits(options as Readonly<Record<string, unknown>>),
  };
}

/** The user's extra request headers, checked: lower-case, not grpc-*, not connection-specific. */
function extraHeaders(given: Readonly<Record<string, string>>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(given)) {
    if (
      typeof v !== 'string' ||
      !/^[a-z0-9_.-]+$/.test(k) ||
      k.startsWith('grpc-') ||
      /[\r\n]/.test(v)
    ) {
      throw invalidArgument(
        `header ${JSON.stringify(k)} must be a lower-case name (not grpc-*) with a one-line string value`,
      );
    }
    if (connectionHeaders.has(k) || (k === 'te' && v !== 'trailers')) {
      throw invalidArgument(
        `header ${JSON.stringify(k)} is connection-specific, which HTTP/2 forbids (te may only be "trailers")`,
      );
    }
    headers[k] = v;
  }
  return headers;
}

/** A served method as a StreamFunc: each call checks its options and opens one remote stream. */
function remoteStreamFunc(
  connection: Connection,
  method: string,
  config: ClientConfig,
): StreamFunc {
  if (typeof method !== 'string' || !methodPattern.test(method)) {
    throw invalidArgument(
      `method must look like "package.Service/Method", got ${JSON.stringify(method)}`,
    );
  }
  const path = method.startsWith('/') ? method : `/${method}`;
  return (after: string, callOptions?: StreamCallOptions): Promise<StreamClient> => {
    try {
      const o = validateStreamCall(after, callOptions);
      o.signal?.throwIfAborted();
      const request: StreamRequestMessage = {
        after,
        ...(o.lag === undefined ? {} : { lagMs: o.lag }),
        ...(o.fromHead === true ? { fromHead: true } : {}),
        ...(o.toHead === true ? { toHead: true } : {}),
      };
      return Promise.resolve(
        new RemoteStreamClient(connection, path, config.headers, request, {
          maxEventBytes: config.maxEventBytes,
          ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
          ...(o.signal === undefined ? {} : { signal: o.signal }),
        }),
      );
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

function connectOptions(tls: ClientTlsOptions | undefined): SecureClientSessionOptions {
  if (tls === undefined) return {};
  if (typeof tls !== 'object' || tls === null) {
    throw invalidArgument('tls must be an object or a boolean');
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw invalidArgument('tls.cert and tls.key go together');
  }
  return {
    ALPNProtocols: ['h2'],
    ...(tls.ca === undefined ? {} : { ca: Buffer.from(tls.ca) }),
    ...(tls.cert === undefined ? {} : { cert: Buffer.from(tls.cert) }),
    ...(tls.key === undefined ? {} : { key: Buffer.from(tls.key) }),
    ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
  };
}

interface RemoteOptions {
  readonly maxEventBytes: number;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** A gRPC status from HTTP status codes, for responses that are not gRPC (a proxy's error page). */
function statusOfHttp(status: number): number {
  switch (status) {
    case 401:
      return Status.unauthenticated;
    case 403:
      return Status.permissionDenied;
    case 404:
      return Status.unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.unavailable;
    default:
      return Status.unknown;
  }
}

/**
 * One remote stream. Pull-based: frames are decoded only when `recv` asks; past 16 KiB of
 * undecoded bytes the HTTP/2 stream is paused, so its flow-control window stops the server.
 */
class RemoteStreamClient extends BaseStreamClient {
  readonly #connection: Connection;
  readonly #stream: ClientHttp2Stream;
  readonly #maxEventBytes: number;
  readonly #chunks: Buffer[] = [];
  #pos = 0;
  /** Where the message returned by `#nextMessage` starts and ends in its buffer. */
  #msgStart = 0;
  #msgEnd = 0;
  #buffered = 0;
  #paused = false;
  /** A local or transport failure: final at once. */
  #error: ReflexError | undefined;
  /** The server's status (null = OK): final once every byte before it was read. */
  #final: ReflexError | null | undefined;
  #readEnded = false;
  #done = false;
  #released = false;
  /** This side cancelled the call (close, abort, deadline). */
  #cancelled = false;
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #untrack: () => void;

  constructor(
    connection: Connection,
    path: string,
    headers: Record<string, string>,
    request: StreamRequestMessage,
    options: RemoteOptions,
  ) {
    super(options.signal);
    this.#connection = connection;
    this.#untrack = connection.track(this);
    this.#maxEventBytes = options.maxEventBytes;
    let opened: { stream: ClientHttp2Stream; state: SessionState };
    try {
      opened = connection.request({
        ...headers,
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
        'user-agent': 'reflex-events',
        ...(options.timeoutMs === undefined
          ? {}
          : { 'grpc-timeout': `${Math.max(1, Math.ceil(options.timeoutMs))}m` }),
      });
    } catch (err) {
      this.#released = true;
      this.#untrack();
      void super.close(); // detaches from the caller's signal
      throw err;
    }
    const stream = opened.stream;
    const session = opened.state;
    this.#stream = stream;
    stream.on('response', (h: IncomingHttpHeaders) => {
      const http = Number(h[':status']);
      if (http !== 200) {
        this.#fail(errorOfStatus(statusOfHttp(http), `HTTP status ${http}`, undefined));
      } else if (h['grpc-status'] !== undefined) {
        this.#status(h);
      } else if (!String(h['content-type'] ?? '').startsWith('application/grpc')) {
        this.#fail(
          errorOfStatus(Status.unknown, `content type ${String(h['content-type'])}`, undefined),
        );
      }
    });
    stream.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= highWaterBytes && !this.#paused) {
        this.#paused = true;
        stream.pause();
      }
      this.#wakeUp();
    });
    stream.on('trailers', (h: IncomingHttpHeaders) => this.#status(h));
    stream.on('end', () => {
      this.#readEnded = true;
      this.#wakeUp();
    });
    stream.on('error', (err: Error) => {
      this.#fail(
        new ReflexError(ErrorCode.unavailable, `remote stream: ${err.message}`, { cause: err }),
      );
    });
    stream.once('close', () => {
      this.#readEnded = true;
      if (this.#final === undefined && this.#error === undefined) {
        this.#fail(this.#lostError(stream.rstCode, session.error));
      }
      this.#finish();
    });
    if (options.timeoutMs !== undefined) {
      this.#timer = setTimeout(() => {
        this.#fail(errorOfStatus(Status.deadlineExceeded, 'deadline exceeded', undefined));
        this.#cancel();
      }, options.timeoutMs);
    }
    this.signal.addEventListener('abort', () => this.#cancel(), { once: true });
    stream.end(frame(encodeStreamRequest(request)));
  }

  /**
   * Why a call ended without a status. Only a cancellation this side asked for is CANCELLED: a
   * stream cancelled because its connection died (a killed server, a failed TLS handshake, a
   * keepalive timeout) or reset by the peer is a lost connection, UNAVAILABLE (not expected).
   */
  #lostError(rst: number | undefined, sessionError: Error | undefined): ReflexError {
    if (this.#cancelled && rst === h2.NGHTTP2_CANCEL) {
      return errorOfStatus(Status.cancelled, 'call cancelled', undefined);
    }
    if (sessionError !== undefined) {
      return new ReflexError(
        ErrorCode.unavailable,
        `remote stream: UNAVAILABLE: connection failed: ${sessionError.message}`,
        { cause: sessionError },
      );
    }
    const lost =
      rst === undefined ||
      rst === h2.NGHTTP2_NO_ERROR ||
      rst === h2.NGHTTP2_REFUSED_STREAM ||
      rst === h2.NGHTTP2_CANCEL ||
      rst === h2.NGHTTP2_ENHANCE_YOUR_CALM;
    if (!lost) {
      // PROTOCOL_ERROR, FLOW_CONTROL_ERROR, …: the peer broke the protocol.
      return errorOfStatus(Status.internal, `stream reset with code ${rst}`, undefined);
    }
    return errorOfStatus(
      Status.unavailable,
      `connection lost (RST_STREAM ${rst ?? 'none'})`,
      undefined,
    );
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #status(h: IncomingHttpHeaders): void {
    if (this.#final !== undefined) return;
    const code = Number(h['grpc-status']);
    if (code === Status.ok) {
      this.#final = null;
    } else {
      const message = decodeGrpcMessage(String(h['grpc-message'] ?? ''));
      const reflexCode = h[errorCodeKey];
      const details = h[statusDetailsKey];
      this.#final = errorOfStatus(
        Number.isInteger(code) ? code : Status.unknown,
        message,
        typeof reflexCode === 'string' ? reflexCode : undefined,
        typeof details === 'string' ? details : undefined,
      );
    }
    this.#wakeUp();
  }

  #fail(err: ReflexError): void {
    this.#error ??= err;
    this.#wakeUp();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#connection.done();
    this.#untrack();
    this.#wakeUp();
  }

  #cancel(): void {
    this.#cancelled = true;
    // Undefined only when the request could not be made (close() from the constructor).
    const s = this.#stream as ClientHttp2Stream | undefined;
    if (s !== undefined && !s.closed && !s.destroyed) s.close(h2.NGHTTP2_CANCEL);
  }

  /**
   * The buffer holding the next complete message, from `#msgStart` to `#msgEnd` (positions rather
   * than a slice: no Buffer object per event), or undefined when more bytes are needed.
   */
  #nextMessage(): Buffer | undefined {
    if (this.#buffered < 5) return undefined;
    let head = this.#chunks[0] as Buffer;
    let avail = head.length - this.#pos;
    if (avail < 5) {
      head = this.#merge(5);
      avail = head.length;
    }
    const flag = head[this.#pos];
    const len = head.readUInt32BE(this.#pos + 1);
    if (flag !== 0) {
      throw errorOfStatus(Status.internal, 'compressed messages are not supported', undefined);
    }
    if (len > this.#maxEventBytes) {
      throw errorOfStatus(
        Status.resourceExhausted,
        `event of ${len} bytes larger than maxEventBytes ${this.#maxEventBytes}`,
        undefined,
      );
    }
    if (this.#buffered < 5 + len) return undefined;
    if (avail < 5 + len) head = this.#merge(5 + len);
    const start = this.#pos + 5;
    this.#pos = start + len;
    this.#buffered -= 5 + len;
    if (this.#pos === head.length) {
      this.#chunks.shift();
      this.#pos = 0;
    }
    this.#msgStart = start;
    this.#msgEnd = start + len;
    return head;
  }

  /** Joins the first chunks so that the first holds at least `n` unread bytes. */
  #merge(n: number): Buffer {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      const c = this.#chunks.shift() as Buffer;
      const part = parts.length === 0 ? c.subarray(this.#pos) : c;
      parts.push(part);
      have += part.length;
    }
    const merged = Buffer.concat(parts);
    this.#chunks.unshift(merged);
    this.#pos = 0;
    return merged;
  }

  /** Fast path: an event already received is decoded and returned without waiting machinery. */
  override recv(): Promise<Event> {
    const e = this.tryRecv();
    return e === undefined ? super.recv() : Promise.resolve(e);
  }

  override tryRecv(): Event | undefined {
    if (this.#released || this.#error !== undefined || this.signal.aborted || this.#buffered < 5) {
      return undefined;
    }
    try {
      return this.#take();
    } catch {
      return undefined; // #error is set: the next recv reports it, before any later event
    }
  }

  /**
   * Decodes the next complete message, or undefined when none is buffered. A framing or decoding
   * failure cancels the call, becomes the final `#error` and is thrown: no later event is read.
   */
  #take(): Event | undefined {
    let message: Buffer | undefined;
    try {
      message = this.#nextMessage();
    } catch (err) {
      this.#cancel();
      this.#fail(err as ReflexError);
      throw this.#error;
    }
    if (message === undefined) return undefined;
    if (this.#paused && this.#buffered < highWaterBytes) {
      this.#paused = false;
      this.#stream.resume();
    }
    try {
      return decodeEventAt(message, this.#msgStart, this.#msgEnd);
    } catch (err) {
      this.#cancel();
      this.#fail(errorOfStatus(Status.internal, (err as Error).message, undefined));
      throw this.#error;
    }
  }

  protected async pull(): Promise<Event> {
    for (;;) {
      if (this.#error !== undefined) throw this.#error;
      const event = this.#take();
      if (event !== undefined) return event;
      if (this.#final !== undefined && this.#readEnded) {
        // Every event sent before the status has been delivered: now the status counts.
        this.#error =
          this.#final ??
          new ReflexError(ErrorCode.streamEnded, 'remote stream ended without an error');
        throw this.#error;
      }
      if (this.#paused) {
        this.#paused = false;
        this.#stream.resume();
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  protected override release(): Promise<void> {
    this.#released = true;
    this.#cancel();
    // A stream the server already finished, with unread data, is closed at the HTTP/2 level but
    // would never emit 'close' while paused: destroyed, so that the connection can close.
    const s = this.#stream as ClientHttp2Stream | undefined;
    if (s !== undefined && !s.destroyed) s.destroy();
    return Promise.resolve();
  }
}
