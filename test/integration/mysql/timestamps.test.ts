import assert from 'node:assert/strict';
import { test } from 'node:test';
import mysql from 'mysql2/promise';
import type { Event } from '../../../src/core/index.js';
import { newReflexClient, serveStream } from '../../../src/grpc/index.js';
import { newEventsTable } from '../../../src/rsql/index.js';
import { jsonLines, reflex } from '../../support/cli.js';
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
      const exact: (bigint | undefined)[] = [];
      for await (const e of await events.toStream(handle)('', { toHead: true })) {
        got.push(e.timestamp.getTime());
        exact.push(e.timestampUs);
      }
      assert.deepEqual(got, want);
      // The exact form keeps the microseconds, with bigNumberStrings too.
      assert.deepEqual(exact, [1795846800123999n, 1795846800500000n, 1795846800000000n]);
    }
  } finally {
    await events.close();
    await conn.query(`DROP TABLE IF EXISTS \`${name}\``).catch(() => {});
    await conn.end();
    await strings.end();
  }
});

test('microseconds written by raw SQL (as a Go service writes them) come back exact: stream, gRPC, tail --json', async (t) => {
  const url = await requireServer(t, mysqlServer);
  if (url === undefined) return;
  // The pool's sessions write and read in the server's time zone, as Go's and the CLI's do.
  const pool = mysql.createPool({ uri: url, connectionLimit: 2 });
  const name = uniqueName('ev_us');
  const events = newEventsTable(name);
  try {
    await events.createTable(pool);
    const written = ['1795846800.123456', '1795846800.000001', '1795846800.999999', '1795846801'];
    for (const seconds of written) {
      await pool.query(
        `INSERT INTO \`${name}\` (foreign_id, timestamp, type) VALUES ('x', FROM_UNIXTIME(?), 1)`,
        [seconds],
      );
    }
    const want = [1795846800123456n, 1795846800000001n, 1795846800999999n, 1795846801000000n];
    const local: Event[] = [];
    for await (const e of await events.toStream(pool)('', { toHead: true })) local.push(e);
    assert.deepEqual(
      local.map((e) => e.timestampUs),
      want,
    );
    assert.deepEqual(
      local.map((e) => e.timestamp.getTime()),
      want.map((us) => Number(us / 1000n)),
    );
    // Our server → our client: the Timestamp's seconds and nanos carry the microseconds.
    await using server = await serveStream(events.toStream(pool));
    await using client = newReflexClient(server.address);
    const remote: Event[] = [];
    for await (const e of await client.stream('', { toHead: true })) remote.push(e);
    assert.deepEqual(remote, local);
    // reflex tail --json prints them as decimal strings.
    const r = await reflex(['tail', server.address, '--to-head', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      jsonLines(r.stdout).map((row) => row.timestampUs),
      want.map(String),
    );
  } finally {
    await events.close();
    await pool.query(`DROP TABLE IF EXISTS \`${name}\``).catch(() => {});
    await pool.end();
  }
});
