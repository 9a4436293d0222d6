import assert from 'node:assert/strict';
import { test } from 'node:test';
import mysql from 'mysql2/promise';
import { newEventsTable } from '../../../src/rsql/index.js';
import { mysqlServer, requireServer, uniqueName } from '../../support/servers.js';

test('mysql timestamps come back to the millisecond (microseconds truncated), also as bigNumberStrings', async (t) => {
  const url = await requireServer(t, mysqlServer);
  if (url === undefined) return;
  // One connection, so that the session time zone the rows are written in is the one they are
  // read in (as with NOW(6) in insert); a non-UTC zone on purpose.
  const conn = await mysql.createConnection({ uri: url });
  const strings = await mysql.createConnection({
    uri: url,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  const name = uniqueName('ev_ts');
  const events = newEventsTable(name);
  try {
    await conn.query(`SET time_zone = '+05:30'`);
    await strings.query(`SET time_zone = '+05:30'`);
    await events.createTable(conn);
    const at = Date.UTC(2026, 10, 28, 6, 20, 0, 123);
    // FROM_UNIXTIME and UNIX_TIMESTAMP convert in the session zone, both ways.
    for (const seconds of ['1795846800.123999', '1795846800.5', '1795846800']) {
      await conn.query(
        `INSERT INTO \`${name}\` (foreign_id, timestamp, type) VALUES ('x', FROM_UNIXTIME(?), 1)`,
        [seconds],
      );
    }
    const want = [at, at - 123 + 500, at - 123];
    for (const handle of [conn, strings]) {
      const got: number[] = [];
      for await (const e of await events.toStream(handle)('', { toHead: true })) {
        got.push(e.timestamp.getTime());
      }
      assert.deepEqual(got, want);
    }
  } finally {
    await events.close();
    await conn.query(`DROP TABLE IF EXISTS \`${name}\``).catch(() => {});
    await conn.end();
    await strings.end();
  }
});
