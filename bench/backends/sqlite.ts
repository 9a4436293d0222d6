// SQLite through better-sqlite3, on a file in a temporary folder (WAL, synchronous=NORMAL: the
// usual production setting). better-sqlite3 is synchronous and SQLite has one writer at a time,
// so "8 writers" are 8 async loops over one connection: the figure shows the serialisation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { BenchBackend, InsertBench } from './backend.js';

const eventsDdl = (t: string): string =>
  `CREATE TABLE ${t} (id INTEGER PRIMARY KEY AUTOINCREMENT, foreign_id TEXT NOT NULL,
   timestamp TEXT NOT NULL, type INTEGER NOT NULL, metadata BLOB)`;

export function openSqlite(): BenchBackend {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-bench-'));
  const db = new Database(join(dir, 'bench.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const version = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
  const table = 'bench_events';

  const insert: InsertBench = (() => {
    let state: Database.Statement | undefined;
    let event: Database.Statement | undefined;
    let seq = 0;
    const tx = (withEvent: boolean) =>
      db.transaction((w: number) => {
        state?.run(w);
        if (withEvent) event?.run(String(++seq), 1);
      });
    let none: ((w: number) => void) | undefined;
    let hand: ((w: number) => void) | undefined;
    return {
      async prepare(writers) {
        db.exec('DROP TABLE IF EXISTS bench_state; DROP TABLE IF EXISTS bench_insert_events');
        db.exec('CREATE TABLE bench_state (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
        db.exec(eventsDdl('bench_insert_events'));
        const ins = db.prepare('INSERT INTO bench_state (id, n) VALUES (?, 0)');
        for (let w = 0; w < writers; w++) ins.run(w);
        state = db.prepare('UPDATE bench_state SET n = n + 1 WHERE id = ?');
        event = db.prepare(
          `INSERT INTO bench_insert_events (foreign_id, timestamp, type)
           VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?)`,
        );
        none = tx(false);
        hand = tx(true);
      },
      async withoutEvent(w) {
        none?.(w);
      },
      async handWritten(w) {
        hand?.(w);
      },
      reflex: undefined,
      async cleanup() {
        db.exec('DROP TABLE IF EXISTS bench_state; DROP TABLE IF EXISTS bench_insert_events');
      },
    };
  })();

  return {
    name: 'sqlite',
    version: `SQLite ${version}`,
    absentReason: 'reflex-events/rsql (sqlite) not merged yet',
    reflex: undefined,
    insert,
    async seed(n, log) {
      db.exec(`DROP TABLE IF EXISTS ${table}`);
      db.exec(eventsDdl(table));
      const ins = db.prepare(`INSERT INTO ${table} (foreign_id, timestamp, type) VALUES (?, ?, 1)`);
      const ts = new Date().toISOString();
      const chunk = 50_000;
      for (let done = 0; done < n; done += chunk) {
        db.transaction(() => {
          for (let i = done; i < Math.min(n, done + chunk); i++) ins.run(String(i), ts);
        })();
        if (done > 0 && done % 500_000 === 0) log(`sqlite: seeded ${done}`);
      }
    },
    async rawScan(pageSize) {
      const page = db.prepare(
        `SELECT id, foreign_id, timestamp, type, metadata FROM ${table} WHERE id > ? ORDER BY id LIMIT ?`,
      );
      let after = 0;
      let rows = 0;
      for (;;) {
        const got = page.all(after, pageSize) as { id: number }[];
        const last = got[got.length - 1];
        if (last === undefined) return rows;
        rows += got.length;
        after = last.id;
        await Promise.resolve();
      }
    },
    async close() {
      try {
        db.exec(`DROP TABLE IF EXISTS ${table}`);
        db.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
