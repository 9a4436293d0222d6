// Kysely over mysql2, pg and better-sqlite3: `events.insert(trx, …)` joins Kysely's transaction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  Kysely,
  type Kysely as KyselyDb,
  MysqlDialect,
  PostgresDialect,
  SqliteDialect,
  sql,
  type Transaction,
} from 'kysely';
import { createPool } from 'mysql2';
import pg from 'pg';
import { newEventsTable } from '../../../src/rsql/index.js';
import {
  committedOnly,
  errorsThroughTool,
  type Kind,
  type RawDb,
  rawDb,
  readToHead,
  uniqueName,
} from '../../support/orm.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests use no typed schema
type DB = any;

function kyselyOn(raw: RawDb): KyselyDb<DB> {
  if (raw.kind === 'mysql') {
    return new Kysely<DB>({
      dialect: new MysqlDialect({ pool: createPool({ uri: raw.url, connectionLimit: 2 }) }),
    });
  }
  if (raw.kind === 'postgres') {
    return new Kysely<DB>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: raw.url, max: 2 }) }),
    });
  }
  const db = new Database(raw.url);
  db.pragma('busy_timeout = 5000');
  return new Kysely<DB>({ dialect: new SqliteDialect({ database: db }) });
}

for (const kind of ['mysql', 'postgres', 'sqlite'] as Kind[]) {
  describe(`Kysely on ${kind}`, () => {
    it('streams exactly the events of committed transactions', async (t) => {
      const raw = await rawDb(t, kind);
      if (raw === undefined) return;
      const db = kyselyOn(raw);
      try {
        await committedOnly<Transaction<DB>>(raw, {
          transaction: (fn) => db.transaction().execute(fn),
          exec: async (trx, text) => void (await sql.raw(text).execute(trx)),
        });
        await errorsThroughTool(raw, db);
      } finally {
        await db.destroy();
        await raw.close();
      }
    });
  });
}

// The database of a Kysely handle is learned once per Kysely instance (its dialect adapter), not
// per transaction: instances on different databases in one process, and an instance derived with
// withPlugin, must each still write their own dialect's statement.
describe('Kysely on PostgreSQL and SQLite in one process', () => {
  it('writes each event with its own database, transactions taken in turn', async (t) => {
    const pgRaw = await rawDb(t, 'postgres');
    if (pgRaw === undefined) return;
    const liteRaw = await rawDb(t, 'sqlite');
    const lite = liteRaw === undefined ? undefined : kyselyOn(liteRaw);
    const pgDb = kyselyOn(pgRaw);
    const events = newEventsTable(uniqueName('kysely_two_dbs'));
    try {
      assert.ok(liteRaw !== undefined && lite !== undefined);
      await events.createTable(pgRaw.db);
      await events.createTable(liteRaw.db);
      const pgPlugged = pgDb.withPlugin({
        transformQuery: (a) => a.node,
        transformResult: async (a) => a.result,
      });
      const writers = [pgDb, lite, pgPlugged, lite, pgDb];
      for (const [i, db] of writers.entries()) {
        const notify = await db.transaction().execute((trx) => events.insert(trx, `f${i}`, 1));
        notify();
      }
      const ids = async (raw: RawDb) =>
        (await readToHead(events.toStream(raw.db))).map((e) => e.foreignId);
      assert.deepEqual(await ids(pgRaw), ['f0', 'f2', 'f4']);
      assert.deepEqual(await ids(liteRaw), ['f1', 'f3']);
    } finally {
      await events.close();
      await pgRaw.exec(`DROP TABLE IF EXISTS ${events.name}`);
      await pgDb.destroy();
      await lite?.destroy();
      await liteRaw?.close();
      await pgRaw.close();
    }
  });
});
