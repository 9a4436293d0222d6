import {
  createSecureServer,
  createServer,
  type Http2Server,
  type Http2Session,
  constants as h2,
  type IncomingHttpHeaders,
  type SecureServerOptions,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  ErrorCode,
  type Logger,
  noopLogger,
  ReflexError,
  type StreamClient,
  type StreamFunc,
} from '../core/index.js';
import { abortable } from '../internal/abort.js';
import { invalidArgument } from '../internal/errors.js';
import { checkOptionKeys, msOption } from '../internal/options.js';
import { setLongTimeout } from '../internal/timers.js';
import { AbuseHold } from './abuse-hold.js';
import type { Authenticator, CallInfo } from './auth.js';
import { alive, Call, type CallOwner } from './call.js';
import { FrameWriter, type StreamRequestMessage } from './codec.js';
import { goStoppedMessage } from './jettison.js';
import { resolveServerLimits, type ServerLimits, serverLimitKeys } from './limits.js';
import { PeerGuard } from './peer.js';
import { GrpcErrorCode, type PeerStatus, peerStatus } from './status.js';

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
  /**
   * Calls open at once on one connection, advertised in HTTP/2 SETTINGS; a client that opens more
   * gets them refused (REFUSED_STREAM, which gRPC clients retry). @default 100
   */
  readonly maxConcurrentStreams?: number;
  /** Connections open at once; further ones are closed as they arrive. @default unlimited */
  readonly maxConnections?: number;
  /**
   * How long a call may take, from its headers, to send its request message (and be authenticated);
   * then it ends with DEADLINE_EXCEEDED. @default 10000
   */
  readonly requestTimeoutMs?: number;
  /** How long a new connection may take to start its first call, TLS handshake included; then it is closed. @default 10000 */
  readonly handshakeTimeoutMs?: number;
  /** How long a connection may stay without a call; then it gets GOAWAY. @default 300000 */
  readonly idleTimeoutMs?: number;
  /** A keepalive PING goes to each connection this often (0: never). @default 60000 */
  readonly keepaliveMs?: number;
  /** A keepalive PING not answered within this many ms closes the connection. @default 20000 */
  readonly keepaliveTimeoutMs?: number;
  /**
   * Client PINGs closer together than this (0: no limit) count as strikes; after two, the
   * connection gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings", as grpc-go does. @default 10000
   */
  readonly minPingIntervalMs?: number;
  /**
   * Streams a connection may reset at once before it gets GOAWAY ENHANCE_YOUR_CALM (rapid reset,
   * CVE-2023-44487); refilled at `maxResetRate` per second. @default 200
   */
  readonly maxResetBurst?: number;
  /** Stream resets per second a connection may sustain (see `maxResetBurst`). @default 20 */
  readonly maxResetRate?: number;
  /**
   * How long, in ms, a connection told to go away for abuse (rapid reset, PING flood) is held open
   * and unread before it is closed, and new connections from its IP address meanwhile with it: an
   * attacker that reconnects at once waits instead of costing a new session each time. At most 64
   * connections (and a quarter of `maxConnections`) are held; beyond, they are closed at once.
   * Clients behind one NAT address share the penalty: 0 closes abusive connections at once and
   * penalises no address. @default 10000
   */
  readonly abusiveHoldMs?: number;
}

/** A call a {@link ReflexServer} is streaming. */
export interface ServedCall {
  /** The client's address, `ip:port`. */
  readonly peer: string;
  /** The full method, e.g. `/reflexpb.Reflex/Stream`. */
  readonly method: string;
  readonly startedAt: Date;
  /** Events handed to the transport on this call so far. */
  readonly sentEvents: number;
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
  /** The calls streaming now (a status page lists them). */
  clients(): readonly ServedCall[];
  /**
   * Ends every open stream with `ERR_REFLEX_STOPPED` (gRPC UNAVAILABLE; clients should reconnect),
   * refuses new calls, then shuts the server down: it resolves once every connection is closed
   * (after `shutdownGraceMs` at most) and every source stream is closed. Idempotent.
   */
  stop(): Promise<void>;
}

const methodPattern =
  /^\/?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\/([A-Za-z_][A-Za-z0-9_]*)$/;

const knownOptions: readonly string[] = [
  'address',
  'tls',
  'authenticate',
  'logger',
  'shutdownGraceMs',
  'signal',
  ...serverLimitKeys,
];

/** Bytes of events collected before they go to the transport in one write. */
const batchBytes = 8 * 1024;

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
 * Serves several streams on one server, each as a server-streaming gRPC method with the
 * original's message types (`reflexpb.StreamRequest` in, a stream of `reflexpb.Event` out), under
 * any service names: `{ 'example.Events/StreamEvent1': s1, 'example.Events/StreamEvent2': s2 }`.
 * Resolves once the server listens.
 *
 * Back-pressure: events are encoded in batches and written while the transport takes them; when
 * a client stops reading, its call stops pulling from the source, having run ahead by the HTTP/2
 * window plus one batch (8 KiB), the stream buffer (16 KiB) and what the source itself buffers, never more.
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
  checkOptionKeys(options, knownOptions, 'serve');
  const graceMs = msOption(options.shutdownGraceMs, 'shutdownGraceMs', 5000);
  if (options.authenticate !== undefined && typeof options.authenticate !== 'function') {
    throw invalidArgument('authenticate must be a function');
  }
  const address = options.address ?? '127.0.0.1:0';
  const m = typeof address === 'string' ? /^(.*):(\d{1,5})$/.exec(address) : null;
  if (m === null || Number(m[2]) > 65535) {
    throw invalidArgument(`address must be "host:port", got ${JSON.stringify(address)}`);
  }
  const host = (m[1] as string).replace(/^\[(.*)\]$/, '$1');
  const routes = new Map<string, StreamFunc>();
  const entries = Object.entries(streams ?? {});
  if (entries.length === 0) throw invalidArgument('serveStreams needs at least one stream');
  for (const [method, fn] of entries) {
    const mm = methodPattern.exec(method);
    if (mm === null) {
      throw invalidArgument(
        `method must look like "package.Service/Method", got ${JSON.stringify(method)}`,
      );
    }
    if (typeof fn !== 'function') {
      throw invalidArgument(`the stream of ${method} must be a StreamFunc`);
    }
    routes.set(`/${mm[1]}/${mm[2]}`, fn);
  }
  const limits = resolveServerLimits(options as Readonly<Record<string, unknown>>);
  const settings = { maxConcurrentStreams: limits.maxConcurrentStreams };
  const server =
    options.tls === undefined
      ? createServer({ settings })
      : createSecureServer({
          ...tlsOptions(options.tls),
          settings,
          handshakeTimeout: limits.handshakeTimeoutMs,
        });
  if (limits.maxConnections !== undefined) server.maxConnections = limits.maxConnections;
  options.signal?.throwIfAborted();
  const impl = new ServingReflexServer(server, routes, {
    logger: options.logger ?? noopLogger,
    authenticate: options.authenticate,
    graceMs,
    limits,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), host === '' ? undefined : host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  impl.port = typeof bound === 'object' && bound !== null ? bound.port : Number(m[2]);
  impl.address = `${m[1]}:${impl.port}`;
  if (options.signal?.aborted === true) {
    await impl.stop();
    options.signal.throwIfAborted();
  }
  return impl;
}

function tlsOptions(tls: ServerTlsOptions): SecureServerOptions {
  if (typeof tls !== 'object' || tls === null || tls.key === undefined || tls.cert === undefined) {
    throw invalidArgument('tls needs a key and a cert');
  }
  const requireClientCert = tls.requireClientCert ?? false;
  if (requireClientCert && tls.ca === undefined) {
    throw invalidArgument('tls.requireClientCert needs tls.ca to check client certificates');
  }
  return {
    key: Buffer.from(tls.key),
    cert: Buffer.from(tls.cert),
    ...(tls.ca === undefined ? {} : { ca: Buffer.from(tls.ca) }),
    requestCert: requireClientCert,
    rejectUnauthorized: requireClientCert,
    ALPNProtocols: ['h2'],
  };
}

function unknownMethod(path: string): ReflexError {
  return new ReflexError(GrpcErrorCode.unimplemented, `unknown method ${path}`);
}

function stoppedError(): ReflexError {
  // Go reflex's message, which Go clients without jettison's interceptors match on.
  return new ReflexError(ErrorCode.stopped, goStoppedMessage);
}

/**
 * Resolves on the next turn of the event loop, after the I/O already read: one setImmediate shared
 * by every call waiting in this turn (a flood has thousands).
 */
let nextTurn: Promise<void> | undefined;
function afterThisRead(): Promise<void> {
  nextTurn ??= new Promise<void>((resolve) => {
    setImmediate(() => {
      nextTurn = undefined;
      resolve();
    });
  });
  return nextTurn;
}

interface ImplOptions {
  readonly logger: Logger;
  readonly authenticate: Authenticator | undefined;
  readonly graceMs: number;
  readonly limits: ServerLimits;
}

/** grpc-timeout: up to 8 digits and a unit. */
function parseTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (m === null) return undefined;
  const n = Number(m[1]);
  const unitMs = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[m[2] as 'H'];
  return n * unitMs;
}

class ServingReflexServer implements ReflexServer, CallOwner {
  port = 0;
  address = '';
  sentEvents = 0;
  readonly #server: Http2Server;
  readonly #routes: ReadonlyMap<string, StreamFunc>;
  readonly #sessions = new Set<Http2Session>();
  /**
   * Every open connection's transport socket, by `address:port`: what stop() cuts after the
   * grace, and what a held session is closed with (its session's socket is a proxy that cannot
   * be destroyed).
   */
  readonly #socketByPeer = new Map<string, Socket>();
  readonly #hold: AbuseHold;
  /** Calls from their headers to their end (openStreams). */
  readonly #active = new Set<Call>();
  readonly #calls = new Set<Promise<void>>();
  readonly #streaming = new Map<Call, { method: string; startedAt: Date }>();
  /** Calls waiting for their request message, oldest first. */
  readonly #pending = new Set<Call>();
  #requestTimer: NodeJS.Timeout | undefined;
  readonly #guards = new WeakMap<Http2Session, PeerGuard>();
  readonly #logger: Logger;
  readonly #authenticate: Authenticator | undefined;
  readonly #graceMs: number;
  readonly #limits: ServerLimits;
  #stopped = false;
  #stopping: Promise<void> | undefined;

  constructor(server: Http2Server, routes: ReadonlyMap<string, StreamFunc>, o: ImplOptions) {
    this.#server = server;
    this.#routes = routes;
    this.#logger = o.logger;
    this.#authenticate = o.authenticate;
    this.#graceMs = o.graceMs;
    this.#limits = o.limits;
    this.#hold = new AbuseHold(o.limits.abusiveHoldMs, o.limits.maxConnections);
    server.on('error', (err) => {
      this.#logger.error('reflex grpc server: server error', { error: err });
    });
    // A connection from a penalised address must be stopped before node:http2 (or TLS) reads a
    // byte of it: the listener that node:http2 installs in its constructor is wrapped.
    const serveConnection = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => this.#connection(socket, serveConnection));
    server.on('session', (session: Http2Session) => {
      this.#sessions.add(session);
      session.on('error', (err) => {
        this.#logger.debug('reflex grpc server: session error', { error: err });
      });
      session.once('close', () => this.#sessions.delete(session));
      this.#guards.set(
        session,
        new PeerGuard(session, this.#limits, this.#logger, (abusive) => this.#onAbusive(abusive)),
      );
      if (this.#stopped) session.close();
    });
    server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      this.#accept(stream, headers);
    });
  }

  #connection(socket: Socket, serve: readonly ((socket: Socket) => void)[]): void {
    const peer = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}`;
    this.#socketByPeer.set(peer, socket);
    socket.once('close', () => {
      if (this.#socketByPeer.get(peer) === socket) this.#socketByPeer.delete(peer);
    });
    if (this.#hold.isPenalised(socket.remoteAddress)) {
      // Read no further than the socket's own buffer; an attacker's reset is no concern of ours.
      socket.pause();
      socket.on('error', () => {});
      this.#logger.debug('reflex grpc server: connection from an abusive address held', { peer });
      this.#hold.hold(socket);
      return;
    }
    for (const listener of serve) listener.call(this.#server, socket);
  }

  /**
   * A connection was told to go away for abuse (its GOAWAY is out): its calls are cut, its address
   * is penalised, and it is held unread (node:http2 reads no more of a session that sent GOAWAY
   * and has no stream open) until the hold ends.
   */
  #onAbusive(session: Http2Session): void {
    const peer = session.socket;
    const socket = this.#socketByPeer.get(`${peer?.remoteAddress ?? ''}:${peer?.remotePort ?? ''}`);
    this.#hold.markAbusive(peer?.remoteAddress);
    for (const call of this.#active) {
      if (call.stream.session === session && alive(call.stream)) {
        call.stream.close(h2.NGHTTP2_ENHANCE_YOUR_CALM);
      }
    }
    this.#hold.hold(session, () => {
      session.destroy(undefined, h2.NGHTTP2_ENHANCE_YOUR_CALM);
      // A destroyed session ends its socket gracefully, which waits on a peer that reads nothing.
      socket?.destroy();
    });
  }

  readonly #onStreamError = (err: Error): void => {
    this.#logger.debug('reflex grpc server: stream error', { error: err });
  };

  get openStreams(): number {
    return this.#active.size;
  }

  clients(): readonly ServedCall[] {
    return [...this.#streaming].map(([call, { method, startedAt }]) => {
      const socket = call.stream.session?.socket;
      return {
        peer: `${socket?.remoteAddress ?? ''}:${socket?.remotePort ?? ''}`,
        method,
        startedAt,
        sentEvents: call.sentEvents,
      };
    });
  }

  /**
   * Takes a new call up to its request message, with no promise, closure or timer of its own (a
   * client may hold thousands of calls that never send it), then serves it.
   */
  #accept(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const guard = stream.session === undefined ? undefined : this.#guards.get(stream.session);
    if (guard?.accepting === false) {
      // Told to go away (an abusive peer): its streams cost nothing more. (Closing with an
      // error code emits 'error' on the stream: expected, not a crash.)
      stream.on('error', () => {});
      stream.close(h2.NGHTTP2_REFUSED_STREAM);
      return;
    }
    stream.on('error', this.#onStreamError);
    guard?.callStarted();
    // The client reset it before the server was done: counted against rapid reset at once
    // (not once the call's work unwound), so a flood is cut while it is still arriving.
    const call = new Call(stream, headers[':path'] ?? '', guard, performance.now());
    this.#active.add(call);
    if (headers[':method'] !== 'POST') {
      call.httpError(405);
      this.#done(call);
      return;
    }
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      call.httpError(415);
      this.#done(call);
      return;
    }
    const timeoutMs = parseTimeout(headers['grpc-timeout']);
    // grpc-timeout allows 99,999,999 hours: a long timer is armed in chunks.
    if (timeoutMs !== undefined) {
      call.deadline = setLongTimeout(() => {
        call.abort(new ReflexError(ErrorCode.deadlineExceeded, 'deadline exceeded'));
      }, timeoutMs);
    }
    // A stream that sends its headers and never its request is not held (requestTimeoutMs).
    this.#pending.add(call);
    this.#armRequestTimeout();
    const encoding = headers['grpc-encoding'];
    const read = (): void => {
      if (this.#routes.has(call.path)) {
        call.readRequest(this, typeof encoding === 'string' ? encoding : undefined);
      } else this.requestRead(call, undefined, unknownMethod(call.path));
    };
    if (this.#authenticate === undefined) {
      read();
      return;
    }
    // Authenticated on its headers before its body is read, and before its method is looked up:
    // an unauthenticated peer gets no buffering, and no word about its request or which methods
    // exist.
    this.#track(
      abortable(
        authenticate(this.#authenticate, stream, headers, call.path, this.#logger),
        call.signal,
      ).then(read, (err: unknown) => this.requestRead(call, undefined, err)),
    );
  }

  /** Keeps a call's work until it settles, for stop() to wait on. */
  #track(p: Promise<void>): void {
    this.#calls.add(p);
    const forget = (): void => {
      this.#calls.delete(p);
    };
    void p.then(forget, (err: unknown) => {
      forget();
      this.#logger.error('reflex grpc server: call failed', { error: err });
    });
  }

  /** Its request read (or the call over before): served, answered, or let go. */
  requestRead(call: Call, request: StreamRequestMessage | undefined, err?: unknown): void {
    if (!this.#pending.delete(call)) return;
    if (request !== undefined) {
      this.#track(this.#serve(call, request));
      return;
    }
    try {
      // Closed by its client before its request was read (the unit of a rapid-reset flood):
      // counted by the connection's guard, which logs the abuse; nothing to answer.
      if (!call.closed) this.#fail(call, err);
    } catch (failure) {
      this.#logger.error('reflex grpc server: call failed', { error: failure });
    } finally {
      this.#done(call);
    }
  }

  /** A call is over: no longer counted, its deadline disarmed. */
  #done(call: Call): void {
    call.deadline?.clear();
    this.#active.delete(call);
    call.guard?.callEnded();
  }

  /**
   * One timer for the request timeouts of every waiting call: they all wait as long, so the
   * oldest is the first due.
   */
  #armRequestTimeout(): void {
    if (this.#requestTimer !== undefined) return;
    const first = this.#pending.values().next();
    if (first.done === true) return;
    const ms = this.#limits.requestTimeoutMs;
    const due = first.value.acceptedAt + ms - performance.now();
    this.#requestTimer = setTimeout(
      () => {
        this.#requestTimer = undefined;
        const now = performance.now();
        for (const call of this.#pending) {
          if (call.acceptedAt + ms > now) break;
          // Deletes it from #pending (requestRead), which a Set's iteration allows.
          call.abort(
            new ReflexError(
              ErrorCode.deadlineExceeded,
              `request message not received within ${ms} ms`,
            ),
          );
          // A call between authentication and its read has nobody waiting on the abort yet.
          this.requestRead(call, undefined, call.reason);
        }
        this.#armRequestTimeout();
      },
      Math.max(0, Math.ceil(due)),
    );
  }

  /** Ends a call that failed before its stream opened: logged, and its status sent. */
  #fail(call: Call, err: unknown): void {
    const reason: unknown = call.aborted ? call.reason : err;
    const status = peerStatus(reason);
    this.#report(reason, status, call.path, call.stream);
    call.end(status);
  }

  /** Serves a call with its request to its end; never rejects (a failure of the server itself is logged). */
  async #serve(call: Call, request: StreamRequestMessage): Promise<void> {
    try {
      await this.#serveRequest(call, request);
    } catch (err) {
      this.#logger.error('reflex grpc server: call failed', { error: err });
      if (!call.stream.destroyed) call.stream.close(h2.NGHTTP2_INTERNAL_ERROR);
    } finally {
      this.#done(call);
    }
  }

  async #serveRequest(call: Call, request: StreamRequestMessage): Promise<void> {
    const { stream, path, guard } = call;
    let client: StreamClient | undefined;
    try {
      const fn = this.#routes.get(path);
      if (fn === undefined) throw unknownMethod(path);
      if (this.#stopped) throw stoppedError();
      // Rapid reset: a request and its RST_STREAM usually come in one read, but node:http2 hands
      // the frames over one by one, running promise jobs in between, so the reset is not seen yet.
      // One turn of the event loop lets the rest of the read through: a stream reset by then (or
      // on a connection told to go away) opens nothing.
      await afterThisRead();
      // Reset (or its 'close' on its way): nothing can be sent.
      if (call.closed || !alive(stream)) return;
      if (call.aborted) throw call.reason;
      if (guard?.accepting === false) {
        throw new ReflexError(ErrorCode.unavailable, 'the connection is going away');
      }
      // A cursor with fromHead: the head wins, as on a Go server (the cursor is ignored).
      client = await fn(request.fromHead === true ? '' : request.after, {
        ...(request.lagMs === undefined ? {} : { lag: request.lagMs }),
        ...(request.fromHead === true ? { fromHead: true } : {}),
        ...(request.toHead === true ? { toHead: true } : {}),
        signal: call.signal,
      });
      call.respond();
      this.#streaming.set(call, { method: path, startedAt: new Date() });
      await this.#pump(call, client, call.signal);
    } catch (err) {
      if (call.closed && client === undefined) return;
      const reason: unknown = call.aborted ? call.reason : err;
      const status = peerStatus(reason);
      this.#report(reason, status, path, stream);
      call.end(status);
    } finally {
      this.#streaming.delete(call);
      if (client !== undefined) {
        await client.close().catch((err: unknown) => {
          this.#logger.warn('reflex grpc server: closing the source stream failed', {
            method: path,
            error: err,
          });
        });
      }
    }
  }

  /**
   * Logs why a call failed: the full error with its cause at error level when the server is at
   * fault (the peer was told only a generic message), at warn level for a bad request, at debug
   * level for the expected ends (cancelled, stopped, head reached, deadline).
   */
  #report(err: unknown, status: PeerStatus, method: string, stream: ServerHttp2Stream): void {
    const socket = stream.session?.socket;
    const fields = {
      method,
      peer: `${socket?.remoteAddress ?? ''}:${socket?.remotePort ?? ''}`,
      code: status.reflexCode,
      error: err,
    };
    if (status.level === 'error') this.#logger.error('reflex grpc server: stream failed', fields);
    else if (status.level === 'warn') this.#logger.warn('reflex grpc server: bad call', fields);
    else this.#logger.debug('reflex grpc server: call ended', fields);
  }

  /**
   * Pulls events and writes them in batches: a batch goes out when it is full, or when the source
   * has nothing more at once (a setImmediate runs only after the source's ready events settled).
   * When the transport's buffer is full, pulling waits for 'drain'.
   */
  async #pump(call: Call, client: StreamClient, signal: AbortSignal): Promise<void> {
    const writer = new FrameWriter(batchBytes);
    /** Events in the writer, counted in sentEvents once handed to the transport. */
    let batched = 0;
    let scheduled: NodeJS.Immediate | undefined;
    // Always empties the writer (the next append then succeeds); a destroyed stream takes nothing.
    const flush = (): void => {
      if (scheduled !== undefined) {
        clearImmediate(scheduled);
        scheduled = undefined;
      }
      if (writer.length === 0) return;
      const bytes = writer.take();
      const n = batched;
      batched = 0;
      // A reset stream takes nothing (and costs no more encoding: the loop stops below).
      if (!alive(call.stream)) return;
      call.stream.write(bytes);
      this.sentEvents += n;
      call.sentEvents += n;
    };
    // Events the source already holds are taken without a promise each (a batch of them at most,
    // so I/O and the abort still get in between batches).
    const buffered = typeof client.tryRecv === 'function' ? client : undefined;
    try {
      for (;;) {
        // A flush may have filled the buffer while the source was being awaited, and 'drain'
        // may have come and gone since: ask the stream, not a flag.
        if (call.stream.writableNeedDrain) await drained(call.stream, signal);
        const event = buffered?.tryRecv?.() ?? (await client.recv());
        // The call is over or reset (its 'close', which aborts the call, is on its way): pull
        // and encode no more.
        if (!alive(call.stream)) {
          call.streamClosed();
          throw call.reason;
        }
        if (!writer.append(event)) {
          flush();
          // An empty writer takes any event (it grows for a big one).
          if (!writer.append(event)) {
            throw new ReflexError(ErrorCode.internal, 'an empty frame writer refused an event');
          }
        }
        batched++;
        if (writer.length >= batchBytes) flush();
        else scheduled ??= setImmediate(flush);
      }
    } finally {
      // What was pulled goes out before the final status.
      flush();
    }
  }

  stop(): Promise<void> {
    if (this.#stopping === undefined) {
      this.#stopped = true;
      for (const c of this.#active) c.abort(stoppedError());
      clearTimeout(this.#requestTimer);
      this.#requestTimer = undefined;
      this.#stopping = this.#shutdown();
    }
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
    });
    for (const s of this.#sessions) s.close();
    // Held abusive connections get no grace.
    this.#hold.releaseAll();
    const timer = setLongTimeout(() => {
      for (const s of this.#sessions) s.destroy();
      // A destroyed session still ends its socket gracefully, which waits forever on a client
      // that stopped reading: the sockets themselves are cut.
      for (const socket of this.#socketByPeer.values()) socket.destroy();
    }, this.#graceMs);
    try {
      await closed;
      await Promise.allSettled([...this.#calls]);
    } finally {
      timer.clear();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

async function authenticate(
  fn: Authenticator,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  path: string,
  logger: Logger,
): Promise<void> {
  const socket = stream.session?.socket;
  // The session's socket is a proxy: `in` does not see TLS methods, a typeof lookup does.
  const getPeerCertificate = (socket as Partial<TLSSocket> | undefined)?.getPeerCertificate;
  const cert =
    typeof getPeerCertificate === 'function'
      ? getPeerCertificate.call(socket as TLSSocket)
      : undefined;
  const info: CallInfo = {
    method: path,
    peer: `${socket?.remoteAddress ?? ''}:${socket?.remotePort ?? ''}`,
    header: (key) => {
      const v = headers[key.toLowerCase()];
      return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
    },
    ...(cert === undefined || Object.keys(cert).length === 0 ? {} : { peerCertificate: cert }),
  };
  let ok = false;
  try {
    ok = (await fn(info)) === true;
  } catch (err) {
    if (err instanceof ReflexError && err.code === ErrorCode.permissionDenied) {
      throw new ReflexError(ErrorCode.permissionDenied, err.message);
    }
    // A failing authenticator (a token service down, a bug) is the server's problem: logged with
    // its cause; the peer learns only that it is not authenticated.
    logger.error('reflex grpc server: the authenticator failed', {
      method: path,
      peer: info.peer,
      error: err,
    });
  }
  if (!ok) throw new ReflexError(ErrorCode.unauthenticated, 'unauthenticated call');
}

/**
 * Resolves once the stream takes more writes ('drain', or 'close': the next write is a no-op), or
 * rejects with the signal's reason as soon as it aborts.
 */
async function drained(stream: ServerHttp2Stream, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (!stream.writableNeedDrain) return;
  let cleanup = (): void => {};
  const ready = new Promise<void>((resolve) => {
    const done = (): void => {
      cleanup();
      resolve();
    };
    cleanup = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
  try {
    await abortable(ready, signal);
  } finally {
    cleanup();
  }
}
