// Two services: a "writer service" writes orders and their events in MariaDB transactions and
// serves the events over gRPC; a "consumer service" consumes them with run, its cursor in its own
// SQLite database. The server is killed and restarted mid-stream: the consumer resumes from its
// cursor and nothing committed is lost.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import {
  ErrorCode,
  type Event,
  hasCode,
  isHeadReachedErr,
  isStoppedErr,
  newConsumer,
  newSpec,
  run,
  type StreamFunc,
} from '../../src/core/index.js';
import { newReflexClient, type ReflexServer, serveStream } from '../../src/grpc/index.js';
import { newCursorsTable, newEventsTable } from '../../src/rsql/index.js';
import { awaitCursor } from '../../src/testing/index.js';
import { mysqlServer, requireServer, uniqueName } from '../support/servers.js';
import { mysqlPool, sqliteDir } from '../support/sql-harness.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('writer service (MariaDB) → gRPC → consumer service (SQLite cursors), server killed and restarted mid-stream', {
  timeout: 120_000,
}, async (t) => {
  const url = await requireServer(t, mysqlServer);
  if (url === undefined) return;
  const writerDb = mysqlPool(url, 4);
  const readerDb = mysqlPool(url, 4);
  const orders = uniqueName('orders');
  const events = newEventsTable(uniqueName('order_events'), {
    metadataColumn: 'metadata',
    pollIntervalMs: 20,
  });
  const dir = sqliteDir();
  const consumerDb = new Database(join(dir.path, 'consumer.db'));
  consumerDb.pragma('journal_mode = WAL');
  const cursors = newCursorsTable('cursors');
  await cursors.createTable(consumerDb);
  const store = cursors.toStore(consumerDb, { asyncPeriodMs: 0 });
  let server: ReflexServer | undefined;
  const ac = new AbortController();
  try {
    await writerDb.query(
      `CREATE TABLE ${orders} (id BIGINT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(64) NOT NULL)`,
    );
    await events.createTable(writerDb);

    // The writer service: each order and its event in one transaction; one in ten rolled back.
    const committed: string[] = [];
    const total = 400;
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < total; i++) {
        const conn = await writerDb.getConnection();
        try {
          await conn.beginTransaction();
          const [res] = await conn.query(`INSERT INTO ${orders} (note) VALUES (?)`, [`order ${i}`]);
          const orderId = String((res as { insertId: number }).insertId);
          const notify = await events.insert(conn, orderId, 1 + (i % 3), {
            metadata: Buffer.from(JSON.stringify({ order: orderId, i })),
          });
          if (i % 10 === 7) {
            await conn.rollback();
          } else {
            await conn.commit();
            committed.push(orderId);
            notify();
          }
        } finally {
          conn.release();
        }
        if (i % 20 === 0) await sleep(5); // a steady trickle rather than one burst
      }
      writing = false;
    })();

    server = await serveStream(events.toStream(readerDb), { shutdownGraceMs: 0 });
    const address = server.address;
    const remote = newReflexClient(address);

    // The consumer service: run again whenever the remote stream stops or becomes unavailable.
    const seen: Event[] = [];
    let failures = 0;
    const consumer = newConsumer('order-mailer', (e) => {
      seen.push(e);
    });
    const consuming = (async () => {
      while (!ac.signal.aborted) {
        const err = await run(newSpec(remote.stream, store, consumer), { signal: ac.signal }).catch(
          (e: unknown) => e,
        );
        if (ac.signal.aborted) return;
        if (!isStoppedErr(err) && !hasCode(err, ErrorCode.unavailable)) throw err;
        failures++;
        await sleep(20); // reconnect backoff
      }
    })();

    // Kill the server mid-stream, let the consumer notice, restart it on the same port.
    const deadline = Date.now() + 20_000;
    while (seen.length < 100) {
      assert.ok(Date.now() < deadline, `consumer stuck at ${seen.length} events`);
      await sleep(5);
    }
    await server.stop();
    while (failures === 0) {
      assert.ok(Date.now() < deadline, 'the consumer never saw the server go');
      await sleep(5);
    }
    const atKill = seen.length;
    server = await serveStream(events.toStream(readerDb), { address, shutdownGraceMs: 0 });

    await writer;
    assert.equal(writing, false);
    const [rows] = await readerDb.query(`SELECT MAX(id) AS last FROM ${events.name}`);
    const last = String((rows as { last: number }[])[0]?.last);
    await awaitCursor(store, 'order-mailer', last, { timeoutMs: 20_000 });
    ac.abort();
    await consuming;
    await remote.close();

    // Nothing lost, in order; duplicates only as redelivery after the restart.
    const fids = seen.map((e) => e.foreignId);
    const distinct = [...new Set(fids)];
    assert.deepEqual(distinct, committed);
    assert.ok(seen.length - distinct.length <= 1, `${seen.length - distinct.length} redelivered`);
    assert.ok(atKill < committed.length, 'the kill happened mid-stream');
    for (const e of seen) {
      assert.deepEqual(JSON.parse(Buffer.from(e.metadata ?? []).toString()).order, e.foreignId);
    }
    // The cursor is in the consumer's own database file.
    const check = new Database(join(dir.path, 'consumer.db'), { readonly: true });
    try {
      assert.equal(await cursors.getCursor(check, 'order-mailer'), last);
    } finally {
      check.close();
    }
  } finally {
    ac.abort();
    await server?.stop();
    await store.close();
    await events.close();
    await writerDb.query(`DROP TABLE IF EXISTS ${orders}`).catch(() => {});
    await writerDb.query(`DROP TABLE IF EXISTS ${events.name}`).catch(() => {});
    await writerDb.end();
    await readerDb.end();
    consumerDb.close();
    dir.cleanup();
  }
});

test('an rsql MariaDB stream of 20,000 events reads the same over gRPC as locally', {
  timeout: 120_000,
}, async (t) => {
  const url = await requireServer(t, mysqlServer);
  if (url === undefined) return;
  const pool = mysqlPool(url, 4);
  const name = uniqueName('grpc_bulk_events');
  const local = newEventsTable(name);
  const served = newEventsTable(name); // its own loader: the server reads the database itself
  try {
    await local.createTable(pool);
    for (let i = 0; i < 20_000; i += 5000) {
      const rows = Array.from({ length: 5000 }, (_, j) => [
        `f${i + j}`,
        new Date(),
        1 + ((i + j) % 4),
      ]);
      await pool.query(`INSERT INTO ${name} (foreign_id, timestamp, type) VALUES ?`, [rows]);
    }
    await using server = await serveStream(served.toStream(pool));
    await using client = newReflexClient(server.address, { timeoutMs: 60_000 });
    const read = async (stream: StreamFunc): Promise<Event[]> => {
      const out: Event[] = [];
      const s = await stream('', { toHead: true });
      try {
        for (;;) out.push(await s.recv());
      } catch (err) {
        if (!isHeadReachedErr(err)) throw err;
      } finally {
        await s.close();
      }
      return out;
    };
    const remote = await read(client.stream);
    assert.equal(remote.length, 20_000);
    assert.deepEqual(remote, await read(local.toStream(pool)));
  } finally {
    await local.close();
    await served.close();
    await pool.query(`DROP TABLE IF EXISTS ${name}`).catch(() => {});
    await pool.end();
  }
});
