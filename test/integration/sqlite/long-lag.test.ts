import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { newEventsTable } from '../../../src/rsql/index.js';
import { sqliteDir } from '../../support/sql-harness.js';
import { assertStillPending, thirtyDaysMs } from '../../support/still-pending.js';

test('an events table stream holds events for a 30-day lag (beyond one Node timer)', async () => {
  const dir = sqliteDir();
  const db = new Database(join(dir.path, 'long-lag.db'));
  const table = newEventsTable('events');
  try {
    await table.createTable(db);
    table.insertSync(db, 'a', 1);
    const client = await table.toStream(db)('', { lag: thirtyDaysMs });
    const first = client.recv();
    await assertStillPending(first, 'recv with a 30-day lag');
    await client.close();
    await assert.rejects(first);
  } finally {
    await table.close();
    db.close();
    dir.cleanup();
  }
});
