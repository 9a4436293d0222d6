// Run by test/integration/*/leaks.test.ts: uses streams, a cursor store and an errors table,
// releases them, and must then exit on its own (nothing left running).
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { newConsumer, newSpec, run } from '../../src/core/index.js';
import { newCursorsTable, newErrorsTable, newEventsTable } from '../../src/rsql/index.js';
import { uniqueName } from './servers.js';
import { mysqlPool, sqliteDir } from './sql-harness.js';

const kind = process.argv[2];
const dir = sqliteDir();
const db: unknown =
  kind === 'mysql' ? mysqlPool(process.argv[3] ?? '', 4) : new Database(join(dir.path, 'leak.db'));
const name = uniqueName('ev_leak');
const events = newEventsTable(name, { pollIntervalMs: 10 });
const cursors = newCursorsTable(uniqueName('cur_leak'));
const errors = newErrorsTable({ table: uniqueName('err_leak') });
await events.createTable(db);
await cursors.createTable(db);
await errors.createTable(db);
await events.insert(db, 'a', 1);
await events.insert(db, 'b', 2);
await errors.toErrorInsertFunc(db)('c', '1', 'boom');
const stream = events.toStream(db);
// A stream waiting at the head, closed while waiting.
const waiting = await stream('2');
const pending = waiting.recv().catch(() => undefined);
// run() with an async cursor store, ended by an abort while waiting at the head.
const ac = new AbortController();
const store = cursors.toStore(db, { asyncPeriodMs: 60_000 });
let seen = 0;
const running = run(
  newSpec(
    stream,
    store,
    newConsumer('leak', () => {
      seen++;
      if (seen === 2) setTimeout(() => ac.abort(), 20);
    }),
  ),
  { signal: ac.signal },
).catch(() => undefined);
await running;
await waiting.close();
await pending;
if ((await store.getCursor('leak')) !== '2') throw new Error('cursor not flushed by run');
await store.close();
await events.close();
await errors.events.close();
const drop = async (t: string): Promise<void> => {
  if (kind === 'mysql')
    await (db as { query(s: string): Promise<unknown> }).query(`DROP TABLE IF EXISTS \`${t}\``);
};
for (const t of [name, cursors.name, errors.name, errors.events.name]) await drop(t);
if (kind === 'mysql') await (db as { end(): Promise<void> }).end();
else (db as Database.Database).close();
dir.cleanup();
// No process.exit: the test checks that the process ends by itself.
