import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  ErrorCode,
  type Event,
  invalidArgument,
  type Logger,
  noopLogger,
  ReflexError,
  type StreamClient,
  type StreamFunc,
} from '../core/index.js';
import type { Authenticator, CallInfo } from './auth.js';
import { decodeStreamRequest, encodeEvent, type StreamRequestMessage } from './codec.js';
import { statusOf } from './status.js';

/** The method of the original's service: `reflexpb.Reflex/Stream`. */
export const reflexStreamMethod = 'reflexpb.Reflex/Stream';

/** TLS material of a server (PEM). */
export interface ServerTlsOptions {
  /** The server's private key (PEM). */
  readonly key: string | Uint8Array;
  /** The server's certificate chain (PEM). */
  readonly cert: string | Uint8Array;
  /** CA certificates that sign client certificates (PEM); needed with `requireClientCert`. */
  readonly ca?: string | Uint8Array;
  /** Refuse clients without a certificate signed by `ca` (mutual TLS). @default false */
  readonly requireClientCert?: boolean;
}

/** Options of {@link serveStream} and {@link serveStreams}. */
export interface ServeOptions {
  /** Where to listen, `host:port`; port 0 picks a free port (see {@link ReflexServer.port}). @default '127.0.0.1:0' */
  readonly address?: string;
  /** Serve over TLS; plaintext when absent. */
  readonly tls?: ServerTlsOptions;
  /** Checks every call before its stream opens; every call is let through when absent. */
  readonly authenticate?: Authenticator;
  /** Where failures of the server itself are reported. @default noopLogger */
  readonly logger?: Logger;
  /**
   * How long `stop()` waits, in ms, for open calls to deliver their final status before closing
   * every connection. A client that stopped reading is cut off after this. @default 5000
   */
  readonly shutdownGraceMs?: number;
  /** Aborting it while the server starts cancels the start; once started, use `stop()`. */
  readonly signal?: AbortSignal;
}

/** A running gRPC server of reflex streams. */
export interface ReflexServer extends AsyncDisposable {
  /** The port it listens on (the one picked when the address said port 0). */
  readonly port: number;
  /** `host:port` to give a client. */
  readonly address: string;
  /** How many calls are streaming now. */
  readonly openStreams: number;
  /** How many events were handed to the transport since the start (all calls). */
  readonly sentEvents: number;
  /**
   * Ends every open stream with `ERR_REFLEX_STOPPED` (gRPC UNAVAILABLE; clients should reconnect),
   * refuses new calls, then shuts the server down: it resolves once every connection is closed
   * (after `shutdownGraceMs` at most) and every source stream is closed. Idempotent.
   */
  stop(): Promise<void>;
}

interface DecodedRequest {
  readonly request?: StreamRequestMessage;
  readonly error?: unknown;
}

const methodPattern =
  /^\/?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\/([A-Za-z_][A-Za-z0-9_]*)$/;

const knownOptions = new Set([
  'address',
  'tls',
  'authenticate',
  'logger',
  'shutdownGraceMs',
  'signal',
]);

/**
 * Serves one stream as the original's `reflexpb.Reflex/Stream`, so Go and TypeScript reflex
 * clients can consume it. Resolves once the server listens.
 *
 * @example
 * const server = await serveStream(events.toStream(pool), { address: '0.0.0.0:9000' });
 * // … on shutdown:
 * await server.stop();
 */
export function serveStream(stream: StreamFunc, options?: ServeOptions): Promise<ReflexServer> {
  return serveStreams({ [reflexStreamMethod]: stream }, options);
}

/**
 * Serves several streams on one server, each as a server-streaming method with the original's
 * message types (`reflexpb.StreamRequest` in, a stream of `reflexpb.Event` out), under any service
 * names: `{ 'example.Events/StreamEvent1': s1, 'example.Events/StreamEvent2': s2 }`. Resolves once
 * the server listens. Back-pressure: a client that stops reading makes its call stop pulling from
 * the source (it runs ahead by the HTTP/2 window plus what the source buffers, never more).
 *
 * @example
 * const server = await serveStreams({
 *   'example.Events/StreamEvent1': table1.toStream(pool),
 *   'example.Events/StreamEvent2': table2.toStream(pool),
 * }, { tls: { key, cert }, authenticate: bearerTokenAuth([token]) });
 */
export async function serveStreams(
  streams: Readonly<Record<string, StreamFunc>>,
  options: ServeOptions = {},
): Promise<ReflexServer> {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('serve options must be an object');
  for (const key of Object.keys(options)) {
    if (!knownOptions.has(key))
      throw invalidArgument(`unknown serve option ${JSON.stringify(key)}`);
  }
  const graceMs = options.shutdownGraceMs ?? 5000;
  if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0) {
    throw invalidArgument(`shutdownGraceMs must be a finite number of ms ≥ 0, got ${graceMs}`);
  }
  if (options.authenticate !== undefined && typeof options.authenticate !== 'function') {
    throw invalidArgument('authenticate must be a function');
  }
  const address = options.address ?? '127.0.0.1:0';
  if (typeof address !== 'string' || !/:\d+$/.test(address)) {
    throw invalidArgument(`address must be "host:port", got ${JSON.stringify(address)}`);
  }
  const services = new Map<string, Map<string, StreamFunc>>();
  const entries = Object.entries(streams ?? {});
  if (entries.length === 0) throw invalidArgument('serveStreams needs at least one stream');
  for (const [method, fn] of entries) {
    const m = methodPattern.exec(method);
    if (m === null) {
      throw invalidArgument(
        `method must look like "package.Service/Method", got ${JSON.stringify(method)}`,
      );
    }
    if (typeof fn !== 'function')
      throw invalidArgument(`the stream of ${method} must be a StreamFunc`);
    const service = m[1] as string;
    let methods = services.get(service);
    if (methods === undefined) services.set(service, (methods = new Map()));
    methods.set(m[2] as string, fn);
  }
  const credentials = serverCredentials(options.tls);
  options.signal?.throwIfAborted();

  const impl = new Impl(options.logger ?? noopLogger, options.authenticate, graceMs);
  for (const [service, methods] of services) {
    const definition: Record<string, unknown> = {};
    const handlers: UntypedServiceImplementation = {};
    for (const [name, fn] of methods) {
      const path = `/${service}/${name}`;
      definition[name] = {
        path,
        requestStream: false,
        responseStream: true,
        requestSerialize: (): Buffer => {
          throw new Error('not a client');
        },
        requestDeserialize: (buf: Buffer): DecodedRequest => {
          try {
            return { request: decodeStreamRequest(buf) };
          } catch (error) {
            return { error };
          }
        },
        responseSerialize: encodeEvent,
        responseDeserialize: (): Event => {
          throw new Error('not a client');
        },
      };
      handlers[name] = (call: ServerWritableStream<DecodedRequest, Event>): void => {
        impl.handle(call, path, fn);
      };
    }
    impl.server.addService(definition as unknown as ServiceDefinition, handlers);
  }
  const port = await new Promise<number>((resolve, reject) => {
    impl.server.bindAsync(address, credentials, (err, p) =>
      err === null ? resolve(p) : reject(err),
    );
  });
  if (options.signal?.aborted === true) {
    await impl.stop();
    options.signal.throwIfAborted();
  }
  impl.port = port;
  impl.address = `${address.slice(0, address.lastIndexOf(':'))}:${port}`;
  return impl;
}

function serverCredentials(tls: ServerTlsOptions | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  if (typeof tls !== 'object' || tls === null || tls.key === undefined || tls.cert === undefined) {
    throw invalidArgument('tls needs a key and a cert');
  }
  const requireClientCert = tls.requireClientCert ?? false;
  if (requireClientCert && tls.ca === undefined) {
    throw invalidArgument('tls.requireClientCert needs tls.ca to check client certificates');
  }
  return ServerCredentials.createSsl(
    tls.ca === undefined ? null : Buffer.from(tls.ca),
    [{ private_key: Buffer.from(tls.key), cert_chain: Buffer.from(tls.cert) }],
    requireClientCert,
  );
}

function stoppedError(): ReflexError {
  return new ReflexError(ErrorCode.stopped, 'event stream has been stopped');
}

function firstHeader(metadata: Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

class Impl implements ReflexServer {
  readonly server = new Server({ 'grpc.max_send_message_length': -1 });
  port = 0;
  address = '';
  sentEvents = 0;
  readonly #active = new Set<AbortController>();
  readonly #calls = new Set<Promise<void>>();
  readonly #logger: Logger;
  readonly #authenticate: Authenticator | undefined;
  readonly #graceMs: number;
  #stopped = false;
  #stopping: Promise<void> | undefined;

  constructor(logger: Logger, authenticate: Authenticator | undefined, graceMs: number) {
    this.#logger = logger;
    this.#authenticate = authenticate;
    this.#graceMs = graceMs;
  }

  get openStreams(): number {
    return this.#active.size;
  }

  handle(call: ServerWritableStream<DecodedRequest, Event>, path: string, fn: StreamFunc): void {
    const p = this.#serve(call, path, fn).catch((err: unknown) => {
      this.#logger.error('reflex grpc server: call failed', { method: path, error: String(err) });
    });
    this.#calls.add(p);
    void p.finally(() => this.#calls.delete(p));
  }

  async #serve(
    call: ServerWritableStream<DecodedRequest, Event>,
    path: string,
    fn: StreamFunc,
  ): Promise<void> {
    if (this.#stopped) return finish(call, stoppedError());
    const { request, error } = call.request;
    if (request === undefined) return finish(call, error);
    const controller = new AbortController();
    const onCancel = (): void => {
      controller.abort(new ReflexError(ErrorCode.canceled, 'call cancelled by the client'));
    };
    call.on('cancelled', onCancel);
    this.#active.add(controller);
    let client: StreamClient | undefined;
    try {
      if (this.#authenticate !== undefined) {
        const denied = await authenticate(this.#authenticate, call, path);
        if (denied !== undefined) return finish(call, denied);
      }
      controller.signal.throwIfAborted();
      client = await fn(request.after, {
        ...(request.lagMs === undefined ? {} : { lag: request.lagMs }),
        ...(request.fromHead === true ? { fromHead: true } : {}),
        ...(request.toHead === true ? { toHead: true } : {}),
        signal: controller.signal,
      });
      for (;;) {
        // No await per event while the transport takes them: write() buffers in grpc-js until
        // its high-water mark, then 'drain' tells us the client read enough to go on.
        const event = await client.recv();
        this.sentEvents++;
        if (!call.write(event)) await drained(call, controller.signal);
      }
    } catch (err) {
      if (call.cancelled) return;
      finish(call, controller.signal.aborted ? controller.signal.reason : err);
    } finally {
      call.off('cancelled', onCancel);
      this.#active.delete(controller);
      if (client !== undefined) {
        await client.close().catch((err: unknown) => {
          this.#logger.warn('reflex grpc server: closing the source stream failed', {
            method: path,
            error: String(err),
          });
        });
      }
    }
  }

  stop(): Promise<void> {
    if (this.#stopping === undefined) {
      this.#stopped = true;
      for (const c of this.#active) c.abort(stoppedError());
      this.#stopping = this.#shutdown();
    }
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, this.#graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await Promise.allSettled([...this.#calls]);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

async function authenticate(
  fn: Authenticator,
  call: ServerWritableStream<DecodedRequest, Event>,
  path: string,
): Promise<ReflexError | undefined> {
  const cert = call.getAuthContext().sslPeerCertificate;
  const info: CallInfo = {
    method: path,
    peer: call.getPeer(),
    header: (key) => firstHeader(call.metadata, key),
    ...(cert === undefined ? {} : { peerCertificate: cert }),
  };
  try {
    if ((await fn(info)) === true) return undefined;
  } catch (err) {
    if (err instanceof ReflexError && err.code === ErrorCode.permissionDenied) {
      return new ReflexError(ErrorCode.permissionDenied, err.message);
    }
  }
  return new ReflexError(ErrorCode.unauthenticated, 'unauthenticated call');
}

function finish(call: ServerWritableStream<DecodedRequest, Event>, err: unknown): void {
  // grpc-js turns an 'error' emitted on the call into its final status (sent after what is buffered).
  call.emit('error', statusOf(err));
}

function drained(
  call: ServerWritableStream<DecodedRequest, Event>,
  signal: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('close', done);
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = (): void => {
      done();
      reject(signal.reason);
    };
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    call.on('drain', done);
    call.on('close', done);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
