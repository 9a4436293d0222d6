import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { noopLogger } from '../../../src/core/index.js';
import type { GapStrategy, GapVerdict } from '../../../src/rsql/dialect.js';
import { newEventsTable } from '../../../src/rsql/index.js';
import { GapResolver } from '../../../src/rsql/loader/gap-resolver.js';
import { PageReader } from '../../../src/rsql/loader/page-reader.js';
import { EventsCounters, noEventsMetrics } from '../../../src/rsql/metrics.js';
import { sqliteDialect } from '../../../src/rsql/sqlite/index.js';
import { FakeClock } from '../../support/fake-clock.js';
import { sqliteDir } from '../../support/sql-harness.js';

/** A page reader over a real SQLite events table of ten events (ids 1..10). */
async function withTable(
  options: { strategy?: GapStrategy; includeNoops?: boolean; lookupLimit?: number },
  fn: (
    reader: PageReader,
    db: Database.Database,
    ctx: { counters: EventsCounters; noop(id: number): void },
  ) => Promise<void>,
): Promise<void> {
  const dir = sqliteDir();
  const db = new Database(join(dir.path, 'pages.db'));
  const table = newEventsTable('events');
  try {
    await table.createTable(db);
    db.transaction(() => {
      for (let i = 1; i <= 10; i++) table.insertSync(db, `f${i}`, 1);
    })();
    const schema = table.schema;
    const statements = sqliteDialect.eventsStatements(schema);
    const executor = sqliteDialect.executor(db);
    const counters = new EventsCounters();
    const signal = new AbortController().signal;
    const common = {
      dialect: sqliteDialect,
      executor,
      schema,
      statements,
      clock: new FakeClock(),
      logger: noopLogger,
      metrics: noEventsMetrics,
      counters,
      signal,
    };
    const gaps = new GapResolver({
      ...common,
      handle: db,
      gaps: options.strategy ?? { resolve: () => Promise.resolve('wait') },
    });
    const reader = new PageReader(
      {
        ...common,
        lookupLimit: options.lookupLimit ?? 4,
        includeNoops: options.includeNoops ?? false,
      },
      gaps,
    );
    const noop = (id: number): void => {
      db.prepare(statements.insertNoop).run(id);
    };
    await fn(reader, db, { counters, noop });
  } finally {
    await table.close();
    db.close();
    dir.cleanup();
  }
}

const ids = (events: readonly { id: string }[]): number[] => events.map((e) => Number(e.id));

describe('PageReader on SQLite', () => {
  it('reads a page after a cursor, short at the end of the table, MAX(id) too', async () => {
    await withTable({}, async (reader, _db, { counters }) => {
      const first = await reader.load(0);
      assert.deepEqual(ids(first.chunk.events), [1, 2, 3, 4]);
      assert.deepEqual([first.chunk.after, first.chunk.end, first.short], [0, 4, false]);
      const last = await reader.load(8);
      assert.deepEqual(ids(last.chunk.events), [9, 10]);
      assert.equal(last.short, true);
      const none = await reader.load(10);
      assert.deepEqual([none.chunk.events.length, none.chunk.end, none.short], [0, 10, true]);
      assert.equal(await reader.maxId(), 10);
      assert.equal(counters.queries, 4);
      assert.equal(counters.rowsLoaded, 6);
    });
  });

  it('stops at a hole the strategy makes wait, with the gap', async () => {
    await withTable({}, async (reader, db) => {
      db.prepare('DELETE FROM events WHERE id IN (5, 6)').run();
      const page = await reader.load(2);
      assert.deepEqual(ids(page.chunk.events), [3, 4]);
      assert.deepEqual([page.chunk.end, page.short], [4, true]);
      assert.deepEqual([page.gap?.after, page.gap?.before], [4, 7]);
      const blocked = await reader.load(4);
      assert.deepEqual([blocked.chunk.events.length, blocked.chunk.end], [0, 4]);
      assert.equal(blocked.gap?.firstSeenMs, page.gap?.firstSeenMs);
    });
  });

  it('streams past a skipped hole and hides noops unless asked', async () => {
    const skip: GapStrategy = { resolve: () => Promise.resolve('skip') };
    await withTable({ strategy: skip, lookupLimit: 10 }, async (reader, db, { noop }) => {
      db.prepare('DELETE FROM events WHERE id IN (3, 5, 6)').run();
      noop(3);
      const page = await reader.load(0);
      assert.deepEqual(ids(page.chunk.events), [1, 2, 4, 7, 8, 9, 10]);
      assert.deepEqual([page.chunk.end, page.gap], [10, undefined]);
    });
    await withTable({ strategy: skip, includeNoops: true }, async (reader, db, { noop }) => {
      db.prepare('DELETE FROM events WHERE id = 3').run();
      noop(3);
      const page = await reader.load(0);
      assert.deepEqual(ids(page.chunk.events), [1, 2, 3, 4]);
      assert.deepEqual([page.chunk.events[2]?.type, page.chunk.events[2]?.foreignId], [0, '0']);
    });
  });

  it('reads again after a reload verdict, and gives up after three', async () => {
    let asked = 0;
    let fill: (() => void) | undefined;
    const reloadOnce: GapStrategy = {
      resolve: (): Promise<GapVerdict> => {
        asked++;
        fill?.(); // the missing row commits meanwhile
        return Promise.resolve('reload');
      },
    };
    await withTable({ strategy: reloadOnce, lookupLimit: 10 }, async (reader, db, { noop }) => {
      db.prepare('DELETE FROM events WHERE id = 5').run();
      fill = () => noop(5);
      const page = await reader.load(0);
      assert.deepEqual(ids(page.chunk.events), [1, 2, 3, 4, 6, 7, 8, 9, 10]);
      assert.equal(asked, 1);

      db.prepare('DELETE FROM events WHERE id = 8').run();
      fill = undefined;
      asked = 0;
      const stuck = await reader.load(6);
      assert.equal(asked, 3, 'three reloads, then the hole waits for the next poll');
      assert.deepEqual(ids(stuck.chunk.events), [7]);
      assert.deepEqual([stuck.gap?.after, stuck.gap?.before], [7, 9]);
    });
  });
});
