// Kysely over mysql2, pg and better-sqlite3: `events.insert(trx, …)` joins Kysely's transaction.
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
import {
  committedOnly,
  errorsThroughTool,
  type Kind,
  type RawDb,
  rawDb,
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
