// SQLite's cross-process wake-up: the reader's loader watches the WAL file and checks
// PRAGMA data_version. Two connections to one real file stand for two processes.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { type EventsNotifier, type EventsTable, newEventsTable } from '../../../src/rsql/index.js';
import { within } from '../../../src/testing/index.js';
import {
  everyEventExactlyOnce,
  type HintBackend,
  hintsWakeTheReader,
  sustainedRateExactlyOnce,
} from '../../support/hint-scenarios.js';
import { uniqueName } from '../../support/servers.js';
import { sqliteDir } from '../../support/sql-harness.js';
import { waitFor } from '../../support/wait.js';

const dir = sqliteDir();
const path = join(dir.path, 'wakeups.db');
const writerDb = new Database(path);
writerDb.pragma('journal_mode = WAL');
writerDb.pragma('busy_timeout = 5000');
const readerDb = new Database(path);
readerDb.pragma('busy_timeout = 5000');
const tables: EventsTable[] = [];
after(async () => {
  for (const t of tables) await t.close();
  readerDb.close();
  writerDb.close();
  dir.cleanup();
});

const backend: HintBackend = {
  db: readerDb,
  async write(table, foreignId, options) {
    let notify = (): void => {};
    writerDb.exec('BEGIN IMMEDIATE');
    try {
      notify = table.insertSync(writerDb, foreignId, 1);
      options?.beforeCommit?.();
    } finally {
      writerDb.exec(options?.rollback === true ? 'ROLLBACK' : 'COMMIT');
    }
    return notify;
  },
};

function pair(readerOptions: { pollIntervalMs: number; notify?: boolean }): {
  writer: EventsTable;
  reader: EventsTable;
} {
  const name = uniqueName('ev_watch');
  const writer = newEventsTable(name);
  const reader = newEventsTable(name, readerOptions);
  tables.push(reader, writer);
  writerDb.exec(`DROP TABLE IF EXISTS "${name}"`);
  return { writer, reader };
}

describe('sqlite file watch', () => {
  it('is on by default: commits of another connection wake the reader (its poll interval is an hour)', async () => {
    const { writer, reader } = pair({ pollIntervalMs: 3_600_000 });
    await writer.createTable(writerDb);
    await hintsWakeTheReader(backend, writer, reader);
  });

  it('a sustained write rate (the loader hint gap widened) loses and duplicates no event, the watch alone delivering', async () => {
    const { writer, reader } = pair({ pollIntervalMs: 3_600_000 });
    await writer.createTable(writerDb);
    await sustainedRateExactlyOnce(backend, writer, reader);
  });

  it('rollbacks, checkpoints and commits interleaved: every committed event exactly once, woken by the watch alone', async () => {
    const { writer, reader } = pair({ pollIntervalMs: 3_600_000 });
    await writer.createTable(writerDb);
    const checkpoints = setInterval(() => writerDb.pragma('wal_checkpoint(TRUNCATE)'), 5);
    try {
      await everyEventExactlyOnce(backend, writer, reader);
    } finally {
      clearInterval(checkpoints);
    }
  });

  it('notify: false turns it off: events arrive by polling, exactly once', async () => {
    const { writer, reader } = pair({ pollIntervalMs: 50, notify: false });
    await writer.createTable(writerDb);
    await everyEventExactlyOnce(backend, writer, reader);
  });

  it('a hint that comes while no stream waits (the consumer busy) is kept: the next read loads at once', async () => {
    // An in-process notifier (the user-supplied part) that counts the hints delivered.
    const bus = new EventEmitter();
    let delivered = 0;
    const notifier: EventsNotifier = {
      publish: (table) => void bus.emit(table),
      subscribe(table, wake) {
        const on = (): void => {
          delivered++;
          wake();
        };
        bus.on(table, on);
        return { close: () => void bus.off(table, on) };
      },
    };
    const name = uniqueName('ev_busy');
    writerDb.exec(`DROP TABLE IF EXISTS "${name}"`);
    const writer = newEventsTable(name, { notifier, notify: false });
    const reader = newEventsTable(name, { notifier, notify: false, pollIntervalMs: 3_600_000 });
    tables.push(reader, writer);
    await writer.createTable(writerDb);
    const stream = await reader.toStream(readerDb)('');
    try {
      let first: string | undefined;
      const reading = stream.recv().then((e) => {
        first = e.foreignId;
      }); // waits at the head: subscribes
      const notifyA = await backend.write(writer, 'a');
      await waitFor('a, re-notified until the subscription is up', () => {
        notifyA();
        return first !== undefined;
      });
      await reading;
      assert.equal(first, 'a');
      // Nobody reads now: the hint of 'b' reaches a loader with no stream waiting.
      const before = delivered;
      (await backend.write(writer, 'b'))();
      await waitFor('the hint of b delivered', () => delivered > before);
      const b = await within(stream.recv(), 10_000, 'b, not left for a poll an hour away');
      assert.equal(b.foreignId, 'b');
    } finally {
      await stream.close();
    }
  });

  it('an in-memory database has nothing to watch and streams as before', async () => {
    const mem = new Database(':memory:');
    const table = newEventsTable('mem_events', { pollIntervalMs: 20 });
    try {
      await table.createTable(mem);
      const stream = await table.toStream(mem)('');
      const next = stream.recv();
      table.insertSync(mem, 'a', 1)();
      assert.equal((await next).foreignId, 'a');
      await stream.close();
    } finally {
      await table.close();
      mem.close();
    }
  });
});
