import type { Logger } from '../../core/index.js';
import { invalidArgument } from '../../internal/errors.js';
import { checkOptionKeys } from '../../internal/options.js';
import type { EventsNotifier, HintSubscription } from '../notifier.js';
import { isPgPool, type PgPool } from './driver.js';
import { listenClientFactory, PgListener } from './listener.js';

/** Options of {@link postgresNotifier}. */
export interface PostgresNotifierOptions {
  /**
   * The channel prefix: a table's hints go to channel `<prefix><table>` (cut to 63 bytes). The
   * default is the channel of the `notify: true` option, so both kinds of writers wake the same
   * listeners.
   * @default 'reflex_'
   */
  readonly channelPrefix?: string;
}

/** The NOTIFY channel of a table. */
export function pgHintChannel(prefix: string, table: string): string {
  return `${prefix}${table}`.slice(0, 63);
}

/**
 * Cross-process wake-ups over PostgreSQL's own LISTEN/NOTIFY, sent after the commit: the writer's
 * `notify()` (what `insert` returns) runs `SELECT pg_notify(channel, '')` on a connection of
 * `pool` of its own (at most one in flight per table; a burst of commits costs two), and each
 * loader keeps one dedicated LISTEN connection (a new client with the pool's options, reconnecting
 * on its own). Unlike the `notify: true` option, which queues the NOTIFY inside the writer's
 * transaction (and so serialises committing writers on the server's notification queue lock),
 * the writer's transaction is untouched. Writers that never call `notify()` send no hint: their
 * events arrive at the next poll. Not through a transaction-mode pooler (LISTEN cannot work
 * there): give it a direct pool.
 * @example
 * const events = newEventsTable('user_events', { notifier: postgresNotifier(pool) });
 * const notify = await events.insert(client, id, UserEvent.created); // in the transaction
 * await client.query('COMMIT');
 * notify();
 */
export function postgresNotifier(pool: PgPool, options?: PostgresNotifierOptions): EventsNotifier {
  checkOptionKeys(options, ['channelPrefix'], 'postgresNotifier');
  const newClient = isPgPool(pool) ? listenClientFactory(pool) : undefined;
  if (newClient === undefined) {
    throw invalidArgument(
      'postgresNotifier needs a pg Pool (its LISTEN connections copy its options)',
    );
  }
  const prefix = options?.channelPrefix ?? 'reflex_';
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_$.]*$/.test(prefix)) {
    throw invalidArgument('channelPrefix must be letters, digits, _, $ or .');
  }
  return Object.freeze({
    async publish(table: string): Promise<void> {
      await pool.query({
        text: "SELECT pg_notify($1, '')",
        values: [pgHintChannel(prefix, table)],
      });
    },
    subscribe(table: string, wake: () => void, logger: Logger): HintSubscription {
      return new PgListener(newClient, pgHintChannel(prefix, table), wake, logger);
    },
  });
}
