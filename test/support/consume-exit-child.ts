// Spawned by sqlite/leaks.test.ts: the README's "Consume" example over SQLite, with an async
// cursor store whose period is far longer than the test's timeout. Once runForever returns and
// the events table is closed, the process must exit by itself: a flush timer left armed after
// every cursor was written would keep it up for the whole period.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { newConsumer, newSpec } from '../../src/core/index.js';
import { runForever } from '../../src/rpatterns/index.js';
import { newCursorsTable, newEventsTable } from '../../src/rsql/index.js';
import { sqliteDir } from './sql-harness.js';

const dir = sqliteDir();
const db = new Database(join(dir.path, 'consume.db'));
const userEvents = newEventsTable('user_events');
const cursors = newCursorsTable('cursors');
await userEvents.createTable(db);
await cursors.createTable(db);
for (let i = 0; i < 3; i++) await userEvents.insert(db, String(i), 1);

const ac = new AbortController();
let consumed = 0;
const mailer = newConsumer(
  'mailer',
  () => {
    if (++consumed === 3) ac.abort();
  },
  { includeTypes: [1] },
);
await runForever(
  newSpec(userEvents.toStream(db), cursors.toStore(db, { asyncPeriodMs: 3_600_000 }), mailer),
  { signal: ac.signal },
);
await userEvents.close();
// The cursor was written by run's final flush, not left to the timer.
const stored = await cursors.getCursor(db, 'mailer');
process.stdout.write(`consumed ${consumed}, cursor ${stored}\n`);
db.close();
dir.cleanup();
