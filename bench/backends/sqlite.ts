// SQLite through better-sqlite3, on a file in a temporary folder (WAL; the synchronous level is
// the one rsql's createTable sets by default: FULL). better-sqlite3 is synchronous and SQLite has
// one writer at a time, so "8 writers" are 8 async loops over one connection.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sqliteEventsStatements, sqliteNowMs } from '../../src/rsql/sqlite/statements.js';
import { wallMs } from '../measure.js';
import type { SqlDriver } from './sql.js';

export interface SqliteConfig {
  readonly path: string;
}

/** Opens the database file (a new temporary one when `config` is undefined). */
export function sqliteDriver(config?: SqliteConfig): SqlDriver {
  const dir = config === undefined ? mkdtempSync(join(tmpdir(), 'reflex-bench-')) : undefined;
  const path = config?.path ?? join(dir ?? '', 'bench.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  const version = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
  const cache = new Map<string, Database.Statement>();
  const stmt = (sql: string): Database.Statement => {
    let s = cache.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  return {
    name: 'sqlite',
    version: `SQLite ${version}`,
    db,
    nowSql: sqliteNowMs,
    childConfig: { path } satisfies SqliteConfig,
    async exec(sql, params = []) {
      if (params.length === 0) db.exec(sql);
      else db.prepare(sql).run(...params);
      cache.clear();
    },
    async openWriters() {},
    async tx(_w, body) {
      let t = 0;
      db.transaction(() => {
        const r = body(db);
        if (r instanceof Promise) throw new Error('a SQLite transaction body must be synchronous');
        t = wallMs();
      })();
      return t;
    },
    txExec(_tx, sql, params) {
      stmt(sql).run(...params);
    },
    insertEvent: (table, tx, foreignId) => table.insertSync(tx, foreignId, 1),
    selectAfter: (schema) => sqliteEventsStatements(schema).selectAfter,
    async scanPage(sql, after, limit) {
      const rows = stmt(sql).raw(true).all(after, limit) as [number, ...unknown[]][];
      return { rows: rows.length, last: rows[rows.length - 1]?.[0] ?? after };
    },
    async bulkInsert(table, n, log) {
      const ins = db.prepare(`INSERT INTO ${table} (foreign_id, timestamp, type) VALUES (?, ?, 1)`);
      const now = Date.now();
      const chunk = 50_000;
      for (let done = 0; done < n; done += chunk) {
        db.transaction(() => {
          for (let i = done; i < Math.min(n, done + chunk); i++) ins.run(String(i), now);
        })();
        if (done > 0 && done % 500_000 === 0) log(`sqlite: seeded ${done}`);
      }
    },
    openReader() {
      const reader = new Database(path);
      reader.pragma('busy_timeout = 5000');
      return {
        db: reader,
        close: async () => {
          reader.close();
        },
      };
    },
    counting() {
      let queries = 0;
      const wrapStatement = (s: Database.Statement): Database.Statement =>
        new Proxy(s, {
          get(target, prop) {
            const v = Reflect.get(target, prop, target) as unknown;
            if (typeof v !== 'function') return v;
            return (...args: unknown[]) => {
              if (prop === 'all' || prop === 'get' || prop === 'run' || prop === 'iterate') {
                queries++;
              }
              const r = (v as (...a: unknown[]) => unknown).apply(target, args);
              return r === target ? proxy : r;
            };
          },
        });
      let proxy: Database.Statement;
      const counted = new Proxy(db, {
        get(target, prop) {
          const v = Reflect.get(target, prop, target) as unknown;
          if (prop === 'prepare') {
            return (sql: string) => {
              proxy = wrapStatement(target.prepare(sql));
              return proxy;
            };
          }
          return typeof v === 'function' ? (v as () => unknown).bind(target) : v;
        },
      });
      return { db: counted, queries: () => queries };
    },
    async close() {
      db.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
