import type { Logger } from '../../core/index.js';
import { invalidArgument } from '../../internal/errors.js';
import { checkOptionKeys } from '../../internal/options.js';
import type { EventsNotifier, HintSubscription } from '../notifier.js';

/** The dedicated subscriber connection the Redis notifier makes with `duplicate()` (structural). */
export interface RedisHintSubscriber {
  connect(): Promise<unknown>;
  subscribe(
    channel: string,
    listener: (message: string, channel: string) => void,
  ): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: 'error', fn: (err: Error) => void): unknown;
  on(event: 'ready', fn: () => void): unknown;
  /** node-redis ≥ 5 ends a connection at once with `destroy()`; 4 with `disconnect()`. */
  destroy?(): unknown;
  disconnect?(): Promise<unknown>;
}

/** What the Redis notifier uses of a node-redis client (`redis` / `@redis/client`, structural). */
export interface RedisHintClient {
  publish(channel: string, message: string): Promise<unknown>;
  duplicate(): RedisHintSubscriber;
}

/** Options of {@link redisNotifier}. */
export interface RedisNotifierOptions {
  /**
   * The channel prefix: a table's hints go to `<prefix><table>`. Give each database its own when
   * two share a Redis server and table names (a foreign hint costs a query, never an event).
   * @default 'reflex:events:'
   */
  readonly channelPrefix?: string;
}

/**
 * Cross-process wake-ups over Redis pub/sub, on a node-redis client the application already has
 * (`createClient()` of `redis` or `@redis/client`, connected). The writer's `notify()` PUBLISHes
 * to `<prefix><table>` (at most one in flight per table, see {@link EventsNotifier}); loaders of
 * this process share one subscriber connection (`client.duplicate()`, opened at the first
 * subscription and closed with the last), poll at once on each message, and once after each
 * reconnection. Pub/sub is at-most-once, which is all a hint needs: polling stays the fallback.
 * The client stays the application's: closing the table never closes it.
 * @example
 * const redis = await createClient({ url: 'redis://127.0.0.1:6379' }).connect();
 * const events = newEventsTable('user_events', { notifier: redisNotifier(redis) });
 */
export function redisNotifier(
  client: RedisHintClient,
  options?: RedisNotifierOptions,
): EventsNotifier {
  checkOptionKeys(options, ['channelPrefix'], 'redisNotifier');
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.publish !== 'function' ||
    typeof client.duplicate !== 'function'
  ) {
    throw invalidArgument('redisNotifier needs a node-redis client (publish and duplicate)');
  }
  const prefix = options?.channelPrefix ?? 'reflex:events:';
  if (typeof prefix !== 'string' || /\s/.test(prefix)) {
    throw invalidArgument('channelPrefix must be a string without spaces');
  }
  const shared = new SharedSubscriber(client);
  return Object.freeze({
    async publish(table: string): Promise<void> {
      await client.publish(`${prefix}${table}`, '');
    },
    subscribe(table: string, wake: () => void, logger: Logger): HintSubscription {
      return shared.add(`${prefix}${table}`, wake, logger);
    },
  });
}

interface Listener {
  readonly wake: () => void;
  readonly logger: Logger;
}

/** One subscriber connection for every channel of one notifier, refcounted by listener. */
class SharedSubscriber {
  readonly #client: RedisHintClient;
  readonly #channels = new Map<string, Set<Listener>>();
  #conn: RedisHintSubscriber | undefined;

  constructor(client: RedisHintClient) {
    this.#client = client;
  }

  add(channel: string, wake: () => void, logger: Logger): HintSubscription {
    const listener: Listener = { wake, logger };
    const conn = this.#conn ?? this.#open(logger);
    let set = this.#channels.get(channel);
    if (set === undefined) {
      set = new Set();
      this.#channels.set(channel, set);
      const listeners = set;
      conn
        .subscribe(channel, () => {
          for (const l of listeners) l.wake();
        })
        .catch((err: unknown) => {
          logger.warn('redis hint subscription failed; polling meanwhile', { channel, error: err });
        });
    }
    set.add(listener);
    let closed = false;
    return {
      close: async (): Promise<void> => {
        if (closed) return;
        closed = true;
        await this.#remove(channel, listener);
      },
    };
  }

  #open(logger: Logger): RedisHintSubscriber {
    const conn = this.#client.duplicate();
    this.#conn = conn;
    let ready = false;
    conn.on('error', (err) => {
      logger.warn('redis hint connection failed; polling meanwhile', { error: err });
    });
    conn.on('ready', () => {
      // node-redis subscribes again by itself; hints sent while it was down are lost.
      if (ready) for (const set of this.#channels.values()) for (const l of set) l.wake();
      ready = true;
    });
    conn.connect().catch((err: unknown) => {
      logger.warn('redis hint connection failed; polling meanwhile', { error: err });
    });
    return conn;
  }

  async #remove(channel: string, listener: Listener): Promise<void> {
    const set = this.#channels.get(channel);
    if (set === undefined || !set.delete(listener) || set.size > 0) return;
    this.#channels.delete(channel);
    const conn = this.#conn;
    if (conn === undefined) return;
    if (this.#channels.size > 0) {
      await conn.unsubscribe(channel).catch(() => {});
      return;
    }
    // The last listener: the connection goes (a new one opens for the next subscription).
    this.#conn = undefined;
    if (typeof conn.destroy === 'function') conn.destroy();
    else await conn.disconnect?.().catch(() => {});
  }
}
