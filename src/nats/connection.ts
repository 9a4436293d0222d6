// The `nats` package, loaded on first use, and the one connection a JetStream client shares
// between its sources and relays. Only this file and the two that use its handles know the
// package's types; the public API is structural.
import type * as Nats from 'nats';
import { ErrorCode, ReflexError } from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { natsError } from './errors.js';

type NatsModule = typeof Nats;

let natsModule: Promise<NatsModule> | undefined;

/** The `nats` package (v2), imported on first use: only users of the bridge need it installed. */
export function loadNats(): Promise<NatsModule> {
  natsModule ??= import('nats').catch((err: unknown) => {
    natsModule = undefined;
    throw invalidArgument(
      'the JetStream bridge needs the optional peer dependency nats (v2): npm install nats',
      err,
    );
  });
  return natsModule;
}

/** An open connection with its JetStream handles. */
export interface Handles {
  readonly nats: NatsModule;
  readonly nc: Nats.NatsConnection;
  readonly js: Nats.JetStreamClient;
  readonly jsm: Nats.JetStreamManager;
}

/** How {@link Connection} connects. */
export interface ConnectSettings {
  readonly servers: readonly string[];
  readonly timeoutMs: number;
  readonly maxReconnectAttempts: number;
  readonly name: string | undefined;
  /** The application's own connection (never closed here). */
  readonly connection: unknown;
}

/**
 * Connects once, lazily (at the first source or relay that needs it); a failed connect is
 * forgotten so the next use tries again. `close()` closes a connection it made.
 */
export class Connection {
  readonly #settings: ConnectSettings;
  #handles: Promise<Handles> | undefined;
  #closed = false;

  constructor(settings: ConnectSettings) {
    this.#settings = settings;
  }

  get(): Promise<Handles> {
    if (this.#closed) {
      return Promise.reject(new ReflexError(ErrorCode.closed, 'JetStream client is closed'));
    }
    this.#handles ??= this.#open().catch((err: unknown) => {
      this.#handles = undefined;
      throw err;
    });
    return this.#handles;
  }

  async #open(): Promise<Handles> {
    const nats = await loadNats();
    const s = this.#settings;
    let nc: Nats.NatsConnection;
    if (s.connection !== undefined) {
      nc = s.connection as Nats.NatsConnection;
    } else {
      const options: Nats.ConnectionOptions = {
        servers: [...s.servers],
        timeout: s.timeoutMs,
        maxReconnectAttempts: s.maxReconnectAttempts,
      };
      if (s.name !== undefined) options.name = s.name;
      try {
        nc = await nats.connect(options);
      } catch (err) {
        throw natsError(
          err,
          `JetStream at ${s.servers.join(',')} unreachable`,
          ErrorCode.unavailable,
        );
      }
      if (this.#closed) {
        await nc.close();
        throw new ReflexError(ErrorCode.closed, 'JetStream client is closed');
      }
    }
    const js = nc.jetstream({ timeout: s.timeoutMs });
    let jsm: Nats.JetStreamManager;
    try {
      jsm = await nc.jetstreamManager({ timeout: s.timeoutMs });
    } catch (err) {
      if (s.connection === undefined) await nc.close().catch(() => {});
      throw natsError(err, 'JetStream is not available', ErrorCode.unavailable);
    }
    return { nats, nc, js, jsm };
  }

  /**
   * Rejects once the connection `h` is closed for good: `ERR_REFLEX_CLOSED` when this client
   * closed it, else `ERR_REFLEX_UNAVAILABLE` (the server went away and reconnecting gave up).
   */
  lost(h: Handles): Promise<never> {
    const lost = h.nc.closed().then((err) => {
      if (this.#closed) throw new ReflexError(ErrorCode.closed, 'JetStream client is closed');
      throw new ReflexError(
        ErrorCode.unavailable,
        `the connection to JetStream was lost${err instanceof Error ? `: ${err.message}` : ''}`,
        err instanceof Error ? { cause: err } : undefined,
      );
    });
    lost.catch(() => {});
    return lost;
  }

  /** True when the connection was made and then closed (by the server giving up, or by us). */
  async isLost(): Promise<boolean> {
    const h = await this.#handles?.catch(() => undefined);
    return h?.nc.isClosed() === true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const h = await this.#handles?.catch(() => undefined);
    if (h !== undefined && this.#settings.connection === undefined && !h.nc.isClosed()) {
      await h.nc.close().catch(() => {});
    }
  }
}
