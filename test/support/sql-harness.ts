import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import type {
  OpenTransaction,
  SqlHarness,
  SqlHarnessFactory,
} from '../../src/rsql/testing/index.js';
import { mysqlServer, requireServer } from './servers.js';

/** A mysql2 pool on the test server (URL from REFLEX_TEST_MYSQL_URL or the local default). */
export function mysqlPool(url: string, connectionLimit = 10): mysql.Pool {
  return mysql.createPool({ uri: url, connectionLimit, timezone: 'Z' });
}

/** A harness factory over one shared pool per test file. */
export function mysqlHarnessFactory(): SqlHarnessFactory & { pool(): mysql.Pool | undefined } {
  let pool: mysql.Pool | undefined;
  return {
    pool: () => pool,
    async setup(t: TestContext): Promise<SqlHarness | undefined> {
      const url = await requireServer(t, mysqlServer);
      if (url === undefined) return undefined;
      pool ??= mysqlPool(url);
      const p = pool;
      return {
        name: 'mysql',
        db: p,
        async transaction(fn, options) {
          const conn = await p.getConnection();
          try {
            await conn.beginTransaction();
            try {
              await fn(conn);
            } catch (err) {
              await conn.rollback();
              throw err;
            }
            if (options?.rollback === true) await conn.rollback();
            else await conn.commit();
          } finally {
            conn.release();
          }
        },
        async begin(): Promise<OpenTransaction> {
          const conn = await p.getConnection();
          await conn.beginTransaction();
          return {
            tx: conn,
            commit: async () => {
              await conn.commit();
              conn.release();
            },
            rollback: async () => {
              await conn.rollback();
              conn.release();
            },
          };
        },
        async dropTable(name) {
          await p.query(`DROP TABLE IF EXISTS \`${name}\``);
        },
      };
    },
    async teardown() {
      await pool?.end();
      pool = undefined;
    },
  };
}

/** A temp directory for SQLite files, removed by `cleanup`. */
export function sqliteDir(): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), 'reflex-sqlite-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A harness factory over one real SQLite file (WAL) per test file. */
export function sqliteHarnessFactory(): SqlHarnessFactory & {
  database(): Database.Database | undefined;
} {
  let db: Database.Database | undefined;
  let dir: ReturnType<typeof sqliteDir> | undefined;
  return {
    database: () => db,
    async setup(): Promise<SqlHarness> {
      if (db === undefined) {
        dir = sqliteDir();
        db = new Database(join(dir.path, 'events.db'));
        db.pragma('journal_mode = WAL');
      }
      const d = db;
      return {
        name: 'sqlite',
        db: d,
        async transaction(fn, options) {
          d.exec('BEGIN IMMEDIATE');
          try {
            await fn(d);
          } catch (err) {
            d.exec('ROLLBACK');
            throw err;
          }
          d.exec(options?.rollback === true ? 'ROLLBACK' : 'COMMIT');
        },
        begin: undefined,
        async dropTable(name) {
          d.exec(`DROP TABLE IF EXISTS "${name}"`);
        },
      };
    },
    async teardown() {
      db?.close();
      db = undefined;
      dir?.cleanup();
    },
  };
}
