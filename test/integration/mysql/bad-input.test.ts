import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, hasCode } from '../../../src/core/index.js';
import {
  newCursorsTable,
  newErrorsTable,
  newEventsTable,
  RsqlErrorCode,
} from '../../../src/rsql/index.js';
import { stillPending } from '../../../src/testing/index.js';
import { mysqlServer, requireServer, uniqueName } from '../../support/servers.js';
import { mysqlPool } from '../../support/sql-harness.js';
import { waitFor } from '../../support/wait.js';

test('mysql bad input: each a clear ReflexError, nothing written', async (t) => {
  const url = await requireServer(t, mysqlServer);
  if (url === undefined) return;
  const pool = mysqlPool(url, 2);
  const name = uniqueName('ev_bad');
  const table = newEventsTable(name);
  const cursors = newCursorsTable(uniqueName('cur_bad'));
  try {
    await table.createTable(pool);
    await cursors.createTable(pool);
    const conn = await pool.getConnection();
    await conn.beginTransaction();
    await assert.rejects(table.insert(conn, '0', 0), (e) => hasCode(e, ErrorCode.invalidArgument));
    await assert.rejects(table.insert(conn, 'x', 1, { metadata: new Uint8Array(1) }), (e) =>
      hasCode(e, ErrorCode.invalidArgument),
    );
    await assert.rejects(table.insert(conn, 'x', 1.5), (e) =>
      hasCode(e, ErrorCode.invalidArgument),
    );
    await assert.rejects(table.insert(conn, {} as never, 1), (e) =>
      hasCode(e, ErrorCode.invalidArgument),
    );
    assert.throws(
      () => table.insertSync(conn, 'x', 1),
      (e) => hasCode(e, ErrorCode.invalidArgument),
    );
    await conn.commit();
    conn.release();
    const [rows] = await pool.query(`SELECT COUNT(*) AS n FROM \`${name}\``);
    assert.equal((rows as { n: number }[])[0]?.n, 0, 'nothing written');

    await assert.rejects(table.insert({ not: 'a pool' } as never, 'x', 1), (e) =>
      hasCode(e, ErrorCode.invalidArgument),
    );
    assert.throws(
      () => table.toStream(null as never),
      (e) => hasCode(e, ErrorCode.invalidArgument),
    );
    await assert.rejects(cursors.setCursor(pool, 'c', 'ten'), (e) =>
      hasCode(e, ErrorCode.invalidCursor),
    );
    const [cursorRows] = await pool.query(`SELECT COUNT(*) AS n FROM \`${cursors.name}\``);
    assert.equal((cursorRows as { n: number }[])[0]?.n, 0, 'no cursor written');
    assert.throws(
      () => newErrorsTable({ table: 'x y' }),
      (e) => hasCode(e, ErrorCode.invalidArgument),
    );
    assert.throws(
      () => cursors.toStore(pool, { asyncPeriodMs: -1 }),
      (e) => hasCode(e, ErrorCode.invalidArgument),
    );
    await pool.query(`DROP TABLE IF EXISTS \`${cursors.name}\``);
  } catch (err) {
    await pool.end();
    throw err;
  }
  // A stream waiting at the head when the pool closes fails fast instead of waiting forever.
  const waiting = await table.toStream(pool)('');
  const queriesBefore = table.stats().queries;
  const pending = waiting.recv();
  pending.catch(() => {});
  // Waiting at the head: its first read is done and it still waits.
  await waitFor('the stream read the head', () => table.stats().queries > queriesBefore);
  assert.ok(await stillPending(pending, 20));
  await pool.end();
  // A closed pool.
  await assert.rejects(table.insert(pool, 'x', 1), (e) => hasCode(e, RsqlErrorCode.dbClosed));
  await assert.rejects(
    table
      .toStream(pool)('', { toHead: true })
      .then((s) => s.recv()),
    (e) => hasCode(e, RsqlErrorCode.dbClosed),
  );
  await assert.rejects(cursors.getCursor(pool, 'c'), (e) => hasCode(e, RsqlErrorCode.dbClosed));
  await assert.rejects(pending, (e) => hasCode(e, RsqlErrorCode.dbClosed));
  await table.close();
  const cleanup = mysqlPool(url, 1);
  await cleanup.query(`DROP TABLE IF EXISTS \`${name}\``);
  await cleanup.end();
});
