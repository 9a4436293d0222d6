import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PoolConnection } from 'mysql2/promise';
import type { Event, StreamClient } from '../../../src/core/index.js';
import { newEventsTable } from '../../../src/rsql/index.js';
import { within } from '../../../src/testing/index.js';
import { mysqlServer, requireServer, uniqueName } from '../../support/servers.js';
import { mysqlPool } from '../../support/sql-harness.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('8 writers committing, rolling back, holding and killed: every consumer gets exactly the committed events in order', async (t) => {
  const url = await requireServer(t, mysqlServer);
  if (url === undefined) return;
  const writers = mysqlPool(url, 12);
  const admin = mysqlPool(url, 2);
  const readers = mysqlPool(url, 6);
  const name = uniqueName('ev_conc');
  const warnings: string[] = [];
  const logger = {
    debug() {},
    info() {},
    warn(m: string, f?: Readonly<Record<string, unknown>>) {
      warnings.push(
        `${m} ${String((f?.error as Error | undefined)?.message)} ${JSON.stringify({ ...f, error: undefined })}`,
      );
    },
    error() {},
  };
  const table = newEventsTable(name, { pollIntervalMs: 20, logger });
  // A second table object: its own loader, like another process.
  const other = newEventsTable(name, { pollIntervalMs: 50 });
  await table.createTable(writers);
  const committed: string[] = [];
  let rolledBack = 0;
  let killed = 0;
  try {
    const consumers: { stream: StreamClient; got: Event[] }[] = [];
    const ac = new AbortController();
    for (const [tbl, db] of [
      [table, readers],
      [table, readers],
      [other, readers],
    ] as const) {
      consumers.push({ stream: await tbl.toStream(db)('', { signal: ac.signal }), got: [] });
    }
    const reading = consumers.map(async (c) => {
      try {
        for (;;) c.got.push(await c.stream.recv());
      } catch {
        // closed at the end
      }
    });

    const until = Date.now() + 2500;
    const writer = async (w: number): Promise<void> => {
      for (let n = 0; Date.now() < until; n++) {
        const conn: PoolConnection = await writers.getConnection();
        const mine: string[] = [];
        let dead = false;
        try {
          await conn.beginTransaction();
          const count = 1 + Math.floor(Math.random() * 3);
          for (let k = 0; k < count; k++) {
            const fid = `w${w}-${n}-${k}`;
            await table.insert(conn, fid, 1 + k);
            mine.push(fid);
          }
          const r = Math.random();
          if (r < 0.1)
            await sleep(Math.random() * 1500); // held open
          else if (r < 0.3) await sleep(Math.random() * 20);
          const fate = Math.random();
          if (fate < 0.05) {
            dead = true;
            killed++;
            await admin.query(`KILL ${conn.threadId}`);
          } else if (fate < 0.35) {
            await conn.rollback();
            rolledBack++;
          } else {
            await conn.commit();
            committed.push(...mine);
            table.notify();
          }
        } finally {
          if (dead) conn.destroy();
          else conn.release();
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
    assert.ok(committed.length > 50, `enough traffic (${committed.length} committed)`);

    const want = new Set(committed);
    await within(
      (async () => {
        while (consumers.some((c) => c.got.length < want.size)) await sleep(20);
      })(),
      15_000,
      'consumers receive every committed event',
    ).catch(async (err: unknown) => {
      const [rows] = await writers.query(
        `SELECT id, foreign_id, type FROM \`${name}\` ORDER BY id`,
      );
      const ids = (rows as { id: number }[]).map((r) => r.id);
      const holes = ids.filter((id, i) => i > 0 && id !== (ids[i - 1] as number) + 1);
      t.diagnostic(
        `got ${consumers.map((c) => `${c.got.length}@${c.got.at(-1)?.id}`).join(' ')} of ${want.size}; rows ${ids.length} max ${ids.at(-1)} holes-after ${holes.slice(0, 10).join(',')}; warnings ${warnings.slice(-3).join(' | ')} stats ${JSON.stringify(table.stats())} other ${JSON.stringify(other.stats())}`,
      );
      throw err;
    });
    // A last event after everything: once each consumer has it, anything extra (a duplicate, a
    // rolled-back event) would have arrived before it.
    await table.insert(writers, 'sentinel', 1);
    table.notify();
    await within(
      (async () => {
        while (consumers.some((c) => c.got.at(-1)?.foreignId !== 'sentinel')) await sleep(20);
      })(),
      15_000,
      'consumers receive the sentinel',
    );
    ac.abort();
    await Promise.all(reading);
    for (const c of consumers) {
      assert.equal(c.got.pop()?.foreignId, 'sentinel', 'the sentinel comes last');
      const ids = c.got.map((e) => Number(e.id));
      assert.ok(
        ids.every((id, i) => i === 0 || id > (ids[i - 1] as number)),
        'strictly increasing ids',
      );
      assert.equal(c.got.length, want.size, 'no duplicates, nothing extra');
      assert.deepEqual(
        new Set(c.got.map((e) => e.foreignId)),
        want,
        'exactly the committed events',
      );
    }
    t.diagnostic(
      `${committed.length} committed, ${rolledBack} rolled back, ${killed} killed, stats ${JSON.stringify(table.stats())}`,
    );
  } finally {
    await table.close();
    await other.close();
    await writers.query(`DROP TABLE IF EXISTS \`${name}\``);
    await Promise.all([writers.end(), admin.end(), readers.end()]);
  }
});
