// MariaDB/MySQL has no wake-up of its own: the NATS and Redis notifiers carry the hints. Real
// servers on both sides (MariaDB, and NATS or Redis).
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import { createClient } from '@redis/client';
import type { Pool } from 'mysql2/promise';
import { connect, type NatsConnection } from 'nats';
import { ErrorCode, hasCode } from '../../../src/core/index.js';
import {
  type EventsNotifier,
  type EventsTable,
  natsNotifier,
  newEventsTable,
  redisNotifier,
} from '../../../src/rsql/index.js';
import {
  duplicatesReachTheReader,
  everyEventExactlyOnce,
  type HintBackend,
  hintsWakeTheReader,
  lossy,
  sustainedRateExactlyOnce,
} from '../../support/hint-scenarios.js';
import {
  mysqlServer,
  natsServer,
  redisServer,
  requireServer,
  uniqueName,
} from '../../support/servers.js';
import { mysqlPool } from '../../support/sql-harness.js';

let pool: Pool | undefined;
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
  await pool?.end();
});

async function mysqlBackend(t: TestContext): Promise<HintBackend | undefined> {
  const url = await requireServer(t, mysqlServer);
  if (url === undefined) return undefined;
  pool ??= mysqlPool(url, 8);
  const p = pool;
  return {
    db: p,
    async write(table, foreignId, options) {
      const conn = await p.getConnection();
      try {
        await conn.beginTransaction();
        const notify = await table.insert(conn, foreignId, 1);
        options?.beforeCommit?.();
        if (options?.rollback === true) await conn.rollback();
        else await conn.commit();
        return notify;
      } finally {
        conn.release();
      }
    },
  };
}

async function nats(t: TestContext): Promise<NatsConnection | undefined> {
  const url = await requireServer(t, natsServer);
  if (url === undefined) return undefined;
  const u = new URL(url);
  const nc = await connect({ servers: `${u.hostname}:${u.port || '4222'}` });
  closers.push(() => nc.close());
  return nc;
}

async function redis(t: TestContext) {
  const url = await requireServer(t, redisServer);
  if (url === undefined) return undefined;
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  closers.push(() => client.close());
  return client;
}

/** A fresh events table created on MariaDB; the writer's and the reader's table objects. */
async function tables(
  b: HintBackend,
  writerNotifier: EventsNotifier,
  readerNotifier: EventsNotifier,
  readerPollMs: number,
): Promise<{ writer: EventsTable; reader: EventsTable }> {
  const name = uniqueName('ev_hint');
  const writer = newEventsTable(name, { notifier: writerNotifier });
  const reader = newEventsTable(name, { notifier: readerNotifier, pollIntervalMs: readerPollMs });
  await writer.createTable(b.db);
  closers.push(async () => {
    await reader.close();
    await writer.close();
    await pool?.query(`DROP TABLE IF EXISTS ${name}`);
  });
  return { writer, reader };
}

const notifiers: {
  name: string;
  make: (t: TestContext) => Promise<EventsNotifier | undefined>;
}[] = [
  {
    name: 'NATS',
    make: async (t) => {
      const nc = await nats(t);
      return nc === undefined ? undefined : natsNotifier(nc, { subjectPrefix: uniqueName('t') });
    },
  },
  {
    name: 'Redis',
    make: async (t) => {
      const c = await redis(t);
      return c === undefined
        ? undefined
        : redisNotifier(c, { channelPrefix: `${uniqueName('t')}:` });
    },
  },
];

for (const n of notifiers) {
  describe(`MariaDB with the ${n.name} notifier`, () => {
    it('hints alone wake a reader in another table object (its poll interval is an hour)', async (t) => {
      const b = await mysqlBackend(t);
      const notifier = b === undefined ? undefined : await n.make(t);
      if (b === undefined || notifier === undefined) return;
      const { writer, reader } = await tables(b, notifier, notifier, 3_600_000);
      await hintsWakeTheReader(b, writer, reader);
    });

    it('a sustained write rate (the hint gap widened on both ends) loses and duplicates no event, hints alone delivering', async (t) => {
      const b = await mysqlBackend(t);
      const notifier = b === undefined ? undefined : await n.make(t);
      if (b === undefined || notifier === undefined) return;
      const { writer, reader } = await tables(b, notifier, notifier, 3_600_000);
      await sustainedRateExactlyOnce(b, writer, reader);
    });

    it('lost hints (all, or two in three) lose no event: polling delivers each exactly once', async (t) => {
      const b = await mysqlBackend(t);
      const notifier = b === undefined ? undefined : await n.make(t);
      if (b === undefined || notifier === undefined) return;
      for (const keep of [0, 3]) {
        const { writer, reader } = await tables(b, lossy(notifier, keep), notifier, 100);
        await everyEventExactlyOnce(b, writer, reader);
      }
    });

    it('duplicated, early and spurious hints duplicate no event', async (t) => {
      const b = await mysqlBackend(t);
      const notifier = b === undefined ? undefined : await n.make(t);
      if (b === undefined || notifier === undefined) return;
      await duplicatesReachTheReader(b, notifier, (w, r) => tables(b, w, r, 100));
    });
  });
}

const isInvalidArgument = (e: unknown): boolean => hasCode(e, ErrorCode.invalidArgument);

describe('notifier options', () => {
  it('bad notifiers and options are refused at construction', () => {
    assert.throws(() => newEventsTable('t', { notifier: {} as EventsNotifier }), isInvalidArgument);
    assert.throws(() => natsNotifier({} as never), isInvalidArgument);
    assert.throws(() => redisNotifier({} as never), isInvalidArgument);
    const fake = { publish() {}, subscribe: () => ({ unsubscribe() {} }) };
    assert.throws(() => natsNotifier(fake, { subjectPrefix: 'a b' }), isInvalidArgument);
    assert.throws(() => natsNotifier(fake, { subjectPrefix: 'a.*' }), isInvalidArgument);
    assert.throws(() => natsNotifier(fake, { bogus: 1 } as never), isInvalidArgument);
  });
});
