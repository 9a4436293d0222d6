import assert from 'node:assert/strict';
import { test } from 'node:test';
import mysql from 'mysql2';
import { newCursorsTable, newEventsTable } from '../../../src/rsql/index.js';
import { drain } from '../../../src/testing/index.js';
import { mysqlServer, requireServer, uniqueName } from '../../support/servers.js';

test('a mysql2 callback-API pool is accepted (used through its .promise())', async (t) => {
  const url = await requireServer(t, mysqlServer);
  if (url === undefined) return;
  const pool = mysql.createPool({ uri: url, connectionLimit: 2 });
  const events = newEventsTable(uniqueName('ev_cb'));
  const cursors = newCursorsTable(uniqueName('cur_cb'));
  try {
    await events.createTable(pool);
    await cursors.createTable(pool);
    const conn = await pool.promise().getConnection();
    await conn.beginTransaction();
    const notify = await events.insert(conn, 'a', 1);
    await conn.commit();
    conn.release();
    notify();
    await events.insert(pool, 'b', 2); // autocommit on the pool itself
    const got = await drain(await events.toStream(pool)('', { toHead: true }));
    assert.deepEqual(
      got.map((e) => e.foreignId),
      ['a', 'b'],
    );
    await cursors.setCursor(pool, 'c', '2');
    assert.equal(await cursors.getCursor(pool, 'c'), '2');
  } finally {
    await events.close();
    await pool.promise().query(`DROP TABLE IF EXISTS \`${events.name}\``);
    await pool.promise().query(`DROP TABLE IF EXISTS \`${cursors.name}\``);
    await pool.promise().end();
  }
});
