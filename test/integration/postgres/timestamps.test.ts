// Issue 14: PostgreSQL timestamptz microseconds (as a Go service writes them) come back exact,
// through the stream and through our gRPC server and client.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Event } from '../../../src/core/index.js';
import { newReflexClient, serveStream } from '../../../src/grpc/index.js';
import { newEventsTable } from '../../../src/rsql/index.js';
import { pgPool } from '../../support/pg-pool.js';
import { postgresServer, requireServer, uniqueName } from '../../support/servers.js';

test('postgres: microseconds written by raw SQL come back exact, through the stream and gRPC', async (t) => {
  const url = await requireServer(t, postgresServer);
  if (url === undefined) return;
  const pool = pgPool(url, 2);
  const name = uniqueName('ev_us');
  const events = newEventsTable(name);
  try {
    await events.createTable(pool);
    const written = [
      '2026-11-28 06:20:00.123456+00',
      '2026-11-28 06:20:00.000001+05:30',
      '1969-12-31 23:59:59.999999+00',
      '2100-01-01 00:00:00.999999+00', // past where a double of epoch seconds loses a microsecond
    ];
    for (const at of written) {
      await pool.query(
        `INSERT INTO "${name}" (foreign_id, timestamp, type) VALUES ('x', $1::timestamptz, 1)`,
        [at],
      );
    }
    const want = [
      BigInt(Date.UTC(2026, 10, 28, 6, 20, 0, 123)) * 1000n + 456n,
      BigInt(Date.UTC(2026, 10, 28, 0, 50, 0, 0)) * 1000n + 1n,
      -1n,
      BigInt(Date.UTC(2100, 0, 1, 0, 0, 0, 999)) * 1000n + 999n,
    ];
    const local: Event[] = [];
    for await (const e of await events.toStream(pool)('', { toHead: true })) local.push(e);
    assert.deepEqual(
      local.map((e) => e.timestampUs),
      want,
    );
    assert.deepEqual(
      local.map((e) => e.timestamp.getTime()),
      [
        Date.UTC(2026, 10, 28, 6, 20, 0, 123),
        Date.UTC(2026, 10, 28, 0, 50),
        -1,
        Date.UTC(2100, 0, 1, 0, 0, 0, 999),
      ],
    );
    await using server = await serveStream(events.toStream(pool));
    await using client = newReflexClient(server.address);
    const remote: Event[] = [];
    for await (const e of await client.stream('', { toHead: true })) remote.push(e);
    assert.deepEqual(remote, local);
  } finally {
    await events.close();
    await pool.query(`DROP TABLE IF EXISTS "${name}"`).catch(() => {});
    await pool.end();
  }
});
