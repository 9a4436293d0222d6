import type { Logger } from '../../core/index.js';
import { invalidArgument } from '../../internal/errors.js';
import { checkOptionKeys } from '../../internal/options.js';
import type { EventsNotifier, HintSubscription } from '../notifier.js';

/** What the NATS notifier uses of a `nats` connection (structural; nothing is imported). */
export interface NatsHintConnection {
  publish(subject: string): void;
  subscribe(
    subject: string,
    options: { callback: (err: Error | null, msg: unknown) => void },
  ): { unsubscribe(): void };
  /** Status events (`{ type: 'reconnect' }` …), to wake after a reconnection. Optional. */
  status?(): AsyncIterable<{ type: string }>;
}

/** Options of {@link natsNotifier}. */
export interface NatsNotifierOptions {
  /**
   * The subject prefix: a table's hints go to `<prefix>.<table>`. Give each database its own when
   * two share a NATS server and table names (a foreign hint costs a query, never an event).
   * @default 'reflex.events'
   */
  readonly subjectPrefix?: string;
}

/** A subject prefix: dot-separated tokens without whitespace or wildcards. */
export function checkSubjectPrefix(prefix: unknown, what: string): string {
  if (typeof prefix !== 'string' || !/^[^\s.*>]+(\.[^\s.*>]+)*$/.test(prefix)) {
    throw invalidArgument(`${what} must be dot-separated tokens without spaces or wildcards`);
  }
  return prefix;
}

/**
 * Cross-process wake-ups over NATS core subjects, on a connection the application already has
 * (`import { connect } from 'nats'`). The writer's `notify()` publishes an empty message to
 * `<prefix>.<table>` (at most one per burst of commits, see {@link EventsNotifier}); each loader
 * subscribes to it and polls at once on each message, and once after each reconnection. Core
 * NATS is at-most-once, which is all a hint needs: polling stays the fallback. The connection
 * stays the application's: closing the table unsubscribes but never closes it.
 * @example
 * const nc = await connect({ servers: '127.0.0.1:4222' });
 * const events = newEventsTable('user_events', { notifier: natsNotifier(nc) });
 */
export function natsNotifier(
  connection: NatsHintConnection,
  options?: NatsNotifierOptions,
): EventsNotifier {
  checkOptionKeys(options, ['subjectPrefix'], 'natsNotifier');
  if (
    typeof connection !== 'object' ||
    connection === null ||
    typeof connection.publish !== 'function' ||
    typeof connection.subscribe !== 'function'
  ) {
    throw invalidArgument('natsNotifier needs a nats connection (publish and subscribe)');
  }
  const prefix = checkSubjectPrefix(options?.subjectPrefix ?? 'reflex.events', 'subjectPrefix');
  const subject = (table: string): string => `${prefix}.${table}`;
  return Object.freeze({
    publish(table: string): void {
      connection.publish(subject(table));
    },
    subscribe(table: string, wake: () => void, logger: Logger): HintSubscription {
      const sub = connection.subscribe(subject(table), {
        callback: (err) => {
          if (err === null) wake();
          else
            logger.warn('nats hint subscription failed; polling meanwhile', { table, error: err });
        },
      });
      const statusIterator = connection.status?.()[Symbol.asyncIterator]();
      let closed = false;
      if (statusIterator !== undefined) {
        void (async () => {
          try {
            for (;;) {
              const r = await statusIterator.next();
              if (r.done === true || closed) return;
              // The subscription is renewed by the client; hints sent while down are lost.
              if (r.value.type === 'reconnect') wake();
            }
          } catch {
            // The connection closed: polling goes on.
          }
        })();
      }
      return {
        close(): void {
          if (closed) return;
          closed = true;
          sub.unsubscribe();
          // Ends the status loop above (nats' QueuedIterator has stop(); a plain one, return()).
          const it = statusIterator as { stop?: () => void; return?: () => unknown } | undefined;
          if (typeof it?.stop === 'function') it.stop();
          else void it?.return?.();
        },
      };
    },
  });
}
