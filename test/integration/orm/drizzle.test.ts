// Drizzle over node-postgres, mysql2 and better-sqlite3: `events.insert(tx, …)` joins Drizzle's
// transaction; on better-sqlite3 (synchronous transactions) `insertSync` does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { drizzle as drizzleMysql } from 'drizzle-orm/mysql2';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { ReflexError } from '../../../src/core/index.js';
import { newErrorsTable, newEventsTable } from '../../../src/rsql/index.js';
import {
  committedOnly,
  errorsThroughTool,
  rawDb,
  readToHead,
  uniqueName,
} from '../../support/orm.js';

/** The transaction object a Drizzle database hands to `transaction(fn)`. */
// biome-ignore lint/suspicious/noExplicitAny: any database's transaction callback
type TxOf<D extends { transaction(fn: (tx: any) => any): any }> = Parameters<
  Parameters<D['transaction']>[0]
>[0];

describe('Drizzle on postgres (node-postgres)', () => {
  it('streams exactly the events of committed transactions', async (t) => {
    const raw = await rawDb(t, 'postgres');
    if (raw === undefined) return;
    const pool = new pg.Pool({ connectionString: raw.url, max: 2 });
    const db = drizzlePg(pool);
    try {
      await committedOnly<TxOf<typeof db>>(raw, {
        transaction: (fn) => db.transaction(fn),
        exec: async (tx, text) => void (await tx.execute(sql.raw(text))),
      });
      await errorsThroughTool(raw, db);
    } finally {
      await pool.end();
      await raw.close();
    }
  });
});

describe('Drizzle on mysql (mysql2)', () => {
  it('streams exactly the events of committed transactions', async (t) => {
    const raw = await rawDb(t, 'mysql');
    if (raw === undefined) return;
    const pool = mysql.createPool({ uri: raw.url, connectionLimit: 2 });
    const db = drizzleMysql(pool);
    try {
      await committedOnly<TxOf<typeof db>>(raw, {
        transaction: (fn) => db.transaction(fn),
        exec: async (tx, text) => void (await tx.execute(sql.raw(text))),
      });
      await errorsThroughTool(raw, db);
    } finally {
      await pool.end();
      await raw.close();
    }
  });
});

describe('Drizzle on sqlite (better-sqlite3)', () => {
  it('insertSync joins the synchronous transaction: exactly the committed events stream', async (t) => {
    const raw = await rawDb(t, 'sqlite');
    if (raw === undefined) return;
    const conn = new Database(raw.url);
    conn.pragma('busy_timeout = 5000');
    const db = drizzleSqlite(conn);
    const name = uniqueName('orm_events');
    const events = newEventsTable(name, { pollIntervalMs: 20 });
    try {
      await events.createTable(raw.db);
      const write = (id: string, fail: boolean): void => {
        const notify = db.transaction((tx) => {
          const n = events.insertSync(tx, id, 3);
          events.insertSync(tx, id, 4); // the same tx again: bound again, same transaction
          if (fail) throw new Error(`roll back ${id}`);
          return n;
        });
        notify();
      };
      write('a', false);
      assert.throws(() => write('b', true), /roll back b/);
      write('c', false);
      // The asynchronous insert works on the same handle outside a transaction too.
      (await events.insert(db, 'd', 3))();
      const got = await readToHead(events.toStream(raw.db));
      assert.deepEqual(
        got.map((e) => `${e.foreignId}:${e.type}`),
        ['a:3', 'a:4', 'c:3', 'c:4', 'd:3'],
      );
      // The stream side wants the driver's database, not the tool's.
      assert.throws(
        () => events.toStream(db as never),
        (err: unknown) => err instanceof ReflexError && /pool your Drizzle uses/.test(err.message),
      );
      // Its transactions are synchronous: the errors table cannot open one through it.
      assert.throws(
        () => newErrorsTable({ table: uniqueName('x') }).toErrorInsertFunc(db),
        (err: unknown) => err instanceof ReflexError && /cannot/.test(err.message),
      );
    } finally {
      await events.close();
      conn.close();
      await raw.exec(`DROP TABLE IF EXISTS ${name}`);
      await raw.close();
    }
  });
});
