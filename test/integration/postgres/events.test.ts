// PostgreSQL-specific behaviour of the rsql tables: gaps under chaos (8 writers, rollbacks, held
// transactions, terminated backends), schema refusal, exact ids, LISTEN/NOTIFY wake-ups across a
// dropped LISTEN connection, and a consumer across a terminated reader connection.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type pg from 'pg';
import {
  type Event,
  hasCode,
  newConsumer,
  newSpec,
  run,
  type StreamClient,
} from '../../../src/core/index.js';
import { newCursorsTable, newEventsTable, RsqlErrorCode } from '../../../src/rsql/index.js';
import { stillPending, within } from '../../../src/testing/index.js';
import { pgPool } from '../../support/pg-pool.js';
import { postgresServer, requireServer, uniqueName } from '../../support/servers.js';
import { waitFor } from '../../support/wait.js';

function rand(n: number): number {
  return Math.floor(Math.random() * n);
}

/** Reads a stream into `into` until it errors or is closed. */
async function drain(stream: StreamClient, into: Event[]): Promise<unknown> {
  try {
    for (;;) into.push(await stream.recv());
  } catch (err) {
    return err;
  }
}

describe('postgres events table', () => {
  const pools: pg.Pool[] = [];
  const tables: string[] = [];
  let admin: pg.Pool | undefined;

  async function setup(
    t: import('node:test').TestContext,
    max = 10,
    app?: string,
  ): Promise<pg.Pool | undefined> {
    const url = await requireServer(t, postgresServer);
    if (url === undefined) return undefined;
    admin ??= pgPool(url, 2);
    const p = pgPool(url, max, app);
    pools.push(p);
    return p;
  }

  function table(prefix: string): string {
    const name = uniqueName(prefix);
    tables.push(name);
    return name;
  }

  after(async () => {
    for (const t of tables) await admin?.query(`DROP TABLE IF EXISTS "${t}"`);
    for (const p of pools) await p.end();
    await admin?.end();
  });

  it('streams exactly the committed events, in order, under 8 writers with rollbacks, held transactions and terminated backends', async (t) => {
    const pool = await setup(t, 12, 'reflex-chaos-writers');
    const readPool = await setup(t, 4);
    const maybeAdmin = admin;
    if (pool === undefined || readPool === undefined || maybeAdmin === undefined) return;
    const writePool: pg.Pool = pool;
    const killerPool: pg.Pool = maybeAdmin;
    const name = table('pg_chaos');
    const events = newEventsTable(name, { pollIntervalMs: 20, notify: true });
    await events.createTable(pool);
    const stream = await events.toStream(readPool)('');
    const got: Event[] = [];
    const reading = drain(stream, got);
    try {
      const stop = Date.now() + 5000;
      let committed = 0;
      let rolledBack = 0;
      let killed = 0;
      const holding = new Set<number>();
      async function writer(w: number): Promise<void> {
        let n = 0;
        while (Date.now() < stop) {
          const c = await writePool.connect();
          const pid = (c as unknown as { processID: number }).processID;
          const onError = (): void => {}; // a checked-out client terminated while idle reports here
          c.on('error', onError);
          let broken = false;
          try {
            await c.query('BEGIN');
            const k = 1 + rand(2);
            for (let i = 0; i < k; i++) await events.insert(c, `w${w}-${n++}`, 1 + rand(5));
            const hold = rand(10) === 0 ? rand(1500) : rand(15);
            holding.add(pid);
            await new Promise((r) => setTimeout(r, hold));
            holding.delete(pid);
            if (Math.random() < 0.3) {
              await c.query('ROLLBACK');
              rolledBack++;
            } else {
              await c.query('COMMIT');
              committed++;
            }
          } catch {
            broken = true; // terminated mid-transaction
          } finally {
            holding.delete(pid);
            c.off('error', onError);
            c.release(broken);
          }
        }
      }
      async function killer(): Promise<void> {
        while (Date.now() < stop) {
          await new Promise((r) => setTimeout(r, 250));
          const pids = [...holding];
          const pid = pids[rand(pids.length)];
          if (pid !== undefined) {
            await killerPool.query('SELECT pg_terminate_backend($1)', [pid]);
            killed++;
          }
        }
      }
      await Promise.all([...Array.from({ length: 8 }, (_, w) => writer(w)), killer()]);
      const final = await pool.query<{ sid: string; foreign_id: string }>(
        `SELECT id::text AS sid, foreign_id FROM "${name}" ORDER BY id`,
      );
      t.diagnostic(
        `committed ${committed}, rolled back ${rolledBack}, terminated ${killed}, rows ${final.rowCount}`,
      );
      assert.ok(rolledBack > 0 && killed > 0 && committed > 0);
      const lastId = Number(final.rows[final.rows.length - 1]?.sid ?? 0);
      await waitFor(
        `the stream to reach id ${lastId}`,
        () => Number(got[got.length - 1]?.id ?? 0) >= lastId,
      );
      // A last event: once it is in, anything extra (a duplicate) would have arrived before it.
      await events.insert(writePool, 'sentinel', 1);
      await waitFor('the sentinel', () => got[got.length - 1]?.foreignId === 'sentinel');
      assert.equal(got.pop()?.foreignId, 'sentinel', 'the sentinel comes last');
      assert.deepEqual(
        got.map((e) => `${e.id}:${e.foreignId}`),
        final.rows.map((r) => `${r.sid}:${r.foreign_id}`),
        'exactly the committed events, in id order, no duplicates',
      );
      t.diagnostic(`table stats ${JSON.stringify(events.stats())}`);
    } finally {
      await stream.close();
      await events.close();
      await reading;
    }
  });

  it('refuses to stream past a gap of a table whose id default lacks the xid (ERR_REFLEX_UNSAFE_SCHEMA)', async (t) => {
    const pool = await setup(t, 4);
    if (pool === undefined) return;
    const name = table('pg_unsafe');
    await pool.query(
      `CREATE TABLE "${name}" (id BIGSERIAL PRIMARY KEY, foreign_id VARCHAR(255) NOT NULL, "timestamp" TIMESTAMPTZ NOT NULL, type INT NOT NULL)`,
    );
    const events = newEventsTable(name, { pollIntervalMs: 10 });
    await assert.rejects(events.createTable(pool), /does not assign the transaction id/);
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await events.insert(c, 'a', 1); // id 1, left open
      await events.insert(pool, 'b', 1); // id 2, committed: a gap at 1
      const stream = await events.toStream(pool)('');
      await assert.rejects(
        within(stream.recv(), 10_000, 'the next event'),
        (err: { code?: string }) => err.code === 'ERR_REFLEX_UNSAFE_SCHEMA',
      );
    } finally {
      await c.query('ROLLBACK');
      c.release();
      await events.close();
    }
  });

  it('an unrelated long transaction (an xid, no lock on the events table) does not hold a rolled-back gap', async (t) => {
    const pool = await setup(t, 6);
    if (pool === undefined) return;
    const name = table('pg_unrelated');
    const events = newEventsTable(name, { pollIntervalMs: 20 });
    await events.createTable(pool);
    const unrelated = await pool.connect();
    const w = await pool.connect();
    try {
      await unrelated.query('BEGIN');
      await unrelated.query('SELECT pg_current_xact_id()'); // running, with an xid, for the whole test
      await w.query('BEGIN');
      await events.insert(w, 'rolled-back', 1); // id 1
      await events.insert(pool, 'two', 2); // id 2, committed above the hole
      const stream = await events.toStream(pool)('');
      const next = stream.recv();
      await w.query('ROLLBACK');
      const e = await within(next, 10_000, 'the event after the rolled-back gap');
      assert.equal(e.id, '2');
      await stream.close();
    } finally {
      await unrelated.query('ROLLBACK');
      unrelated.release();
      w.release();
      await events.close();
    }
  });

  it('ids beyond 2^32 come back exact; timestamps are the database clock; metadata is bytes', async (t) => {
    const pool = await setup(t, 4);
    if (pool === undefined) return;
    const name = table('pg_types');
    const events = newEventsTable(name, { metadataColumn: 'metadata' });
    await events.createTable(pool);
    await pool.query(`SELECT setval('"${name}_id_seq"', 9007199254740000)`);
    const before = Date.now();
    await events.insert(pool, 'x', 7, { metadata: new Uint8Array([0, 1, 255]) });
    const e = await (await events.toStream(pool)('9007199254740000')).recv();
    assert.equal(e.id, '9007199254740001');
    assert.equal(e.foreignId, 'x');
    assert.equal(e.type, 7);
    assert.deepEqual([...(e.metadata ?? [])], [0, 1, 255]);
    assert.ok(
      Math.abs(e.timestamp.getTime() - before) < 60_000,
      `timestamp ${e.timestamp.toISOString()}`,
    );
    await events.close();
  });

  it('timestamps come back to the millisecond in any session time zone, truncated; infinity is an invalid Date', async (t) => {
    const pool = await setup(t, 2);
    if (pool === undefined) return;
    const name = table('pg_ts');
    const events = newEventsTable(name);
    await events.createTable(pool);
    const stored = [
      '2026-11-28 06:20:00.123999+00',
      '2026-11-28 11:50:00.5+05:30',
      '1969-12-31 23:59:59.1239+00',
      '2026-11-28 06:20:00+00',
      'infinity',
    ];
    const client = await pool.connect();
    try {
      // The reader's session time zone must not matter.
      await client.query(`SET TIME ZONE 'America/St_Johns'`);
      for (const [i, ts] of stored.entries()) {
        await client.query(
          `INSERT INTO "${name}" (foreign_id, timestamp, type) VALUES ($1, $2::timestamptz, 1)`,
          [String(i), ts],
        );
      }
      const stream = await events.toStream(client)('', { toHead: true });
      const got: number[] = [];
      for await (const e of stream) got.push(e.timestamp.getTime());
      assert.deepEqual(got, [
        Date.UTC(2026, 10, 28, 6, 20, 0, 123),
        Date.UTC(2026, 10, 28, 6, 20, 0, 500),
        -877,
        Date.UTC(2026, 10, 28, 6, 20, 0, 0),
        Number.NaN,
      ]);
    } finally {
      client.release();
      await events.close();
    }
  });

  it('a closed pool: ERR_REFLEX_DB_CLOSED for insert, streams and cursors, also for a stream waiting at the head', async (t) => {
    const url = await requireServer(t, postgresServer);
    if (url === undefined) return;
    admin ??= pgPool(url, 2); // drops the tables at the end
    const pool = pgPool(url, 2); // ended here, so not in `pools`
    const name = table('pg_closed');
    const events = newEventsTable(name);
    const cursors = newCursorsTable(table('pg_closed_cur'));
    try {
      await events.createTable(pool);
      await cursors.createTable(pool);
      const queriesBefore = events.stats().queries;
      const pending = (await events.toStream(pool)('')).recv();
      pending.catch(() => {});
      await waitFor('the stream read the head', () => events.stats().queries > queriesBefore);
      // Still waiting, a turn later: pg-pool 3.14 strands a query whose pool ends in the same
      // tick as it was sent (it never settles), which would hang this test, not the library.
      assert.ok(await stillPending(pending, 20));
      await pool.end();
      await assert.rejects(events.insert(pool, 'x', 1), (e) => hasCode(e, RsqlErrorCode.dbClosed));
      await assert.rejects(
        events
          .toStream(pool)('', { toHead: true })
          .then((s) => s.recv()),
        (e) => hasCode(e, RsqlErrorCode.dbClosed),
      );
      await assert.rejects(cursors.getCursor(pool, 'c'), (e) => hasCode(e, RsqlErrorCode.dbClosed));
      await assert.rejects(cursors.setCursor(pool, 'c', '1'), (e) =>
        hasCode(e, RsqlErrorCode.dbClosed),
      );
      await assert.rejects(pending, (e) => hasCode(e, RsqlErrorCode.dbClosed));
    } finally {
      await events.close();
    }
  });

  it('NOTIFY wakes a stream in another table instance at once (poll interval 60 s), also after its LISTEN connection is terminated', async (t) => {
    const pool = await setup(t, 4);
    const adm = admin;
    if (pool === undefined || adm === undefined) return;
    const name = table('pg_notify');
    const writer = newEventsTable(name, { notify: true });
    const reader = newEventsTable(name, { notify: true, pollIntervalMs: 60_000 });
    await writer.createTable(pool);
    const stream = await reader.toStream(pool)('');
    const got: Event[] = [];
    const reading = drain(stream, got);
    const listenPid = async (): Promise<number | undefined> => {
      const r = await adm.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()',
        [`LISTEN "reflex_${name}"`],
      );
      return r.rows[0]?.pid;
    };
    await waitFor('the LISTEN connection', async () => (await listenPid()) !== undefined);
    await writer.insert(pool, 'a', 1); // another instance: only NOTIFY can wake the reader
    await waitFor('event 1 via NOTIFY', () => got.length === 1, 10_000);
    const pid = await listenPid();
    await adm.query('SELECT pg_terminate_backend($1, 5000)', [pid]);
    await writer.insert(pool, 'b', 1);
    await waitFor(
      'event 2 after the LISTEN connection was replaced',
      () => got.length === 2,
      10_000,
    );
    await waitFor('a new LISTEN connection', async () => {
      const p = await listenPid();
      return p !== undefined && p !== pid;
    });
    await writer.insert(pool, 'c', 1);
    await waitFor('event 3 via the new LISTEN connection', () => got.length === 3, 10_000);
    assert.deepEqual(
      got.map((e) => e.foreignId),
      ['a', 'b', 'c'],
    );
    await stream.close();
    await reading;
    await reader.close();
    await writer.close();
    assert.equal(await listenPid(), undefined, 'close ends the LISTEN connection');
  });

  it('NOTIFY works for a schema-qualified table (the channel is one name)', async (t) => {
    const pool = await setup(t, 4);
    if (pool === undefined || admin === undefined) return;
    const schema = uniqueName('reflex_s');
    await admin.query(`CREATE SCHEMA "${schema}"`);
    const name = `${schema}.ev`;
    const writer = newEventsTable(name, { notify: true });
    const reader = newEventsTable(name, { notify: true, pollIntervalMs: 60_000 });
    try {
      await writer.createTable(pool);
      const stream = await reader.toStream(pool)('');
      const next = stream.recv();
      await waitFor('the LISTEN connection', async () => {
        const r = await admin?.query('SELECT 1 FROM pg_stat_activity WHERE query = $1', [
          `LISTEN "reflex_${name}"`,
        ]);
        return (r?.rowCount ?? 0) > 0;
      });
      await writer.insert(pool, 'a', 1); // another instance: only NOTIFY can wake the reader
      assert.equal((await within(next, 10_000, 'the event via NOTIFY')).foreignId, 'a');
      await stream.close();
    } finally {
      await reader.close();
      await writer.close();
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
    }
  });

  it('with NOTIFY off, inserts from elsewhere arrive by polling (no LISTEN connection)', async (t) => {
    const pool = await setup(t, 4);
    if (pool === undefined || admin === undefined) return;
    const name = table('pg_poll');
    const writer = newEventsTable(name);
    const reader = newEventsTable(name, { pollIntervalMs: 20 });
    await writer.createTable(pool);
    const stream = await reader.toStream(pool)('');
    const got: Event[] = [];
    const reading = drain(stream, got);
    await writer.insert(pool, 'a', 1);
    await waitFor('event 1 by polling', () => got.length === 1, 10_000);
    const listens = await admin.query('SELECT 1 FROM pg_stat_activity WHERE query = $1', [
      `LISTEN "reflex_${name}"`,
    ]);
    assert.equal(listens.rowCount, 0);
    await stream.close();
    await reading;
    await reader.close();
  });

  it('a consumer across terminated reader connections: run recovers or rejects, the next run resumes from the cursor, nothing lost', async (t) => {
    const app = uniqueName('reflex-reader');
    const readPool = await setup(t, 2, app);
    const pool = await setup(t, 4);
    if (readPool === undefined || pool === undefined || admin === undefined) return;
    const name = table('pg_consume');
    const cursorsName = table('pg_cursors');
    const events = newEventsTable(name, { pollIntervalMs: 20, notify: true });
    const cursors = newCursorsTable(cursorsName);
    await events.createTable(pool);
    await cursors.createTable(pool);
    const store = cursors.toStore(pool, { asyncPeriodMs: 0 });
    const seen: string[] = [];
    const consumer = newConsumer('c1', (e) => {
      seen.push(e.id);
    });
    const spec = newSpec(events.toStream(readPool), store, consumer);
    const runs: string[] = [];
    const ac = new AbortController();
    const loop = (async () => {
      while (!ac.signal.aborted) {
        try {
          await run(spec, { signal: ac.signal });
        } catch (err) {
          runs.push((err as { code?: string }).code ?? String(err));
        }
      }
    })();
    for (let i = 0; i < 5; i++) await events.insert(pool, `a${i}`, 1);
    await waitFor('5 consumed', () => new Set(seen).size >= 5);
    for (let round = 0; round < 3; round++) {
      await admin.query(
        'SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1',
        [app],
      );
      for (let i = 0; i < 5; i++) await events.insert(pool, `b${round}-${i}`, 1);
    }
    await waitFor('20 consumed', () => new Set(seen).size >= 20);
    ac.abort();
    await loop;
    const unique = [...new Set(seen)];
    assert.deepEqual(
      unique,
      Array.from({ length: 20 }, (_, i) => String(i + 1)),
      'every event, in order',
    );
    assert.equal(await store.getCursor('c1'), '20');
    t.diagnostic(`runs ended with: ${runs.join(', ')}; deliveries ${seen.length}`);
    await store.close();
    await events.close();
  });
});
