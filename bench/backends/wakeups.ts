// The cross-process wake-ups the bench compares (docs/latency.md): each is the events table
// options that turn it on, built in whichever process needs them (the bench, or the latency
// writer's child), with the connections they hold.
import { createClient } from '@redis/client';
import { connect } from 'nats';
import {
  type EventsTableOptions,
  natsNotifier,
  type PgPool,
  postgresNotifier,
  redisNotifier,
  type SqlDatabase,
} from '../../src/rsql/index.js';

export const wakeupNames = ['poll', 'watch', 'notify-tx', 'pg-notifier', 'nats', 'redis'] as const;
export type WakeupName = (typeof wakeupNames)[number];

/** How each wake-up is named in the report. */
export const wakeupLabels: Readonly<Record<WakeupName, string>> = {
  poll: 'polling only',
  watch: 'file watch (default)',
  'notify-tx': 'notify: true (NOTIFY in the tx)',
  'pg-notifier': 'postgresNotifier',
  nats: 'natsNotifier',
  redis: 'redisNotifier',
};

/** The wake-ups measured per backend, beside polling. */
export function wakeupsOf(backend: string): readonly WakeupName[] {
  switch (backend) {
    case 'sqlite':
      return ['watch'];
    case 'mysql':
      return ['nats', 'redis'];
    case 'postgres':
      return ['pg-notifier', 'notify-tx'];
    default:
      return [];
  }
}

export interface WakeupSetup {
  readonly options: EventsTableOptions;
  close(): Promise<void>;
}

const natsUrl = process.env.REFLEX_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const redisUrl = process.env.REFLEX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The table options of `wakeup` on `db`, and what closes the connections they hold. */
export async function wakeupSetup(wakeup: WakeupName, db: SqlDatabase): Promise<WakeupSetup> {
  const none = async (): Promise<void> => {};
  switch (wakeup) {
    case 'poll':
      return { options: { notify: false }, close: none };
    case 'watch':
      return { options: {}, close: none };
    case 'notify-tx':
      return { options: { notify: true }, close: none };
    case 'pg-notifier':
      return { options: { notifier: postgresNotifier(db as PgPool) }, close: none };
    case 'nats': {
      const u = new URL(natsUrl);
      const nc = await connect({ servers: `${u.hostname}:${u.port || '4222'}`, timeout: 3000 });
      return { options: { notifier: natsNotifier(nc) }, close: () => nc.close() };
    }
    case 'redis': {
      const client = createClient({ url: redisUrl });
      client.on('error', () => {});
      await client.connect();
      return {
        options: { notifier: redisNotifier(client) },
        close: async () => {
          await client.close();
        },
      };
    }
  }
}
