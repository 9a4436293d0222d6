// One server connection's guard: it closes a connection that never starts a call or sits idle,
// pings it (keepalive) and closes it when the ping goes unanswered, and sends GOAWAY
// ENHANCE_YOUR_CALM to a connection that floods PINGs or resets too many streams too fast (the
// HTTP/2 rapid-reset attack, CVE-2023-44487).
import { type Http2Session, constants as h2 } from 'node:http2';
import type { Logger } from '../core/index.js';
import type { ServerLimits } from './limits.js';

/** How long a connection told to go away may take to finish its calls before it is cut. */
const goawayGraceMs = 5000;
/** Client PINGs closer together than minPingIntervalMs tolerated before GOAWAY (grpc-go allows 2). */
const maxPingStrikes = 2;

export class PeerGuard {
  readonly #session: Http2Session;
  readonly #limits: ServerLimits;
  readonly #logger: Logger;
  readonly #onAbusive: (session: Http2Session) => void;
  #calls = 0;
  #everCalled = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #pingTimeout: NodeJS.Timeout | undefined;
  #lastPing = 0;
  #pingStrikes = 0;
  /** Token bucket of stream resets: refilled at maxResetRate per second up to maxResetBurst. */
  #resetTokens: number;
  #resetRefilledAt = Date.now();
  #closing = false;

  /**
   * @param onAbusive takes over a connection told to go away for abuse, once its GOAWAY is out:
   *   cuts its calls and holds or closes it
   */
  constructor(
    session: Http2Session,
    limits: ServerLimits,
    logger: Logger,
    onAbusive: (session: Http2Session) => void,
  ) {
    this.#session = session;
    this.#limits = limits;
    this.#logger = logger;
    this.#onAbusive = onAbusive;
    this.#resetTokens = limits.maxResetBurst;
    this.#armIdle(limits.handshakeTimeoutMs);
    if (limits.keepaliveMs > 0) {
      this.#pingTimer = setInterval(() => this.#ping(), limits.keepaliveMs).unref();
    }
    session.on('ping', () => this.#onPing());
    session.once('close', () => this.#clear());
  }

  get peer(): string {
    const s = this.#session.socket;
    return `${s?.remoteAddress ?? ''}:${s?.remotePort ?? ''}`;
  }

  /** A call started on this connection. */
  callStarted(): void {
    this.#calls++;
    this.#everCalled = true;
    // A peer that makes calls may ping as it likes between them (grpc-go resets strikes on data too).
    this.#pingStrikes = 0;
    if (this.#idleTimer !== undefined) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
  }

  /** A call ended. */
  callEnded(): void {
    this.#calls--;
    if (this.#calls === 0 && !this.#closing) this.#armIdle(this.#limits.idleTimeoutMs);
  }

  /** Says whether a call may still cost the server work: false once the connection goes away. */
  get accepting(): boolean {
    return !this.#closing && !this.#session.closed && !this.#session.destroyed;
  }

  /**
   * The client reset a stream before the server finished it; too many too fast (beyond the burst
   * and the refill rate) and the connection is told to go away.
   */
  countReset(): void {
    const now = Date.now();
    const { maxResetBurst, maxResetRate } = this.#limits;
    this.#resetTokens = Math.min(
      maxResetBurst,
      this.#resetTokens + ((now - this.#resetRefilledAt) / 1000) * maxResetRate,
    );
    this.#resetRefilledAt = now;
    this.#resetTokens -= 1;
    if (this.#resetTokens < 0) {
      this.#goAway('too_many_resets');
    }
  }

  #onPing(): void {
    const now = Date.now();
    const since = now - this.#lastPing;
    this.#lastPing = now;
    if (this.#limits.minPingIntervalMs === 0) return;
    if (since < this.#limits.minPingIntervalMs && ++this.#pingStrikes > maxPingStrikes) {
      this.#goAway('too_many_pings');
    }
  }

  #ping(): void {
    const s = this.#session;
    if (s.destroyed || s.closed || this.#pingTimeout !== undefined) return;
    this.#pingTimeout = setTimeout(() => {
      this.#logger.warn('reflex grpc server: keepalive ping unanswered, closing the connection', {
        peer: this.peer,
        timeoutMs: this.#limits.keepaliveTimeoutMs,
      });
      s.destroy();
    }, this.#limits.keepaliveTimeoutMs).unref();
    try {
      s.ping((err) => {
        if (err !== null) return; // the session is closing: its 'close' clears the timers
        clearTimeout(this.#pingTimeout);
        this.#pingTimeout = undefined;
      });
    } catch {
      // Too many pings outstanding: the timeout above decides.
    }
  }

  #armIdle(ms: number): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#calls > 0) return;
      if (!this.#everCalled) {
        // Never started a call: no GOAWAY dance, it costs a socket and nothing else is at stake.
        this.#logger.debug('reflex grpc server: connection started no call in time, closed', {
          peer: this.peer,
        });
        this.#session.destroy();
      } else {
        this.#logger.debug('reflex grpc server: idle connection closed', { peer: this.peer });
        this.#goAway(undefined);
      }
    }, ms).unref();
  }

  /** GOAWAY (ENHANCE_YOUR_CALM when `abuse` names the reason), then a cut after a short grace. */
  #goAway(abuse: string | undefined): void {
    if (this.#closing) return;
    this.#closing = true;
    const s = this.#session;
    if (s.destroyed) return;
    if (abuse !== undefined) {
      this.#logger.warn('reflex grpc server: abusive connection told to go away', {
        peer: this.peer,
        reason: abuse,
      });
      try {
        // The debug data says why, as grpc-go's "too_many_pings" does.
        s.goaway(h2.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from(abuse));
      } catch {
        // The session is closing already.
      }
      // An abusive peer gets no grace: its calls are cut once the GOAWAY is out, and it is held.
      this.#clear();
      this.#onAbusive(s);
      return;
    }
    s.close();
    setTimeout(() => s.destroy(), goawayGraceMs).unref();
  }

  #clear(): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pingTimeout);
    clearTimeout(this.#idleTimer);
    this.#pingTimeout = undefined;
    this.#idleTimer = undefined;
  }
}
