import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCode, type Event, hasCode } from '../../../src/core/index.js';
import { newEventsTable, RsqlErrorCode } from '../../../src/rsql/index.js';
import { drain, within } from '../../../src/testing/index.js';
import { sqliteDir } from '../../support/sql-harness.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function open(path: string): Database.Database {
  const db = new Database(path, { timeout: 0 });
  db.pragma('journal_mode = WAL');
  return db;
}

test('SQLite serialises writers: a second writer cannot insert while a transaction is open, and a rolled-back max id is reused', async () => {
  const dir = sqliteDir();
  const path = join(dir.path, 'order.db');
  const a = open(path);
  const b = open(path);
  try {
    const table = newEventsTable('events');
    await table.createTable(a);
    table.insertSync(a, 'one', 1);
    a.exec('BEGIN IMMEDIATE');
    table.insertSync(a, 'held', 2); // takes id 2 and the write lock
    // Another connection cannot write (and so cannot commit an id 3) while id 2 is undecided.
    assert.throws(
      () => table.insertSync(b, 'other', 3),
      (e) => hasCode(e, RsqlErrorCode.database),
    );
    // A reader sees a prefix: only id 1.
    const seen = await drain(await table.toStream(b)('', { toHead: true }));
    assert.deepEqual(
      seen.map((e) => e.id),
      ['1'],
    );
    a.exec('ROLLBACK');
    table.insertSync(b, 'other', 3);
    const all = await drain(await table.toStream(a)('', { toHead: true }));
    assert.deepEqual(
      all.map((e) => [e.id, e.foreignId]),
      [
        ['1', 'one'],
        ['2', 'other'],
      ],
      'the rolled-back id 2 was reused: no gap',
    );
    assert.equal(table.stats().gapsDetected, 0);
    await table.close();
  } finally {
    a.close();
    b.close();
    dir.cleanup();
  }
});

test('SQLite: interleaved writers on 4 connections committing and rolling back; streams get exactly the committed events in order', async () => {
  const dir = sqliteDir();
  const path = join(dir.path, 'conc.db');
  const conns = Array.from({ length: 4 }, () => open(path));
  const reader = open(path);
  const table = newEventsTable('events', { pollIntervalMs: 10 });
  await table.createTable(reader);
  const committed: string[] = [];
  try {
    const ac = new AbortController();
    const s = await table.toStream(reader)('', { signal: ac.signal });
    const got: Event[] = [];
    const reading = (async () => {
      try {
        for (;;) got.push(await s.recv());
      } catch {
        // aborted at the end
      }
    })();
    const until = Date.now() + 1000;
    await Promise.all(
      conns.map(async (db, w) => {
        for (let n = 0; Date.now() < until; n++) {
          try {
            db.exec('BEGIN IMMEDIATE');
          } catch {
            await sleep(1); // busy: another writer holds the lock
            continue;
          }
          const mine: string[] = [];
          for (let k = 0; k < 1 + (n % 3); k++) {
            const fid = `w${w}-${n}-${k}`;
            table.insertSync(db, fid, 1);
            mine.push(fid);
          }
          await sleep(Math.random() * 3); // hold the transaction across the event loop
          if (Math.random() < 0.3) db.exec('ROLLBACK');
          else {
            db.exec('COMMIT');
            committed.push(...mine);
            table.notify();
          }
        }
      }),
    );
    await within(
      (async () => {
        while (got.length < committed.length) await sleep(10);
      })(),
      10_000,
      'all committed events streamed',
    );
    // A last event: once it is in, anything extra (a duplicate) would have arrived before it.
    table.insertSync(reader, 'sentinel', 1);
    table.notify();
    await within(
      (async () => {
        while (got.at(-1)?.foreignId !== 'sentinel') await sleep(10);
      })(),
      10_000,
      'the sentinel streamed',
    );
    ac.abort();
    await reading;
    assert.equal(got.pop()?.foreignId, 'sentinel');
    assert.ok(committed.length > 20);
    assert.deepEqual(
      got.map((e) => e.foreignId),
      committed,
      'commit order = id order',
    );
    assert.deepEqual(
      got.map((e) => Number(e.id)),
      got.map((_, i) => i + 1),
      'ids consecutive: no gap ever',
    );
  } finally {
    await table.close();
    for (const c of conns) c.close();
    reader.close();
    dir.cleanup();
  }
});

test('insertSync works inside db.transaction(); a throw rolls the event back', async () => {
  const dir = sqliteDir();
  const db = open(join(dir.path, 'tx.db'));
  try {
    const table = newEventsTable('events', { metadataColumn: 'meta' });
    await table.createTable(db);
    assert.equal(
      db.pragma('synchronous', { simple: true }),
      2,
      'createTable made commits durable (FULL)',
    );
    const notifies: (() => void)[] = [];
    db.transaction(() => {
      notifies.push(table.insertSync(db, 'a', 1, { metadata: new Uint8Array([7]) }));
      notifies.push(table.insertSync(db, 'b', 2));
    })();
    for (const n of notifies) n();
    assert.throws(() =>
      db.transaction(() => {
        table.insertSync(db, 'c', 3);
        throw new Error('business rule failed');
      })(),
    );
    assert.throws(
      () => db.transaction(() => table.insertSync(db, '0', 0))(),
      (e) => hasCode(e, ErrorCode.invalidArgument),
    );
    const got = await within(drain(await table.toStream(db)('', { toHead: true })), 5000, 'drain');
    assert.deepEqual(
      got.map((e) => [e.id, e.foreignId, e.metadata?.[0]]),
      [
        ['1', 'a', 7],
        ['2', 'b', undefined],
      ],
    );
    await table.createTable(db, { durability: 'normal' });
    assert.equal(db.pragma('synchronous', { simple: true }), 1);
    await table.close();
  } finally {
    db.close();
    dir.cleanup();
  }
});
