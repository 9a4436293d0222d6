// The client's HTTP/2 connection: opened on demand, referenced only while calls are open, pinged
// while they are (a silently dropped connection — a peer gone behind a NAT, a black-holed route —
// fails its calls with ERR_REFLEX_UNAVAILABLE instead of leaving them waiting forever), and closed
// after sitting idle.
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants as h2,
  type SecureClientSessionOptions,
} from 'node:http2';
import { ErrorCode, ReflexError } from '../core/index.js';
import type { ClientLimits } from './limits.js';

/** What a stream knows of its connection's fate: why it failed, when it did. */
export interface SessionState {
  /** The session's error (a failed TLS handshake, a reset socket, a keepalive timeout), once there is one. */
  error?: Error;
}

/** How long `close()` lets the connection end gracefully before cutting it. */
const closeGraceMs = 1000;
/** The longest keepalive interval after doubling on "too_many_pings". */
const maxKeepaliveMs = 2 ** 31 - 1;

/** One HTTP/2 connection, opened on demand, kept referenced only while streams are open. */
export class Connection {
  readonly #authority: string;
  readonly #options: SecureClientSessionOptions;
  readonly #limits: ClientLimits;
  /** Doubles each time a server says "too_many_pings" (as grpc-go's client does). */
  #keepaliveMs: number;
  #session: ClientHttp2Session | undefined;
  #state: SessionState = {};
  #open = 0;
  #closed = false;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #clients = new Set<{ close(): Promise<void> }>();

  constructor(authority: string, options: SecureClientSessionOptions, limits: ClientLimits) {
    this.#authority = authority;
    this.#options = options;
    this.#limits = limits;
    this.#keepaliveMs = limits.keepaliveMs;
  }

  /** Opens a call; the caller must call `done()` once it is over. */
  request(headers: Record<string, string>): { stream: ClientHttp2Stream; state: SessionState } {
    if (this.#closed) throw new ReflexError(ErrorCode.closed, 'reflex client is closed');
    let s = this.#session;
    if (s === undefined || s.closed || s.destroyed) s = this.#connect();
    let stream: ClientHttp2Stream;
    try {
      stream = s.request(headers, { endStream: false });
    } catch (err) {
      if (this.#session === s) this.#session = undefined;
      // Nothing else uses it (a session just opened, or an idle one): closed, not leaked.
      if (this.#open === 0) s.close();
      throw new ReflexError(ErrorCode.unavailable, `remote stream: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (this.#open++ === 0) {
      s.ref();
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
    return { stream, state: this.#state };
  }

  #connect(): ClientHttp2Session {
    const session = connect(this.#authority, this.#options);
    const state: SessionState = {};
    session.on('error', (err: Error) => {
      // Reported by the streams of this session, which the error ends.
      state.error ??= err;
    });
    const forget = (): void => {
      if (this.#session === session) this.#session = undefined;
    };
    // After a GOAWAY (a server shutting down) new calls go to a new connection.
    session.once('goaway', (code: number, _last: number, data?: Buffer) => {
      if (code === h2.NGHTTP2_ENHANCE_YOUR_CALM && data?.toString() === 'too_many_pings') {
        this.#keepaliveMs = Math.min(this.#keepaliveMs * 2, maxKeepaliveMs);
      }
      forget();
    });
    session.once('close', forget);
    if (this.#keepaliveMs > 0) this.#keepAlive(session, state);
    this.#session = session;
    this.#state = state;
    return session;
  }

  /**
   * Pings every keepaliveMs while calls are open; a ping unanswered within keepaliveTimeoutMs
   * destroys the session with an UNAVAILABLE error, which its streams report.
   */
  #keepAlive(session: ClientHttp2Session, state: SessionState): void {
    const interval = this.#keepaliveMs;
    let waiting: NodeJS.Timeout | undefined;
    const timer = setInterval(() => {
      if (this.#session !== session || this.#open === 0 || waiting !== undefined) return;
      if (session.destroyed || session.closed) return;
      waiting = setTimeout(() => {
        const err = new ReflexError(
          ErrorCode.unavailable,
          `keepalive: no answer to a ping within ${this.#limits.keepaliveTimeoutMs} ms (connection lost)`,
        );
        state.error ??= err;
        session.destroy(err);
      }, this.#limits.keepaliveTimeoutMs);
      try {
        session.ping((err) => {
          if (err === null) {
            clearTimeout(waiting);
            waiting = undefined;
          }
        });
      } catch {
        // Too many pings outstanding: the timeout decides.
      }
    }, interval).unref();
    session.once('close', () => {
      clearInterval(timer);
      clearTimeout(waiting);
    });
  }

  done(): void {
    if (--this.#open > 0) return;
    const s = this.#session;
    if (s === undefined) return;
    s.unref();
    // An idle connection is closed after a while rather than held (and pinged by the server) forever.
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#open === 0 && this.#session === s) {
        this.#session = undefined;
        s.close();
      }
    }, this.#limits.idleTimeoutMs).unref();
  }

  /** Tracks an open stream, so that `close()` can end it. */
  track(client: { close(): Promise<void> }): () => void {
    this.#clients.add(client);
    return () => this.#clients.delete(client);
  }

  /** Ends the streams and the connection; settles within `closeGraceMs` whatever the peer does. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    await Promise.all([...this.#clients].map((c) => c.close()));
    const s = this.#session;
    this.#session = undefined;
    if (s === undefined || s.destroyed) return;
    await new Promise<void>((resolve) => {
      // A peer that stopped reading never lets a graceful close finish: it is cut after the grace.
      const timer = setTimeout(() => s.destroy(), closeGraceMs);
      s.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (!s.closed) s.close();
    });
  }
}
