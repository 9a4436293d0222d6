import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { newErrorsTable } from '../../../src/rsql/index.js';
import { sqliteDir } from '../../support/sql-harness.js';

test('sqlite: concurrent dead-letter records on one database each get their own transaction', async () => {
  const dir = sqliteDir();
  const db = new Database(join(dir.path, 'tx.db'));
  try {
    const errors = newErrorsTable();
    await errors.createTable(db);
    const record = errors.toErrorInsertFunc(db);
    // Started together: before, the second BEGIN failed inside the first transaction.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => record('c', String(i + 1), `boom ${i}`)),
    );
    const rows = db.prepare('SELECT COUNT(*) AS n FROM consumer_errors').get() as { n: number };
    assert.equal(rows.n, 20);
    const events = db.prepare('SELECT COUNT(*) AS n FROM consumer_errors_events').get() as {
      n: number;
    };
    assert.equal(events.n, 20, 'one error event per recorded error');
    assert.equal(db.inTransaction, false);
  } finally {
    db.close();
    dir.cleanup();
  }
});
