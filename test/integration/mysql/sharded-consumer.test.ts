import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExpected, newSpec, run } from '../../../src/core/index.js';
import {
  type ConsumerShard,
  consumerShards,
  fnv1Hash32,
  parallelConsumer,
} from '../../../src/rpatterns/index.js';
import { newCursorsTable, newEventsTable } from '../../../src/rsql/index.js';
import { awaitCursor } from '../../../src/testing/index.js';
import { mysqlServer, requireServer, uniqueName } from '../../support/servers.js';
import { mysqlPool } from '../../support/sql-harness.js';
import { waitFor } from '../../support/wait.js';

describe('sharded consumer over MariaDB', () => {
  it('4 shards, each its own run, killed and restarted: every event handled by exactly its shard, nothing lost', async (t) => {
    const url = await requireServer(t, mysqlServer);
    if (url === undefined) return;
    const pool = mysqlPool(url, 8);
    const events = newEventsTable(uniqueName('shard_events'), { pollIntervalMs: 20 });
    const cursors = newCursorsTable(uniqueName('shard_cursors'));
    t.after(async () => {
      await events.close();
      await pool.query(`DROP TABLE IF EXISTS \`${events.name}\``);
      await pool.query(`DROP TABLE IF EXISTS \`${cursors.name}\``);
      await pool.end();
    });
    await events.createTable(pool);
    await cursors.createTable(pool);

    let inserted = 0;
    /** Inserts `count` events, 5 per transaction, as a writer service would. */
    const insert = async (count: number): Promise<void> => {
      for (let done = 0; done < count; done += 5) {
        const conn = await pool.getConnection();
        try {
          await conn.beginTransaction();
          let notify = (): void => {};
          for (let i = 0; i < 5; i++) {
            inserted++;
            notify = await events.insert(conn, `user-${inserted % 37}`, 1 + (inserted % 3));
          }
          await conn.commit();
          notify();
        } finally {
          conn.release();
        }
      }
    };

    const shards = consumerShards('sharded', 4);
    const store = cursors.toStore(pool, { asyncPeriodMs: 0 });
    const stream = events.toStream(pool);
    const handled = new Map<string, string[]>();
    const start = (shard: ConsumerShard): { ac: AbortController; ended: Promise<unknown> } => {
      const ac = new AbortController();
      const consumer = parallelConsumer(shard, async (e) => {
        handled.set(e.id, [...(handled.get(e.id) ?? []), shard.name]);
        await new Promise((r) => setImmediate(r));
      });
      const ended = run(newSpec(stream, store, consumer), { signal: ac.signal }).catch(
        (err: unknown) => err,
      );
      return { ac, ended };
    };
    const kill = async (
      runs: { ac: AbortController; ended: Promise<unknown> }[],
    ): Promise<void> => {
      for (const r of runs) r.ac.abort();
      for (const err of await Promise.all(runs.map((r) => r.ended))) {
        assert.ok(isExpected(err), `a killed run ends with its abort, got ${String(err)}`);
      }
    };

    await insert(100);
    let runs = shards.map(start);
    await insert(100);
    await waitFor('some progress before the kill', () => handled.size >= 120);
    await kill(runs);
    const beforeRestart = handled.size;
    assert.ok(beforeRestart < 200, 'killed mid-stream');

    await insert(100);
    runs = shards.map(start);
    const last = String(inserted);
    for (const shard of shards) await awaitCursor(store, shard.name, last, { timeoutMs: 20_000 });
    await kill(runs);
    await store.close();

    assert.equal(inserted, 300);
    const perShard = new Map<string, number>();
    let duplicates = 0;
    for (let id = 1; id <= inserted; id++) {
      const by = handled.get(String(id));
      assert.ok(by !== undefined && by.length > 0, `event ${id} was lost`);
      const owner = shards[fnv1Hash32(String(id)) % 4]?.name;
      for (const name of by)
        assert.equal(name, owner, `event ${id} handled by ${name}, not ${owner}`);
      duplicates += by.length - 1;
      perShard.set(by[0] as string, (perShard.get(by[0] as string) ?? 0) + 1);
    }
    assert.equal(handled.size, inserted, 'no event beyond those inserted');
    // At-least-once: a kill may redeliver at most the event in hand of each shard.
    assert.ok(duplicates <= shards.length, `${duplicates} duplicates after one kill of 4 shards`);
    t.diagnostic(
      `handled before the kill: ${beforeRestart}; duplicates: ${duplicates}; per shard: ${[...perShard.values()].join(', ')}`,
    );
    for (const shard of shards) {
      assert.ok((perShard.get(shard.name) ?? 0) > 30, `${shard.name} handled its share`);
      assert.equal(await cursors.getCursor(pool, shard.name), last);
    }
  });
});
