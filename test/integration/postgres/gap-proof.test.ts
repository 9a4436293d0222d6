// Proof, on the real PostgreSQL, of the claims the PostgreSQL gap strategy rests on
// (docs/postgres.md, "Why it is safe"). It uses pg directly: nothing of the library but the xid
// arithmetic of src/rsql/postgres/xids.ts.
//
// The strategy: the id column default assigns the transaction's xid before nextval(); a reader that
// sees a hole below a visible row takes, in one statement, its snapshot, age('3'::xid) (a bound of
// the next xid) and the rows of the hole; the transactions that may hold an id of the hole are in
// W = xip ∪ [xmax, bound); the hole is skipped only when a later snapshot shows every member of W
// finished and the hole still empty.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import {
  finishedIn,
  inWaitSet,
  isEmptyWaitSet,
  nextXidBound,
  type PgSnapshot,
  parseSnapshot,
  stillRunning,
  type WaitSet,
  waitSetOf,
} from '../../../src/rsql/postgres/xids.js';
import { postgresServer, requireServer, serverUrl, uniqueName } from '../../support/servers.js';
import { waitFor } from '../../support/wait.js';

const SAFE_DEFAULT = (seq: string): string =>
  `case when pg_current_xact_id() is not null then nextval('${seq}') end`;

interface Check {
  snapshot: PgSnapshot;
  wait: WaitSet;
  ids: number[];
}

/** The reader's gap check: snapshot, next-xid bound and the rows, in one statement. */
async function check(c: pg.Client, table: string): Promise<Check> {
  const r = await c.query<{ snap: string; age: number; ids: string[] }>(
    `select pg_current_snapshot()::text as snap, age('3'::xid) as age,
            array(select g.id from ${table} g order by g.id)::text[] as ids`,
  );
  const row = r.rows[0];
  assert.ok(row);
  const snapshot = parseSnapshot(row.snap);
  return {
    snapshot,
    wait: waitSetOf(snapshot, nextXidBound(snapshot.xmax, row.age)),
    ids: row.ids.map(Number),
  };
}

/** The 32-bit xids of the transactions holding a lock on `table` (the gap strategy's refinement). */
async function lockHolders(c: pg.Client, table: string): Promise<Set<bigint>> {
  const r = await c.query<{ x: string }>(
    `SELECT x.transactionid::text AS x FROM pg_locks x WHERE x.locktype = 'transactionid' AND x.virtualtransaction IN (SELECT l.virtualtransaction FROM pg_locks l WHERE l.locktype = 'relation' AND l.relation = $1::regclass)`,
    [table],
  );
  return new Set(r.rows.map((row) => BigInt(row.x)));
}

async function xidOf(c: pg.Client): Promise<bigint> {
  const r = await c.query<{ x: string }>('select pg_current_xact_id()::text as x');
  return BigInt(r.rows[0]?.x ?? '0');
}

describe('postgres gap proof', { concurrency: false }, () => {
  let url: string | undefined;
  const clients: pg.Client[] = [];
  const tables: string[] = [];
  let admin: pg.Client;

  async function client(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: url ?? serverUrl(postgresServer) });
    c.on('error', () => {}); // terminated backends report here; the test asserts on the queries
    await c.connect();
    clients.push(c);
    return c;
  }

  /** A table whose id default is `def` (given the sequence name); inserts of foreign id 'pause' wait in a trigger for advisory lock `lock`. */
  async function table(
    def: (seq: string) => string,
    cache = 1,
  ): Promise<{ name: string; seq: string; lock: number }> {
    const name = uniqueName('gp');
    const seq = `${name}_id_seq`;
    const lock = Math.floor(Math.random() * 1e9);
    tables.push(name);
    await admin.query(`create sequence ${seq} cache ${cache}`);
    await admin.query(
      `create table ${name} (id bigint primary key default (${def(seq)}), foreign_id text not null, type int not null)`,
    );
    await admin.query(`alter sequence ${seq} owned by ${name}.id`);
    await admin.query(
      `create function ${name}_pause() returns trigger language plpgsql as $$
       begin
         if new.foreign_id = 'pause' then perform pg_advisory_xact_lock_shared(${lock}); end if;
         return new;
       end $$`,
    );
    await admin.query(
      `create trigger ${name}_pause before insert on ${name} for each row execute function ${name}_pause()`,
    );
    return { name, seq, lock };
  }

  async function pausedAt(c: pg.Client): Promise<void> {
    const pid = (c as unknown as { processID: number }).processID;
    await waitFor('the insert to wait in its trigger', async () => {
      const r = await admin.query(
        "select 1 from pg_stat_activity where pid = $1 and wait_event_type = 'Lock'",
        [pid],
      );
      return r.rowCount === 1;
    });
  }

  async function backendXid(c: pg.Client): Promise<string | null> {
    const pid = (c as unknown as { processID: number }).processID;
    const r = await admin.query<{ x: string | null }>(
      'select backend_xid::text as x from pg_stat_activity where pid = $1',
      [pid],
    );
    return r.rows[0]?.x ?? null;
  }

  after(async () => {
    for (const c of clients) await c.end().catch(() => {});
    if (admin) {
      for (const t of tables) {
        await admin.query(`drop table if exists ${t}`);
        await admin.query(`drop function if exists ${t}_pause()`);
        await admin.query(`drop sequence if exists ${t}_id_seq`);
      }
      await admin.end();
    }
  });

  async function setup(t: import('node:test').TestContext): Promise<boolean> {
    url = await requireServer(t, postgresServer);
    if (!url) return false;
    if (!admin) {
      admin = new pg.Client({ connectionString: url });
      await admin.connect();
    }
    return true;
  }

  it('the safe default assigns the xid before nextval: a hand-written INSERT paused after its id is listed in W', async (t) => {
    if (!(await setup(t))) return;
    const tb = await table(SAFE_DEFAULT);
    const [ctl, w, u, reader] = [await client(), await client(), await client(), await client()];
    await ctl.query('select pg_advisory_lock($1)', [tb.lock]);
    await w.query('begin');
    const paused = w.query(
      `insert into ${tb.name} (foreign_id, type) values ('pause', 1) returning id`,
    );
    await pausedAt(w);
    // The id is allocated (defaults run before BEFORE triggers) and the xid already assigned.
    const seq = await admin.query<{ v: string }>(`select last_value::text as v from ${tb.seq}`);
    assert.equal(seq.rows[0]?.v, '1');
    const x = await backendXid(w);
    assert.ok(x !== null, 'the paused transaction has an xid before its row exists');
    await u.query(`insert into ${tb.name} (foreign_id, type) values ('u', 2)`); // autocommit: id 2
    const c1 = await check(reader, tb.name);
    assert.deepEqual(c1.ids, [2], 'the reader sees 2 above the hole at 1');
    assert.ok(inWaitSet(c1.wait, BigInt(x)), 'the allocating transaction is in W');
    assert.ok(!finishedIn(c1.snapshot, BigInt(x)));
    assert.ok(
      (await lockHolders(reader, tb.name)).has(BigInt(x) % (1n << 32n)),
      'it already holds its lock on the table (taken before the default ran)',
    );
    const other = await client();
    await other.query('BEGIN');
    await xidOf(other); // an xid, but never touches the table
    assert.ok(!(await lockHolders(reader, tb.name)).has((await xidOf(other)) % (1n << 32n)));
    await other.query('ROLLBACK');
    await ctl.query('select pg_advisory_unlock($1)', [tb.lock]);
    assert.equal((await paused).rows[0]?.id, '1');
    await w.query('commit');
    const c2 = await check(reader, tb.name);
    assert.ok(
      isEmptyWaitSet(
        stillRunning({ xids: new Set([BigInt(x)]), rangeFrom: 0n, rangeTo: 0n }, c2.snapshot),
      ),
    );
    assert.deepEqual(
      c2.ids,
      [1, 2],
      'once the transaction is seen finished, its committed row is visible',
    );
  });

  it('without the safe default (plain nextval) the paused transaction has no xid yet: W misses it (why the default is needed)', async (t) => {
    if (!(await setup(t))) return;
    const tb = await table((seq) => `nextval('${seq}')`);
    // nextval() itself assigns an xid when it WAL-logs the sequence (its first call, then every 32
    // values or after a checkpoint): take id 1 here so that id 2 is handed out without logging.
    await admin.query(`select nextval('${tb.seq}')`);
    const [ctl, w, u, reader] = [await client(), await client(), await client(), await client()];
    await ctl.query('select pg_advisory_lock($1)', [tb.lock]);
    await w.query('begin');
    const paused = w.query(`insert into ${tb.name} (foreign_id, type) values ('pause', 1)`);
    await pausedAt(w);
    assert.equal(await backendXid(w), null, 'id 2 is allocated but the transaction has no xid');
    await u.query(`insert into ${tb.name} (foreign_id, type) values ('u', 3)`);
    const c1 = await check(reader, tb.name);
    assert.deepEqual(c1.ids, [3]);
    await ctl.query('select pg_advisory_unlock($1)', [tb.lock]);
    await paused;
    const x = await xidOf(w);
    assert.ok(
      !inWaitSet(c1.wait, x),
      'the xid assigned after the check is not in W: the hole could be skipped',
    );
    await w.query('commit');
    assert.deepEqual(
      (await check(reader, tb.name)).ids,
      [2, 3],
      '…and id 2 commits after it: it would be lost',
    );
  });

  it('xip alone is not enough: a transaction newer than the newest completed one is at or above xmax, and in [xmax, bound)', async (t) => {
    if (!(await setup(t))) return;
    let missedByXip = 0;
    const tb = await table(SAFE_DEFAULT);
    const [older, w, reader] = [await client(), await client(), await client()];
    for (let attempt = 0; attempt < 30 && missedByXip === 0; attempt++) {
      await admin.query(`truncate ${tb.name}; alter sequence ${tb.seq} restart`);
      await older.query('begin');
      await xidOf(older); // the older transaction gets its xid first
      // Few round trips from here to the check: sessions of others that complete a newer xid in
      // between raise xmax above w's xid and hide the case.
      await w.query(`begin; insert into ${tb.name} (foreign_id, type) values ('k', 1)`); // id 1, newer xid
      await older.query(`insert into ${tb.name} (foreign_id, type) values ('m', 2); commit`); // id 2 visible
      const c1 = await check(reader, tb.name);
      const x = await xidOf(w);
      assert.deepEqual(c1.ids, [2]);
      assert.ok(inWaitSet(c1.wait, x), 'the allocating transaction is always in W');
      if (!c1.snapshot.xip.includes(x)) {
        missedByXip++;
        assert.ok(x >= c1.snapshot.xmax, 'not listed in xip because it is at or above xmax');
      }
      await w.query('rollback');
      const c2 = await check(reader, tb.name);
      assert.ok(finishedIn(c2.snapshot, x));
      assert.deepEqual(c2.ids, [2], 'rolled back: the hole stays empty once W has finished');
    }
    // On a quiet server the first attempt shows it (it did on this machine). Other sessions that
    // complete newer xids in between raise xmax above it and hide the case: then only the
    // membership above, which never depends on load, is asserted.
    t.diagnostic(
      missedByXip === 0
        ? 'the server was too busy to reproduce the at-or-above-xmax case in 30 attempts'
        : `reproduced: the allocating transaction was at or above xmax, not in xip (${missedByXip}x)`,
    );
  });

  it('age(xid) bounds the next xid: no xid assigned before the statement is at or above the bound', async (t) => {
    if (!(await setup(t))) return;
    const [a, reader] = [await client(), await client()];
    await a.query('begin');
    const x = await xidOf(a);
    const c = await check(reader, '(select 1::bigint as id where false)');
    assert.ok(inWaitSet(c.wait, x));
    assert.ok(c.wait.rangeTo > x);
    const next = await admin.query<{ x: string }>('select pg_current_xact_id()::text as x'); // consumes one xid
    assert.ok(
      BigInt(next.rows[0]?.x ?? '0') >= c.wait.rangeTo,
      'an xid assigned after the statement is at or above the bound',
    );
    await a.query('rollback');
  });

  it('savepoints: the snapshot lists the top-level xid (not the subtransaction), and a rolled-back savepoint id waits for the top level', async (t) => {
    if (!(await setup(t))) return;
    const tb = await table(SAFE_DEFAULT);
    const [w, u, reader] = [await client(), await client(), await client()];
    await w.query('begin');
    await w.query('savepoint s1');
    await w.query(`insert into ${tb.name} (foreign_id, type) values ('k', 1)`);
    const top = await xidOf(w); // pg_current_xact_id() is the top-level xid
    const sub = BigInt(
      (await w.query<{ x: string }>(`select xmin::text as x from ${tb.name} where id = 1`)).rows[0]
        ?.x ?? '0',
    );
    assert.ok(sub > top, 'the row was written by a subtransaction with its own, newer xid');
    await u.query(`insert into ${tb.name} (foreign_id, type) values ('m', 2)`);
    const c1 = await check(reader, tb.name);
    assert.ok(inWaitSet(c1.wait, top), 'the top-level xid is in W');
    if (top < c1.snapshot.xmax) {
      assert.ok(c1.snapshot.xip.includes(top), 'a running top-level xid below xmax is in xip');
      assert.ok(!c1.snapshot.xip.includes(sub), 'subtransaction xids are not in pg_snapshot_xip');
    }
    await w.query('rollback to savepoint s1'); // id 1 can never appear, but the transaction runs on
    const c2 = await check(reader, tb.name);
    assert.deepEqual(c2.ids, [2]);
    assert.ok(
      !finishedIn(c2.snapshot, top),
      'the top level still runs: the hole waits (conservative, never lost)',
    );
    await w.query('commit');
    const c3 = await check(reader, tb.name);
    assert.ok(
      isEmptyWaitSet(
        stillRunning({ xids: new Set([top]), rangeFrom: 0n, rangeTo: 0n }, c3.snapshot),
      ),
    );
    assert.deepEqual(c3.ids, [2], 'finished without id 1: the hole is skipped');
  });

  it('savepoint released and committed: the id becomes visible with the top level', async (t) => {
    if (!(await setup(t))) return;
    const tb = await table(SAFE_DEFAULT);
    const [w, u, reader] = [await client(), await client(), await client()];
    await w.query('begin');
    await w.query('savepoint s1');
    await w.query(`insert into ${tb.name} (foreign_id, type) values ('k', 1)`);
    await w.query('release savepoint s1');
    const top = await xidOf(w);
    await u.query(`insert into ${tb.name} (foreign_id, type) values ('m', 2)`);
    const c1 = await check(reader, tb.name);
    assert.deepEqual(c1.ids, [2]);
    assert.ok(inWaitSet(c1.wait, top));
    await w.query('commit');
    assert.deepEqual((await check(reader, tb.name)).ids, [1, 2]);
  });

  it('pg_terminate_backend mid-transaction: the transaction is seen finished and its id never appears', async (t) => {
    if (!(await setup(t))) return;
    const tb = await table(SAFE_DEFAULT);
    const [w, u, reader] = [await client(), await client(), await client()];
    await w.query('begin');
    await w.query(`insert into ${tb.name} (foreign_id, type) values ('k', 1)`);
    const x = await xidOf(w);
    await u.query(`insert into ${tb.name} (foreign_id, type) values ('m', 2)`);
    const c1 = await check(reader, tb.name);
    assert.ok(inWaitSet(c1.wait, x));
    const pid = (w as unknown as { processID: number }).processID;
    await admin.query('select pg_terminate_backend($1, 5000)', [pid]);
    const c2 = await check(reader, tb.name);
    assert.ok(
      finishedIn(c2.snapshot, x),
      'the terminated transaction is finished in the next snapshot',
    );
    assert.deepEqual(c2.ids, [2]);
  });

  it('prepared transactions: listed in W while prepared (or refused when max_prepared_transactions = 0)', async (t) => {
    if (!(await setup(t))) return;
    const tb = await table(SAFE_DEFAULT);
    const [w, u, reader] = [await client(), await client(), await client()];
    const max = Number(
      (await admin.query<{ v: string }>("select current_setting('max_prepared_transactions') as v"))
        .rows[0]?.v,
    );
    await w.query('begin');
    await w.query(`insert into ${tb.name} (foreign_id, type) values ('k', 1)`);
    const x = await xidOf(w);
    const gid = uniqueName('gid');
    if (max === 0) {
      await assert.rejects(
        w.query(`prepare transaction '${gid}'`),
        (e: { code?: string }) => e.code === '55000',
      );
      await w.query('rollback').catch(() => {});
      const c = await check(reader, tb.name);
      assert.ok(finishedIn(c.snapshot, x), 'a refused PREPARE aborts the transaction');
      t.diagnostic('max_prepared_transactions = 0 here: prepared transactions cannot exist');
      return;
    }
    await w.query(`prepare transaction '${gid}'`); // the session is free again; the xid stays running
    await u.query(`insert into ${tb.name} (foreign_id, type) values ('m', 2)`);
    const c1 = await check(reader, tb.name);
    assert.deepEqual(c1.ids, [2]);
    assert.ok(inWaitSet(c1.wait, x), 'a prepared transaction is in W');
    assert.ok(
      (await lockHolders(reader, tb.name)).has(x % (1n << 32n)),
      'and keeps its table lock',
    );
    assert.ok(!finishedIn(c1.snapshot, x));
    await admin.query(`commit prepared '${gid}'`);
    const c2 = await check(reader, tb.name);
    assert.ok(finishedIn(c2.snapshot, x));
    assert.deepEqual(c2.ids, [1, 2]);
  });

  it('a sequence with CACHE > 1 hands out ids out of allocation order (why it is refused), and is detectable', async (t) => {
    if (!(await setup(t))) return;
    const tb = await table(SAFE_DEFAULT, 10);
    const [a, b, reader] = [await client(), await client(), await client()];
    await a.query(`insert into ${tb.name} (foreign_id, type) values ('a', 1)`); // a caches 1..10
    await b.query(`insert into ${tb.name} (foreign_id, type) values ('b', 1)`); // b caches 11..20
    const c1 = await check(reader, tb.name);
    assert.deepEqual(c1.ids, [1, 11]);
    await a.query(`insert into ${tb.name} (foreign_id, type) values ('a', 2)`); // id 2, allocated after 11 was read
    assert.deepEqual(
      (await check(reader, tb.name)).ids,
      [1, 2, 11],
      'id 2 appeared below an id already read',
    );
    const cache = await admin.query<{ c: string }>(
      `select s.seqcache::text as c from pg_sequence s where s.seqrelid = pg_get_serial_sequence($1, 'id')::regclass`,
      [tb.name],
    );
    assert.equal(cache.rows[0]?.c, '10');
  });

  it('the safe default in a multi-row INSERT … SELECT: the transaction has its xid', async (t) => {
    if (!(await setup(t))) return;
    const tb = await table(SAFE_DEFAULT);
    const [w] = [await client()];
    await w.query('begin');
    await w.query(
      `insert into ${tb.name} (foreign_id, type) select 'f' || g, g from generate_series(1, 3) g`,
    );
    assert.ok((await backendXid(w)) !== null);
    await w.query('commit');
    const r = await admin.query<{ id: string }>(`select id::text from ${tb.name} order by id`);
    assert.deepEqual(
      r.rows.map((x) => x.id),
      ['1', '2', '3'],
    );
  });
});
