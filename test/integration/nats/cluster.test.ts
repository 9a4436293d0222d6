// The JetStream bridge against private nats-server processes started here on loopback: a 3-node
// JetStream cluster (replicas 3) whose stream leader is killed with SIGKILL and restarted while
// the relay publishes an SQLite events table, and a single node killed under an open stream.
// Every process is killed in the after hooks; each has its own storage directory.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import {
  ErrorCode,
  hasCode,
  isExpected,
  isHeadReachedErr,
  newConsumer,
  newSpec,
  run,
} from '../../../src/core/index.js';
import {
  newJetStreamClient,
  newJetStreamRelaySpec,
  relayHeaders,
} from '../../../src/nats/index.js';
import { MemCursorStore, runForever } from '../../../src/rpatterns/index.js';
import { newCursorsTable, newEventsTable } from '../../../src/rsql/index.js';
import { JetStreamAdmin } from '../../support/jetstream.js';
import { NatsServers } from '../../support/nats-servers.js';
import { uniqueName } from '../../support/servers.js';
import { sqliteDir } from '../../support/sql-harness.js';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('JetStream bridge (private nats-server processes)', () => {
  it('a 3-node cluster loses its stream leader mid-relay: every event in JetStream once, in order, and read back', {
    timeout: 60_000,
  }, async (t) => {
    const servers = await NatsServers.cluster(3);
    cleanups.push(() => servers.stop());
    const admin = await JetStreamAdmin.connect(servers.urls);
    cleanups.push(() => admin.close());
    const stream = uniqueName('CLUSTER').toUpperCase();
    await admin.createStream(stream, 3);

    const dir = sqliteDir();
    const db = new Database(join(dir.path, 'events.db'));
    cleanups.push(() => {
      db.close();
      dir.cleanup();
    });
    const events = newEventsTable('events');
    const cursors = newCursorsTable('cursors');
    await events.createTable(db);
    await cursors.createTable(db);
    cleanups.push(() => events.close());

    const js = newJetStreamClient({
      servers: servers.urls,
      timeoutMs: 2000,
      maxReconnectAttempts: -1,
    });
    cleanups.push(() => js.close());
    const relay = js.relay(cursors.toStore(db), { name: 'relay', stream, maxInFlight: 64 });
    const ac = new AbortController();
    const failures: string[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      warn: (_msg: string, fields?: Readonly<Record<string, unknown>>) => {
        failures.push(String(fields?.code ?? '?'));
      },
      error: (_msg: string, fields?: Readonly<Record<string, unknown>>) => {
        failures.push(String(fields?.code ?? '?'));
      },
    };
    const relayed = runForever(newJetStreamRelaySpec(events.toStream(db), relay), {
      signal: ac.signal,
      logger,
      errorBackoffMs: 100,
      expectedErrorBackoffMs: 50,
      jitter: 0,
    });
    cleanups.push(async () => {
      ac.abort();
      await relayed;
    });

    // 40 transactions of 75 events, 100 ms apart; the stream leader dies after the 10th and
    // comes back after the 25th.
    const batches = 40;
    const perBatch = 75;
    const total = batches * perBatch;
    const write = db.transaction((b: number) => {
      for (let i = 0; i < perBatch; i++)
        events.insertSync(db, String(b * perBatch + i + 1), 1 + (i % 3));
    });
    let killed: { name: string; restart: () => Promise<void> } | undefined;
    for (let b = 0; b < batches; b++) {
      write(b);
      if (b === 9) {
        const info = await admin.jsm.streams.info(stream);
        const leader = info.cluster?.leader;
        const node = servers.nodes.find((n) => n.name === leader);
        assert.ok(node !== undefined, `stream leader ${String(leader)} is one of ours`);
        await node.kill('SIGKILL');
        killed = { name: node.name, restart: () => node.start() };
      }
      if (b === 24) await killed?.restart();
      await delay(100);
    }
    const last = String(total);
    const deadline = Date.now() + 30_000;
    while ((await cursors.getCursor(db, 'relay')) !== last) {
      assert.ok(
        Date.now() < deadline,
        `relay cursor stuck at ${await cursors.getCursor(db, 'relay')}`,
      );
      await delay(50);
    }
    ac.abort();
    await relayed;
    t.diagnostic(
      `relay runs that failed and were restarted: ${failures.length} (${[...new Set(failures)].join(', ')})`,
    );

    // In JetStream: each event exactly once, in the table's order.
    const raw = await admin.messages(stream);
    const ids = raw.map((m) => m.headers[relayHeaders.id]);
    assert.equal(ids.length, total, `${ids.length} messages for ${total} events`);
    assert.deepEqual(
      ids,
      Array.from({ length: total }, (_, i) => String(i + 1)),
    );

    // A reflex consumer reading JetStream through the source gets them all.
    const seen: string[] = [];
    const reader = newConsumer('reader', (e) => {
      seen.push(e.foreignId);
    });
    await assert.rejects(
      run(newSpec(js.source(stream), new MemCursorStore(), reader, { toHead: true })),
      (e) => isHeadReachedErr(e),
    );
    assert.deepEqual(
      seen,
      Array.from({ length: total }, (_, i) => String(i + 1)),
    );
  });

  it('a lost connection is ERR_REFLEX_UNAVAILABLE (transient), not a cancellation', {
    timeout: 30_000,
  }, async () => {
    const servers = await NatsServers.single();
    cleanups.push(() => servers.stop());
    const admin = await JetStreamAdmin.connect(servers.urls);
    const stream = uniqueName('LOST').toUpperCase();
    await admin.createStream(stream);
    await admin.nc.jetstream().publish(`${stream}.1`);
    await admin.nc.close(); // the stream goes with the server's storage
    const js = newJetStreamClient({
      servers: servers.urls,
      timeoutMs: 1000,
      maxReconnectAttempts: 0,
    });
    cleanups.push(() => js.close());
    const s = await js.source(stream)('');
    assert.equal((await s.recv()).id, '1');
    const pending = s.recv();
    await servers.nodes[0]?.kill('SIGKILL');
    await assert.rejects(pending, (e) => {
      assert.ok(hasCode(e, ErrorCode.unavailable), String(e));
      assert.equal(isExpected(e), false);
      return true;
    });
    await s.close();
  });
});
