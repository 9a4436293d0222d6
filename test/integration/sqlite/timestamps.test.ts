// Issue 14: SQLite timestamps come back as the table stores them: INTEGER milliseconds (what
// reflex-events writes) as timestampUs = ms × 1000, and TEXT timestamps to the microsecond.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { Event } from '../../../src/core/index.js';
import { newEventsTable } from '../../../src/rsql/index.js';
import { sqliteDir } from '../../support/sql-harness.js';

test('sqlite: integer milliseconds and TEXT microseconds come back exact as timestampUs', async () => {
  const dir = sqliteDir();
  const db = new Database(join(dir.path, 'ts.db'));
  const table = newEventsTable('events');
  try {
    await table.createTable(db);
    const before = Date.now();
    table.insertSync(db, 'written', 1);
    const insert = db.prepare('INSERT INTO events (foreign_id, timestamp, type) VALUES (?, ?, 1)');
    insert.run('ms', 1_795_846_800_123);
    insert.run('text', '2026-11-28 06:20:00.123456');
    insert.run('iso', '2026-11-28T06:20:00.000001+01:00');
    insert.run('short', '2026-11-28 06:20:00.5');
    const got: Event[] = [];
    for await (const e of await table.toStream(db)('', { toHead: true })) got.push(e);
    const [written, ...rest] = got;
    assert.ok(written !== undefined && written.timestampUs !== undefined);
    assert.equal(written.timestampUs, BigInt(written.timestamp.getTime()) * 1000n);
    assert.ok(written.timestamp.getTime() >= before - 1000);
    const at = BigInt(Date.UTC(2026, 10, 28, 6, 20));
    assert.deepEqual(
      rest.map((e) => [e.foreignId, e.timestampUs, e.timestamp.getTime()]),
      [
        ['ms', 1_795_846_800_123_000n, 1_795_846_800_123],
        ['text', at * 1000n + 123_456n, Number(at) + 123],
        ['iso', (at - 3_600_000n) * 1000n + 1n, Number(at) - 3_600_000],
        ['short', at * 1000n + 500_000n, Number(at) + 500],
      ],
    );
  } finally {
    await table.close();
    db.close();
    dir.cleanup();
  }
});
