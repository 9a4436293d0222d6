import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { newEventsTable } from '../../../src/rsql/index.js';
import { drain } from '../../../src/testing/index.js';
import { sqliteDir } from '../../support/sql-harness.js';

test('a catch-up behind the head cache reads each page once, the next one ahead, and streams side by side share the cache', async () => {
  const dir = sqliteDir();
  const db = new Database(join(dir.path, 'catch-up.db'));
  db.pragma('journal_mode = WAL');
  const table = newEventsTable('events', { lookupLimit: 100, cacheSize: 300 });
  try {
    await table.createTable(db);
    db.transaction(() => {
      for (let i = 1; i <= 1000; i++) table.insertSync(db, `f${i}`, 1);
    })();
    const stream = table.toStream(db);
    const ids = (events: readonly { id: string }[]) => events.map((e) => Number(e.id));
    const range = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i);

    // The first stream leaves the head cache at the end of the table.
    assert.deepEqual(ids(await drain(await stream('', { toHead: true }))), range(1, 1000));
    const cached = table.stats();

    // A second one starts far behind it: its first page, and the next one read ahead.
    const behind = await stream('', { toHead: true });
    assert.equal((await behind.recv()).id, '1');
    assert.equal(table.stats().queries - cached.queries, 2, 'page 1 and page 2 ahead');
    const rest = await drain(behind);
    assert.deepEqual(ids(rest), range(2, 1000));
    const pages = table.stats().queries - cached.queries;
    // The 7 pages up to the cache (which starts at 700) once each, then the checks of the head;
    // a page read ahead and then loaded again by its reader would make it 10 or more.
    assert.ok(pages <= 9, `${pages} queries for 7 pages behind the cache`);

    // Four streams catching up side by side from different places: each page is still read once
    // per stream (a read-ahead evicted by another stream's before its reader took it would be
    // read twice).
    const before = table.stats().queries;
    const starts = [0, 200, 400, 600];
    const readers = await Promise.all(starts.map((at) => stream(String(at), { toHead: true })));
    const got = await Promise.all(readers.map((r) => drain(r)));
    starts.forEach((at, i) => {
      assert.deepEqual(ids(got[i] ?? []), range(at + 1, 1000));
    });
    const loads = table.stats().queries - before;
    // 7 + 5 + 3 + 1 pages up to the cache, and at most two head checks per stream.
    assert.ok(loads <= 16 + 2 * starts.length, `${loads} queries for 16 pages behind the cache`);

    // Mid-table cursors resume exactly after themselves, ahead of the cache or in it.
    assert.deepEqual(ids(await drain(await stream('450', { toHead: true }))), range(451, 1000));
    assert.deepEqual(ids(await drain(await stream('950', { toHead: true }))), range(951, 1000));
  } finally {
    await table.close();
    db.close();
    dir.cleanup();
  }
});
