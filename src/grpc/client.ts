import {
  type ChannelCredentials,
  Client,
  type ClientReadableStream,
  credentials as grpcCredentials,
  Metadata,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import {
  BaseStreamClient,
  ErrorCode,
  type Event,
  invalidArgument,
  ReflexError,
  type StreamCallOptions,
  type StreamClient,
  type StreamFunc,
  validateStreamCall,
} from '../core/index.js';
import { decodeEvent, encodeStreamRequest, type StreamRequestMessage } from './codec.js';
import { reflexStreamMethod } from './server.js';
import { errorOfStatus } from './status.js';

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
  /** Extra request headers sent on every call (lower-case keys). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * A deadline for every stream, in ms from its opening: the call then ends with
   * `ERR_REFLEX_DEADLINE_EXCEEDED` (the server sees the deadline too). None when absent.
   */
  readonly timeoutMs?: number;
  /** The largest event accepted, in bytes. @default 64 MiB */
  readonly maxEventBytes?: number;
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
  /** Closes the connection; open streams end with an error. Idempotent. */
  close(): Promise<void>;
}

const knownOptions = new Set(['tls', 'token', 'headers', 'timeoutMs', 'maxEventBytes']);
const methodPattern =
  /^\/?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\/[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Connects (lazily, at the first stream) to a server of reflex streams: a reflex-events server or
 * a Go reflex server. Each stream is one server-streaming call: the options (lag in ms as a proto
 * Duration, fromHead, toHead) travel in the request; aborting the stream's signal or closing it
 * cancels the call. Errors keep their reflex code across the hop (`isStoppedErr`,
 * `isHeadReachedErr`, `ERR_REFLEX_INVALID_CURSOR`, …); gRPC statuses map to codes too (CANCELLED →
 * `ERR_REFLEX_CANCELED`, DEADLINE_EXCEEDED → `ERR_REFLEX_DEADLINE_EXCEEDED`, UNAVAILABLE →
 * `ERR_REFLEX_UNAVAILABLE`, UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT, otherwise
 * `ERR_REFLEX_REMOTE`).
 *
 * @example
 * const client = newReflexClient('orders.internal:9000', { tls: { ca }, token });
 * await run(newSpec(client.stream, cursors, consumer), { signal });
 */
export function newReflexClient(address: string, options: ReflexClientOptions = {}): ReflexClient {
  if (typeof address !== 'string' || address === '')
    throw invalidArgument('address must be a non-empty string');
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('client options must be an object');
  for (const key of Object.keys(options)) {
    if (!knownOptions.has(key))
      throw invalidArgument(`unknown client option ${JSON.stringify(key)}`);
  }
  const { timeoutMs, token } = options;
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs))
  ) {
    throw invalidArgument(`timeoutMs must be a finite number of ms > 0, got ${timeoutMs}`);
  }
  if (token !== undefined && (typeof token !== 'string' || token === '')) {
    throw invalidArgument('token must be a non-empty string');
  }
  const maxEventBytes = options.maxEventBytes ?? 64 * 1024 * 1024;
  if (!Number.isInteger(maxEventBytes) || maxEventBytes <= 0) {
    throw invalidArgument(`maxEventBytes must be a positive integer, got ${maxEventBytes}`);
  }
  const headers: [string, string][] = Object.entries(options.headers ?? {});
  for (const [k, v] of headers) {
    if (typeof v !== 'string' || !/^[a-z0-9_.-]+$/.test(k) || k.endsWith('-bin')) {
      throw invalidArgument(
        `header ${JSON.stringify(k)} must be a lower-case ASCII name with a string value`,
      );
    }
  }
  if (token !== undefined) headers.push(['authorization', `Bearer ${token}`]);
  const tls = options.tls === true ? {} : options.tls === false ? undefined : options.tls;
  const client = new Client(address, channelCredentials(tls), {
    'grpc.max_receive_message_length': maxEventBytes,
    ...(tls?.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': tls.serverName }),
  });
  let closed = false;

  const streamFunc = (method: string): StreamFunc => {
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
        if (closed) throw new ReflexError(ErrorCode.closed, 'reflex client is closed');
        const request: StreamRequestMessage = {
          after,
          ...(o.lag === undefined ? {} : { lagMs: o.lag }),
          ...(o.fromHead === true ? { fromHead: true } : {}),
          ...(o.toHead === true ? { toHead: true } : {}),
        };
        const metadata = new Metadata();
        for (const [k, v] of headers) metadata.set(k, v);
        const call = client.makeServerStreamRequest<StreamRequestMessage, Event>(
          path,
          encodeStreamRequest,
          decodeEvent,
          request,
          metadata,
          timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs },
        );
        return Promise.resolve(new RemoteStreamClient(call, o.signal));
      } catch (err) {
        return Promise.reject(err);
      }
    };
  };

  return {
    stream: streamFunc(reflexStreamMethod),
    streamFunc,
    close(): Promise<void> {
      if (!closed) {
        closed = true;
        client.close();
      }
      return Promise.resolve();
    },
    [Symbol.asyncDispose](): Promise<void> {
      return this.close();
    },
  };
}

function channelCredentials(tls: ClientTlsOptions | undefined): ChannelCredentials {
  if (tls === undefined) return grpcCredentials.createInsecure();
  if (typeof tls !== 'object' || tls === null)
    throw invalidArgument('tls must be an object or a boolean');
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw invalidArgument('tls.cert and tls.key go together');
  }
  return grpcCredentials.createSsl(
    tls.ca === undefined ? null : Buffer.from(tls.ca),
    tls.key === undefined ? null : Buffer.from(tls.key),
    tls.cert === undefined ? null : Buffer.from(tls.cert),
  );
}

/**
 * One remote stream. Pull-based: events are read from the call only when `recv` asks, so a slow
 * consumer leaves them in the HTTP/2 window and the server stops pulling from its source.
 */
class RemoteStreamClient extends BaseStreamClient {
  readonly #call: ClientReadableStream<Event>;
  #error: ReflexError | undefined;
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(call: ClientReadableStream<Event>, signal: AbortSignal | undefined) {
    super(signal);
    this.#call = call;
    const wake = (): void => {
      const w = this.#wake;
      this.#wake = undefined;
      w?.();
    };
    call.on('readable', wake);
    call.on('error', (err: ServiceError) => {
      this.#error ??= errorOfStatus(err);
      wake();
    });
    call.on('status', (status: StatusObject) => {
      if (status.code === 0) this.#ended = true;
      wake();
    });
    call.on('end', () => {
      this.#ended = true;
      wake();
    });
    this.signal.addEventListener('abort', () => call.cancel(), { once: true });
  }

  protected async pull(): Promise<Event> {
    for (;;) {
      const event = this.#call.read() as Event | null;
      if (event !== null) return event;
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) {
        throw new ReflexError(ErrorCode.streamEnded, 'remote stream ended without an error');
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  protected override release(): Promise<void> {
    this.#call.cancel();
    return Promise.resolve();
  }
}
