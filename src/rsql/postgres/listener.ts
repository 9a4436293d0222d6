import type { Logger } from '../../core/index.js';
import type { WakeupSource } from '../dialect.js';
import { type PgQueryable, poolOptions } from './driver.js';

/** A pg `Client` used for LISTEN (structural). */
export interface PgListenClient extends PgQueryable {
  connect(): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'notification', fn: (msg: { channel: string }) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  removeAllListeners(event?: string): unknown;
}

type ClientCtor = new (config: object) => PgListenClient;

/** Reconnect delays of the LISTEN connection: doubling from the first to the last, in ms. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

/**
 * A cross-process wake-up hint: one dedicated connection LISTENs on the table's channel and calls
 * `wake` for each notification, and once after every (re)connect (to catch what was missed while
 * down). It reconnects on its own with a capped backoff. Nothing depends on it for correctness:
 * the loader polls regardless (a pooler in transaction mode, NOTIFY off or a dropped connection
 * only cost latency).
 */
export class PgListener implements WakeupSource {
  readonly #newClient: () => PgListenClient;
  readonly #channel: string;
  readonly #wake: () => void;
  readonly #logger: Logger;
  #client: PgListenClient | undefined;
  #timer: NodeJS.Timeout | undefined;
  #delay = RECONNECT_MIN_MS;
  #closed = false;

  constructor(newClient: () => PgListenClient, channel: string, wake: () => void, logger: Logger) {
    this.#newClient = newClient;
    this.#channel = channel;
    this.#wake = wake;
    this.#logger = logger;
    this.#connect();
  }

  #connect(): void {
    if (this.#closed) return;
    let client: PgListenClient;
    try {
      client = this.#newClient();
    } catch (err) {
      this.#retry(err);
      return;
    }
    this.#client = client;
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      client.removeAllListeners('notification');
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => {});
      this.#retry(err);
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('LISTEN connection ended')));
    client.on('notification', (msg) => {
      if (msg.channel === this.#channel) this.#wake();
    });
    client
      .connect()
      .then(() => client.query({ text: `LISTEN "${this.#channel.replaceAll('"', '""')}"` }))
      .then(
        () => {
          if (this.#closed) {
            client.end().catch(() => {});
            return;
          }
          this.#delay = RECONNECT_MIN_MS;
          this.#wake(); // anything committed while not listening
        },
        (err: unknown) => fail(err),
      );
  }

  #retry(err: unknown): void {
    if (this.#closed) return;
    this.#logger.warn('postgres LISTEN connection lost; polling meanwhile', {
      channel: this.#channel,
      retryInMs: this.#delay,
      error: err,
    });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect();
    }, this.#delay);
    this.#delay = Math.min(this.#delay * 2, RECONNECT_MAX_MS);
  }

  /** The backend pid of the LISTEN connection, when connected (tests). */
  get processID(): number | undefined {
    return (this.#client as { processID?: number } | undefined)?.processID ?? undefined;
  }

  /** Stops for good; settles once the LISTEN connection is ended. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const c = this.#client;
    this.#client = undefined;
    if (c !== undefined) {
      c.removeAllListeners('notification');
      c.removeAllListeners('end');
      await c.end().catch(() => {});
    }
  }
}

/**
 * A factory of LISTEN clients for a pg Pool: a new `pool.Client` with the pool's own connection
 * options (no driver import). Undefined for a single Client handle (its connection serves the
 * user; a dedicated one cannot be derived).
 */
export function listenClientFactory(handle: unknown): (() => PgListenClient) | undefined {
  const options = poolOptions(handle);
  const Ctor = (handle as { Client?: unknown }).Client;
  if (options === undefined || typeof Ctor !== 'function') return undefined;
  return () => new (Ctor as ClientCtor)(options);
}
