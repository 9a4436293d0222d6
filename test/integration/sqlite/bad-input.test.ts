import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCode, hasCode } from '../../../src/core/index.js';
import { newCursorsTable, newEventsTable, RsqlErrorCode } from '../../../src/rsql/index.js';
import { sqliteDir } from '../../support/sql-harness.js';

test('sqlite bad input and a closed database: clear ReflexErrors, nothing written', async () => {
  const dir = sqliteDir();
  const db = new Database(join(dir.path, 'bad.db'));
  const table = newEventsTable('events');
  const cursors = newCursorsTable('cursors');
  try {
    await table.createTable(db);
    await cursors.createTable(db);
    assert.throws(
      () => table.insertSync(db, '0', 0),
      (e) => hasCode(e, ErrorCode.invalidArgument),
    );
    assert.throws(
      () => table.insertSync(db, 'x', 1, { metadata: new Uint8Array(1) }),
      (e) => hasCode(e, ErrorCode.invalidArgument),
    );
    for (const type of [null, '1', {}, 1.5]) {
      assert.throws(
        () => table.insertSync(db, 'x', type as never),
        (e) => hasCode(e, ErrorCode.invalidArgument),
        String(type),
      );
    }
    await assert.rejects(cursors.setCursor(db, 'c', '-5'), (e) =>
      hasCode(e, ErrorCode.invalidCursor),
    );
    assert.equal(db.prepare('SELECT COUNT(*) FROM events').pluck().get() as number, 0);
    assert.equal(db.prepare('SELECT COUNT(*) FROM cursors').pluck().get() as number, 0);
    assert.throws(
      () => newEventsTable('events', { metadataColumn: 'a-b' }),
      (e) => hasCode(e, ErrorCode.invalidArgument),
    );
  } finally {
    db.close();
  }
  assert.throws(
    () => table.insertSync(db, 'x', 1),
    (e) => hasCode(e, RsqlErrorCode.dbClosed),
  );
  await assert.rejects(table.insert(db, 'x', 1), (e) => hasCode(e, RsqlErrorCode.dbClosed));
  // Opening from a cursor is lazy: the first read reports the closed database.
  const s = await table.toStream(db)('');
  await assert.rejects(s.recv(), (e) => hasCode(e, RsqlErrorCode.dbClosed));
  await assert.rejects(table.toStream(db)('', { fromHead: true }), (e) =>
    hasCode(e, RsqlErrorCode.dbClosed),
  );
  await assert.rejects(cursors.getCursor(db, 'c'), (e) => hasCode(e, RsqlErrorCode.dbClosed));
  await table.close();
  // A closed table is closed (not "stopped", which runForever would retry for ever).
  await assert.rejects(table.toStream(db)(''), (e) => hasCode(e, ErrorCode.closed));
  dir.cleanup();
});
