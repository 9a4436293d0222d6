import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { leasesSuite } from '../../support/leases-suite.js';

// Several processes on one SQLite file (WAL): the children open it themselves.
leasesSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-leases-sqlite-'));
  const file = join(dir, 'db.sqlite');
  const db = new Database(file, { timeout: 10_000 });
  db.pragma('journal_mode = WAL');
  return {
    dialect: 'sqlite',
    url: file,
    db,
    async insert(events, count) {
      const rows = Array.from({ length: count }, (_, i) => `('f${i}', 0, 1)`).join(', ');
      db.exec(`INSERT INTO "${events}" (foreign_id, timestamp, type) VALUES ${rows}`);
    },
    async exec(sql) {
      db.exec(sql);
    },
    async rows(sql) {
      return db.prepare(sql).raw().all() as unknown[][];
    },
    quote: (name) => `"${name}"`,
    async close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
