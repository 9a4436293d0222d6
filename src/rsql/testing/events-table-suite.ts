import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { ErrorCode, type Event, hasCode, type StreamClient } from '../../core/index.js';
import { drain, stillPending, within } from '../../testing/index.js';
import { type EventsTable, type EventsTableOptions, newEventsTable } from '../index.js';
import {
  type OpenTransaction,
  type SqlHarness,
  type SqlHarnessFactory,
  type SuiteApi,
  uniqueTableName,
} from './harness.js';

async function recvN(stream: StreamClient, n: number, ms = 5000): Promise<Event[]> {
  const out: Event[] = [];
  for (let i = 0; i < n; i++) out.push(await within(stream.recv(), ms, `event ${i + 1} of ${n}`));
  return out;
}

interface Ctx {
  readonly h: SqlHarness;
  readonly table: EventsTable;
  insert(foreignId: string, type: number, metadata?: Uint8Array | null): Promise<void>;
  /** Opens a transaction that is rolled back at the end of the test if it is still open. */
  begin(): Promise<OpenTransaction>;
}

/**
 * The conformance suite of an events table: every behaviour a dialect must have (ordering,
 * gaps, head/toHead/fromHead, notify, shared loader, metadata, bad input). Call it from a test
 * file with node:test's `describe`/`it`/`after` and a harness factory for your database.
 * @example
 * import { after, describe, it } from 'node:test';
 * import { sqlEventsTableSuite } from 'reflex-events/rsql/testing';
 * sqlEventsTableSuite({ describe, it, after }, myHarnessFactory);
 */
export function sqlEventsTableSuite(api: SuiteApi, factory: SqlHarnessFactory): void {
  const { describe, it, after } = api;

  async function withTable(
    t: TestContext,
    options: EventsTableOptions | undefined,
    fn: (c: Ctx) => Promise<void>,
  ): Promise<void> {
    const h = await factory.setup(t);
    if (h === undefined) return;
    const name = uniqueTableName('ev');
    const table = newEventsTable(name, { pollIntervalMs: 20, gapFillDelayMs: 100, ...options });
    await table.createTable(h.db);
    const open: { tx: OpenTransaction; ended: boolean }[] = [];
    const ctx: Ctx = {
      h,
      table,
      async begin() {
        if (h.begin === undefined) throw new Error(`${h.name} has no concurrent writers`);
        const entry = { tx: await h.begin(), ended: false };
        open.push(entry);
        const end = (f: () => Promise<void>) => () => {
          entry.ended = true;
          return f();
        };
        return {
          tx: entry.tx.tx,
          commit: end(() => entry.tx.commit()),
          rollback: end(() => entry.tx.rollback()),
        };
      },
      insert: (foreignId, type, metadata) =>
        h.transaction(async (tx) => {
          await table.insert(
            tx,
            foreignId,
            type,
            metadata === undefined ? undefined : { metadata },
          );
        }),
    };
    try {
      await fn(ctx);
    } finally {
      // A failed assertion must not leave a transaction open: it would block the DROP.
      for (const o of open) if (!o.ended) await o.tx.rollback().catch(() => {});
      await table.close();
      await h.dropTable(name);
    }
  }

  describe('events table conformance', () => {
    after(() => factory.teardown());

    it('streams committed events in id order, duplicates included, then waits', async (t) => {
      await withTable(t, undefined, async ({ table, h, insert }) => {
        await insert('a', 1);
        await insert('a', 1);
        await insert('b', 2);
        const ac = new AbortController();
        const s = await table.toStream(h.db)('', { signal: ac.signal });
        const got = await recvN(s, 3);
        assert.deepEqual(
          got.map((e) => [e.id, e.foreignId, e.type]),
          [
            ['1', 'a', 1],
            ['2', 'a', 1],
            ['3', 'b', 2],
          ],
        );
        assert.ok(
          got.every((e) => e.timestamp instanceof Date && !Number.isNaN(e.timestamp.getTime())),
        );
        const pending = s.recv();
        assert.ok(await stillPending(pending, 100), 'recv waits after the last event');
        ac.abort();
        await assert.rejects(pending);
        await s.close();
      });
    });

    it('empty table: toHead ends at once, a plain stream waits', async (t) => {
      await withTable(t, undefined, async ({ table, h }) => {
        const stream = table.toStream(h.db);
        assert.deepEqual(await drain(await stream('', { toHead: true })), []);
        const s = await stream('');
        const p = s.recv();
        assert.ok(await stillPending(p, 100));
        await s.close();
        await assert.rejects(p, (e) => hasCode(e, ErrorCode.closed));
      });
    });

    it('toHead from various cursors delivers exactly the rest', async (t) => {
      await withTable(t, undefined, async ({ table, h, insert }) => {
        const stream = table.toStream(h.db);
        for (let i = 0; i < 10; i++) await insert(`f${i}`, 1);
        assert.equal((await drain(await stream('', { toHead: true }))).length, 10);
        assert.deepEqual(
          (await drain(await stream('5', { toHead: true }))).map((e) => e.id),
          ['6', '7', '8', '9', '10'],
        );
        await h.transaction(async (tx) => {
          for (let i = 0; i < 20; i++) await table.insert(tx, `g${i}`, 2);
        });
        assert.equal((await drain(await stream('10', { toHead: true }))).length, 20);
        assert.equal((await drain(await stream('30', { toHead: true }))).length, 0);
        assert.equal((await drain(await stream('99', { toHead: true }))).length, 0);
      });
    });

    it('fromHead is resolved when the stream opens', async (t) => {
      await withTable(t, undefined, async ({ table, h, insert }) => {
        for (let i = 0; i < 10; i++) await insert(`f${i}`, 1);
        const s = await table.toStream(h.db)('', { fromHead: true });
        // Written after the open but before the first recv: must be delivered.
        for (let i = 0; i < 5; i++) await insert(`n${i}`, 2);
        const got = await recvN(s, 5);
        assert.deepEqual(
          got.map((e) => e.id),
          ['11', '12', '13', '14', '15'],
        );
        await s.close();
        await assert.rejects(table.toStream(h.db)('3', { fromHead: true }), (e) =>
          hasCode(e, ErrorCode.invalidArgument),
        );
      });
    });

    it('rejects the noop marker, metadata without a column and malformed cursors; nothing written', async (t) => {
      await withTable(t, undefined, async ({ table, h }) => {
        await assert.rejects(
          h.transaction((tx) => table.insert(tx, '0', 0).then(() => {})),
          (e) => hasCode(e, ErrorCode.invalidArgument) && /noop/.test(String(e)),
        );
        await assert.rejects(
          h.transaction((tx) =>
            table.insert(tx, 'x', 1, { metadata: new Uint8Array([1]) }).then(() => {}),
          ),
          (e) => hasCode(e, ErrorCode.invalidArgument) && /metadata not enabled/.test(String(e)),
        );
        for (const bad of ['-1', 'abc', '1.5', ' 1', '99999999999999999999']) {
          await assert.rejects(table.toStream(h.db)(bad), (e) =>
            hasCode(e, ErrorCode.invalidCursor),
          );
        }
        assert.deepEqual(await drain(await table.toStream(h.db)('', { toHead: true })), []);
        assert.throws(
          () => newEventsTable('bad name; drop table x'),
          (e) => hasCode(e, ErrorCode.invalidArgument),
        );
        assert.throws(
          () => newEventsTable('ok', { idColumn: 'id`' }),
          (e) => hasCode(e, ErrorCode.invalidArgument),
        );
        assert.throws(() => newEventsTable('ok', { lookupLimit: 0 }));
        assert.throws(() => newEventsTable('ok', { nope: 1 } as never));
      });
    });

    it('foreign ids come back exactly; one with a lone surrogate is refused, nothing written', async (t) => {
      await withTable(t, undefined, async ({ table, h, insert }) => {
        const exact = ['Mailer', 'mailer', 'mailer ', 'm\u00e4iler', 'x\u{1F600}'];
        for (const fid of exact) await insert(fid, 1);
        for (const bad of ['a\uD800', '\uDC00b', 'x\uDE00\uD83D']) {
          await assert.rejects(
            h.transaction((tx) => table.insert(tx, bad, 1).then(() => {})),
            (e) => hasCode(e, ErrorCode.invalidArgument) && /surrogate/.test(String(e)),
          );
        }
        const got = await drain(await table.toStream(h.db)('', { toHead: true }));
        assert.deepEqual(
          got.map((e) => e.foreignId),
          exact,
        );
      });
    });

    it('metadata round-trips (bytes, and null → none)', async (t) => {
      await withTable(t, { metadataColumn: 'metadata' }, async ({ table, h, insert }) => {
        const bytes = new Uint8Array(3000).map((_, i) => i % 251);
        await insert('a', 1, bytes);
        await insert('b', 1, null);
        await insert('c', 1);
        const got = await drain(await table.toStream(h.db)('', { toHead: true }));
        assert.deepEqual(got[0]?.metadata && Uint8Array.from(got[0].metadata), bytes);
        assert.equal(got[1]?.metadata, undefined);
        assert.equal(got[2]?.metadata, undefined);
      });
    });

    it('custom column names, int foreign ids and a small lookup limit', async (t) => {
      await withTable(
        t,
        {
          idColumn: 'eid',
          foreignIdColumn: 'user_id',
          timestampColumn: 'at',
          typeColumn: 'kind',
          foreignIdType: 'int',
          lookupLimit: 10,
        },
        async ({ table, h }) => {
          await h.transaction(async (tx) => {
            for (let i = 1; i <= 25; i++) await table.insert(tx, i * 100, i);
            // Not an int: refused before the statement (SQLite would store the text).
            for (const bad of ['abc', '007', '1.5', '']) {
              await assert.rejects(
                table.insert(tx, bad, 1),
                (e) => hasCode(e, ErrorCode.invalidArgument),
                bad,
              );
            }
          });
          const before = table.stats().queries;
          const got = await drain(await table.toStream(h.db)('', { toHead: true }));
          assert.equal(got.length, 25);
          assert.equal(got[24]?.foreignId, '2500');
          assert.equal(got[24]?.type, 25);
          assert.ok(table.stats().queries - before >= 3, 'loaded in batches of 10');
        },
      );
    });

    it('a rolled-back transaction never blocks the stream and its events never appear', async (t) => {
      await withTable(t, undefined, async ({ table, h, insert }) => {
        await insert('a', 1);
        await h.transaction(
          async (tx) => {
            await table.insert(tx, 'rolled', 9);
            await table.insert(tx, 'rolled', 9);
          },
          { rollback: true },
        );
        await insert('b', 2);
        const s = await table.toStream(h.db)('');
        const got = await recvN(s, 2, 5000);
        assert.deepEqual(
          got.map((e) => e.foreignId),
          ['a', 'b'],
        );
        await s.close();
      });
    });

    it('notify wakes same-process streams at once (one query for all of them)', async (t) => {
      await withTable(t, { pollIntervalMs: 3_600_000 }, async ({ table, h }) => {
        const stream = table.toStream(h.db);
        await drain(await stream('', { toHead: true }));
        const streams = await Promise.all(Array.from({ length: 10 }, () => stream('')));
        const pending = streams.map((s) => s.recv());
        assert.ok(await stillPending(Promise.race(pending), 50));
        const before = table.stats().queries;
        let notify: () => void = () => {};
        await h.transaction(async (tx) => {
          notify = await table.insert(tx, 'x', 7);
        });
        notify();
        const got = await within(Promise.all(pending), 2000, 'notify wakes all streams');
        assert.ok(got.every((e) => e.foreignId === 'x'));
        const used = table.stats().queries - before;
        assert.ok(used <= 2, `10 streams woken with ${used} queries`);
        await Promise.all(streams.map((s) => s.close()));
      });
    });

    it('streams of one table share a loader: a second stream reads from the cache', async (t) => {
      await withTable(t, undefined, async ({ table, h }) => {
        await h.transaction(async (tx) => {
          for (let i = 0; i < 50; i++) await table.insert(tx, `f${i}`, 1);
        });
        const stream = table.toStream(h.db);
        assert.equal((await drain(await stream('', { toHead: true }))).length, 50);
        const hits = table.stats().cacheHits;
        assert.equal((await drain(await stream('10', { toHead: true }))).length, 40);
        assert.ok(table.stats().cacheHits > hits);
      });
    });

    it('concurrent streams from the same cursor share their loads (singleflight)', async (t) => {
      await withTable(t, undefined, async ({ table, h }) => {
        await h.transaction(async (tx) => {
          for (let i = 0; i < 30; i++) await table.insert(tx, `f${i}`, 1);
        });
        const stream = table.toStream(h.db);
        const streams = await Promise.all(
          Array.from({ length: 8 }, () => stream('', { toHead: true })),
        );
        const before = table.stats().queries;
        const got = await within(Promise.all(streams.map(drain)), 5000, 'eight drains');
        assert.ok(got.every((g) => g.length === 30));
        const used = table.stats().queries - before;
        assert.ok(used <= 4, `8 streams caught up with ${used} queries`);
      });
    });

    it('lag at the source delays each event until it is old enough', async (t) => {
      await withTable(t, undefined, async ({ table, h, insert }) => {
        await insert('a', 1);
        const s = await table.toStream(h.db)('', { lag: 300 });
        const e = await within(s.recv(), 5000, 'lagged event');
        assert.ok(Date.now() >= e.timestamp.getTime() + 300 - 5);
        await s.close();
      });
    });

    it('closing the table ends pending reads with ERR_REFLEX_STOPPED; later opens are ERR_REFLEX_CLOSED', async (t) => {
      await withTable(t, undefined, async ({ table, h }) => {
        const s = await table.toStream(h.db)('');
        const p = s.recv();
        assert.ok(await stillPending(p, 50));
        await table.close();
        await assert.rejects(p, (e) => hasCode(e, ErrorCode.stopped));
        // Not `stopped`: that one is expected, and runForever would retry a closed table for ever.
        await assert.rejects(table.toStream(h.db)(''), (e) => hasCode(e, ErrorCode.closed));
      });
    });

    describe('concurrent writers', () => {
      it('an uncommitted id blocks later events until it commits (no filler needed)', async (t) => {
        await withTable(t, undefined, async ({ table, h, insert, begin }) => {
          if (h.begin === undefined) return t.skip('writers are serialised');
          await insert('one', 1);
          const open = await begin();
          await table.insert(open.tx, 'two', 2);
          await insert('three', 3);
          const s = await table.toStream(h.db)('');
          assert.equal((await s.recv()).foreignId, 'one');
          const p = s.recv();
          assert.ok(await stillPending(p, 400), 'blocked at the uncommitted id');
          await open.commit();
          assert.equal((await within(p, 5000, 'after commit')).foreignId, 'two');
          assert.equal((await within(s.recv(), 5000, 'third')).foreignId, 'three');
          await s.close();
        });
      });

      it('a gap that is still resolving is not the head', async (t) => {
        await withTable(t, undefined, async ({ table, h, insert, begin }) => {
          if (h.begin === undefined) return t.skip('writers are serialised');
          await insert('one', 1);
          const open = await begin();
          await table.insert(open.tx, 'two', 2);
          await insert('three', 3);
          const s = await table.toStream(h.db)('', { toHead: true });
          const all = drain(s);
          assert.ok(await stillPending(all, 400), 'toHead waits for the gap');
          assert.ok(table.stats().blockingGaps === 1);
          await open.commit();
          assert.deepEqual(
            (await within(all, 5000, 'drain')).map((e) => e.foreignId),
            ['one', 'two', 'three'],
          );
        });
      });

      it('a rollback is resolved (MySQL: hidden noops, which includeNoops shows; PostgreSQL: no rows written)', async (t) => {
        await withTable(t, undefined, async ({ table, h, insert, begin }) => {
          if (h.begin === undefined) return t.skip('writers are serialised');
          await insert('one', 1);
          const open = await begin();
          await table.insert(open.tx, 'two', 2);
          await table.insert(open.tx, 'two-b', 2);
          await insert('four', 4);
          const s = await table.toStream(h.db)('');
          const s2 = await table.toStream(h.db)('1');
          assert.equal((await s.recv()).foreignId, 'one');
          const p = s.recv();
          const p2 = s2.recv();
          assert.ok(await stillPending(p, 300));
          await open.rollback();
          const [e, e2] = await within(Promise.all([p, p2]), 5000, 'both streams pass the gap');
          assert.equal(e.foreignId, 'four');
          assert.equal(e.id, '4');
          assert.equal(e2.id, '4');
          const fills = h.fillsGaps !== false;
          if (fills) assert.ok(table.stats().gapsFilled >= 2);
          else assert.equal(table.stats().gapsFilled, 0, 'no noop rows written');
          await s.close();
          await s2.close();
          const withNoops = newEventsTable(table.name, { includeNoops: true });
          const got = await drain(await withNoops.toStream(h.db)('', { toHead: true }));
          await withNoops.close();
          const noops = [
            ['2', '0', 0],
            ['3', '0', 0],
          ];
          assert.deepEqual(
            got.map((x) => [x.id, x.foreignId, x.type]),
            [['1', 'one', 1], ...(fills ? noops : []), ['4', 'four', 4]],
          );
        });
      });
    });

    describe('serialised writers', () => {
      it('ids commit in id order and a rolled-back id is reused (no gap)', async (t) => {
        await withTable(t, undefined, async ({ table, h, insert }) => {
          if (h.begin !== undefined) return t.skip('concurrent writers');
          await insert('one', 1);
          await h.transaction(async (tx) => void (await table.insert(tx, 'x', 9)), {
            rollback: true,
          });
          await insert('two', 2);
          const got = await drain(await table.toStream(h.db)('', { toHead: true }));
          assert.deepEqual(
            got.map((e) => [e.id, e.foreignId]),
            [
              ['1', 'one'],
              ['2', 'two'],
            ],
          );
          assert.equal(table.stats().gapsDetected, 0);
        });
      });
    });
  });
}
