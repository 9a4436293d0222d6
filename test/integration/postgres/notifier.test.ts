// postgresNotifier: NOTIFY after the commit, on a pool connection of its own; LISTEN in the
// reader's loader. Real PostgreSQL; a second table object stands for another process.
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import type pg from 'pg';
import { ErrorCode, hasCode } from '../../../src/core/index.js';
import {
  type EventsNotifier,
  type EventsTable,
  newEventsTable,
  postgresNotifier,
} from '../../../src/rsql/index.js';
import {
  duplicatesReachTheReader,
  everyEventExactlyOnce,
  type HintBackend,
  hintsWakeTheReader,
  lossy,
  sustainedRateExactlyOnce,
} from '../../support/hint-scenarios.js';
import { pgPool } from '../../support/pg-pool.js';
import { postgresServer, requireServer, uniqueName } from '../../support/servers.js';
import { waitFor } from '../../support/wait.js';

let pool: pg.Pool | undefined;
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
  await pool?.end();
});

async function pgBackend(t: TestContext): Promise<(HintBackend & { pool: pg.Pool }) | undefined> {
  const url = await requireServer(t, postgresServer);
  if (url === undefined) return undefined;
  pool ??= pgPool(url, 8);
  const p = pool;
  return {
    pool: p,
    db: p,
    async write(table, foreignId, options) {
      const client = await p.connect();
      try {
        await client.query('BEGIN');
        const notify = await table.insert(client, foreignId, 1);
        options?.beforeCommit?.();
        await client.query(options?.rollback === true ? 'ROLLBACK' : 'COMMIT');
        return notify;
      } finally {
        client.release();
      }
    },
  };
}

function pair(
  b: { pool: pg.Pool },
  writerNotifier: EventsNotifier,
  readerNotifier: EventsNotifier,
  readerPollMs: number,
): { name: string; writer: EventsTable; reader: EventsTable } {
  const name = uniqueName('pg_hint');
  const writer = newEventsTable(name, { notifier: writerNotifier });
  const reader = newEventsTable(name, { notifier: readerNotifier, pollIntervalMs: readerPollMs });
  closers.push(async () => {
    await reader.close();
    await writer.close();
    await b.pool.query(`DROP TABLE IF EXISTS "${name}"`);
  });
  return { name, writer, reader };
}

describe('postgresNotifier', () => {
  it('hints sent after the commit alone wake a reader in another table object (poll interval an hour)', async (t) => {
    const b = await pgBackend(t);
    if (b === undefined) return;
    const notifier = postgresNotifier(b.pool);
    const { writer, reader } = pair(b, notifier, notifier, 3_600_000);
    await writer.createTable(b.pool);
    await hintsWakeTheReader(b, writer, reader);
  });

  it('a sustained write rate (the hint gap widened on both ends) loses and duplicates no event, hints alone delivering', async (t) => {
    const b = await pgBackend(t);
    if (b === undefined) return;
    const notifier = postgresNotifier(b.pool);
    const { writer, reader } = pair(b, notifier, notifier, 3_600_000);
    await writer.createTable(b.pool);
    await sustainedRateExactlyOnce(b, writer, reader);
  });

  it('lost hints (none sent, then its LISTEN connection terminated) lose no event', async (t) => {
    const b = await pgBackend(t);
    if (b === undefined) return;
    const notifier = postgresNotifier(b.pool);
    const { name, writer, reader } = pair(b, lossy(notifier), notifier, 100);
    await writer.createTable(b.pool);
    await everyEventExactlyOnce(b, writer, reader);
    const listenPid = async (): Promise<number | undefined> => {
      const r = await b.pool.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()',
        [`LISTEN "reflex_${name}"`],
      );
      return r.rows[0]?.pid;
    };
    await waitFor('the LISTEN connection', async () => (await listenPid()) !== undefined);
    await b.pool.query('SELECT pg_terminate_backend($1, 5000)', [await listenPid()]);
    await everyEventExactlyOnce(b, writer, reader);
  });

  it('duplicated, early and spurious hints duplicate no event', async (t) => {
    const b = await pgBackend(t);
    if (b === undefined) return;
    const notifier = postgresNotifier(b.pool);
    await duplicatesReachTheReader(b, notifier, async (w, r) => {
      const { writer, reader } = pair(b, w, r, 100);
      await writer.createTable(b.pool);
      return { writer, reader };
    });
  });

  it('refuses a handle that is not a pool, and unknown options', async (t) => {
    const b = await pgBackend(t);
    if (b === undefined) return;
    const client = await b.pool.connect();
    try {
      const invalid = (e: unknown): boolean => hasCode(e, ErrorCode.invalidArgument);
      assert.throws(() => postgresNotifier(client as never), invalid);
      assert.throws(() => postgresNotifier(b.pool, { bogus: 1 } as never), invalid);
      assert.throws(() => postgresNotifier(b.pool, { channelPrefix: 'a"b' }), invalid);
    } finally {
      client.release();
    }
  });
});
