// The benchmark of one SQL backend, written once over a small driver adapter: reflex-events'
// tables (reflex-events/rsql) against the same driver used by hand.
import { setMaxListeners } from 'node:events';
import { isExpected, newConsumer, newSpec, run } from '../../src/core/index.js';
import type { EventsSchema } from '../../src/rsql/dialect.js';
import {
  type EventsTable,
  type EventsTableOptions,
  newCursorsTable,
  newEventsTable,
  type SqlDatabase,
  type SqlTransaction,
} from '../../src/rsql/index.js';
import { MemCursorStore } from '../../src/testing/index.js';
import { type ChildReader, headLatency, type LatencyWrite } from '../latency.js';
import { wallMs } from '../measure.js';
import type { BenchBackend, BenchSizes, InsertBench, LatencyResult } from './backend.js';
import { type WakeupName, wakeupSetup, wakeupsOf } from './wakeups.js';

/** What the benchmark needs of a driver; each dialect file implements it. */
export interface SqlDriver {
  readonly name: string;
  readonly version: string;
  /** The pool or database handed to reflex-events. */
  readonly db: SqlDatabase;
  /** Runs a statement on the pool (`?` placeholders; the adapter rewrites them). */
  exec(sql: string, params?: readonly unknown[]): Promise<void>;
  /** The SQL expression rsql's insert uses for the timestamp. */
  readonly nowSql: string;
  /** Takes `n` dedicated writer connections (closing the previous ones). */
  openWriters(n: number): Promise<void>;
  /**
   * One transaction on writer `w`: BEGIN, `body(tx)` (synchronous on SQLite), COMMIT. Resolves
   * with the wall time (ms) just before COMMIT was sent.
   */
  tx(w: number, body: (tx: SqlTransaction) => Promise<void> | void): Promise<number>;
  /** reflex-events' insert in `tx` (insertSync on SQLite), calling notify after the commit is
   * the caller's job: this returns the notify function (or a promise of it). */
  insertEvent(
    table: EventsTable,
    tx: SqlTransaction,
    foreignId: string,
  ): Promise<() => void> | (() => void);
  /** Runs a statement inside `tx` (`?` placeholders); synchronous on SQLite. */
  txExec(tx: SqlTransaction, sql: string, params: readonly unknown[]): Promise<void> | void;
  /** The SQL of one page of events, as reflex-events' loader runs it (the same text). */
  selectAfter(schema: EventsSchema): string;
  /**
   * One page of `sql` (from `selectAfter`) by hand, read the driver's cheapest way: the count and
   * the last id of the rows after `after`.
   */
  scanPage(sql: string, after: number, limit: number): Promise<{ rows: number; last: number }>;
  /** Stores `n` events in `table` (already created) with bulk INSERTs. */
  bulkInsert(table: string, n: number, log: (msg: string) => void): Promise<void>;
  /**
   * A handle for a stream that reads what the writers write as another process would: the pool
   * itself for a server database, another connection to the file for SQLite.
   */
  openReader(): { readonly db: SqlDatabase; close(): Promise<void> };
  /** The same database behind a handle that counts the statements run through it. */
  counting(): { readonly db: SqlDatabase; queries(): number };
  /** What the child process of the latency probe passes to `openDriver`. */
  readonly childConfig: unknown;
  close(): Promise<void>;
}

/** Runs `next` after `first`, staying synchronous when `first` is not a promise (SQLite). */
function then<T>(
  first: Promise<T> | T,
  next: (v: T) => Promise<void> | void,
): Promise<void> | void {
  return first instanceof Promise ? first.then(next) : next(first);
}

/** A short-lived child-process writer: opens the driver and writes through reflex-events. */
export async function sqlWriter(
  driver: SqlDriver,
  table: string,
  wakeup: WakeupName,
): Promise<{ write: LatencyWrite; close(): Promise<void> }> {
  const setup = await wakeupSetup(wakeup, driver.db);
  const events = newEventsTable(table, setup.options);
  await driver.openWriters(1);
  return {
    write: async (id) => {
      let notify: (() => void) | undefined;
      const t = await driver.tx(0, (tx) =>
        then(driver.insertEvent(events, tx, id), (f) => {
          notify = f;
        }),
      );
      notify?.();
      return t;
    },
    close: async () => {
      await events.close();
      await setup.close();
      await driver.close();
    },
  };
}

/**
 * Waits (checking every millisecond, at most `limitMs`) for the query count to change; resolves
 * with the count and the wall time (ms) it was seen at.
 */
async function nextQuery(queries: () => number, limitMs: number): Promise<[number, number]> {
  const q = queries();
  const end = wallMs() + limitMs;
  while (queries() === q && wallMs() < end) await new Promise((r) => setTimeout(r, 1));
  return [queries(), wallMs()];
}

/** Builds the BenchBackend of a driver. */
export function sqlBackend(
  driver: SqlDriver,
  forkWriter: (
    table: string,
    wakeup: WakeupName,
  ) => Promise<{ write: LatencyWrite; close(): Promise<void> }>,
  forkReader: (table: string, wakeup: WakeupName) => Promise<ChildReader>,
): BenchBackend {
  const prefix = `bench_${process.pid}`;
  const catchUpName = `${prefix}_events`;
  const cursorsName = `${prefix}_cursors`;
  const stateName = `${prefix}_state`;
  const insertName = `${prefix}_insert_events`;
  const created = new Set<string>();
  let catchUpTable: EventsTable | undefined;
  const tables: EventsTable[] = [];
  const drop = async (name: string): Promise<void> => {
    await driver.exec(`DROP TABLE IF EXISTS ${name}`);
    created.delete(name);
  };
  const freshEvents = async (
    name: string,
    options: EventsTableOptions = {},
  ): Promise<EventsTable> => {
    await drop(name);
    const t = newEventsTable(name, options);
    await t.createTable(driver.db);
    created.add(name);
    tables.push(t);
    return t;
  };

  const insert: InsertBench = (() => {
    let events: EventsTable | undefined;
    let seq = 0;
    const stateSql = `UPDATE ${stateName} SET n = n + 1 WHERE id = ?`;
    const handSql = `INSERT INTO ${insertName} (foreign_id, timestamp, type) VALUES (?, ${driver.nowSql}, ?)`;
    const exec = (tx: SqlTransaction, sql: string, params: readonly unknown[]) =>
      driver.txExec(tx, sql, params);
    return {
      async prepare(writers) {
        await drop(stateName);
        await driver.exec(`CREATE TABLE ${stateName} (id INT PRIMARY KEY, n BIGINT NOT NULL)`);
        created.add(stateName);
        events = await freshEvents(insertName);
        for (let w = 0; w < writers; w++) {
          await driver.exec(`INSERT INTO ${stateName} (id, n) VALUES (?, 0)`, [w]);
        }
        await driver.openWriters(writers);
      },
      async withoutEvent(w) {
        await driver.tx(w, (tx) => exec(tx, stateSql, [w]));
      },
      async handWritten(w) {
        await driver.tx(w, (tx) =>
          then(exec(tx, stateSql, [w]), () => exec(tx, handSql, [String(++seq), 1])),
        );
      },
      reflex: async (w) => {
        const table = events;
        if (table === undefined) throw new Error('insert bench not prepared');
        let notify: (() => void) | undefined;
        await driver.tx(w, (tx) =>
          then(exec(tx, stateSql, [w]), () =>
            then(driver.insertEvent(table, tx, String(++seq)), (f) => {
              notify = f;
            }),
          ),
        );
        notify?.();
      },
      async withWakeup(wakeup) {
        const name = `${prefix}_wake_events`;
        const setup = await wakeupSetup(wakeup, driver.db);
        const writerTable = await freshEvents(name, setup.options);
        // The reader is another process, as a consumer service is: its loader's queries load
        // the database, not the writers' event loop.
        const reader = await forkReader(name, wakeup);
        const readingSince = performance.now();
        return {
          async write(w) {
            let notify: (() => void) | undefined;
            await driver.tx(w, (tx) =>
              then(exec(tx, stateSql, [w]), () =>
                then(driver.insertEvent(writerTable, tx, String(++seq)), (f) => {
                  notify = f;
                }),
              ),
            );
            notify?.();
          },
          async close() {
            const s = (performance.now() - readingSince) / 1000;
            const queries = await reader.close();
            await writerTable.close();
            await setup.close();
            await drop(name);
            return queries / s;
          },
        };
      },
      async cleanup() {
        await driver.openWriters(0);
        await drop(stateName);
        await drop(insertName);
      },
    };
  })();

  const latencyOf = async (
    sizes: BenchSizes,
    write: (table: EventsTable) => Promise<{ write: LatencyWrite; close(): Promise<void> }>,
    note: string,
    wakeup: WakeupName = 'poll',
  ): Promise<LatencyResult> => {
    const setup = await wakeupSetup(wakeup, driver.db);
    const table = await freshEvents(`${prefix}_latency`, setup.options);
    const writer = await write(table);
    try {
      const latenciesMs = await headLatency(
        table.toStream(driver.db),
        writer.write,
        sizes.latencyCount,
        sizes.latencyIntervalMs,
      );
      return { latenciesMs, note };
    } finally {
      await writer.close();
      await table.close();
      await setup.close();
      await drop(`${prefix}_latency`);
    }
  };

  return {
    name: driver.name,
    version: driver.version,
    absentReason: undefined,
    insert,
    async seed(n, log) {
      catchUpTable = await freshEvents(catchUpName);
      await driver.bulkInsert(catchUpName, n, log);
    },
    async rawScan(pageSize) {
      if (catchUpTable === undefined) throw new Error('not seeded');
      // The very query the loader runs, so that the ratio is the cost of reflex-events alone.
      const sql = driver.selectAfter(catchUpTable.schema);
      let after = 0;
      let rows = 0;
      for (;;) {
        const page = await driver.scanPage(sql, after, pageSize);
        if (page.rows === 0) return rows;
        rows += page.rows;
        after = page.last;
      }
    },
    reflex: {
      stream: () => {
        if (catchUpTable === undefined) throw new Error('not seeded');
        return catchUpTable.toStream(driver.db);
      },
      async cursorStore() {
        await drop(cursorsName);
        const cursors = newCursorsTable(cursorsName);
        await cursors.createTable(driver.db);
        created.add(cursorsName);
        return cursors.toStore(driver.db);
      },
      latencySameProcess: (sizes) =>
        latencyOf(
          sizes,
          async (table) => {
            await driver.openWriters(1);
            return {
              write: async (id) => {
                let notify: (() => void) | undefined;
                const t = await driver.tx(0, (tx) =>
                  then(driver.insertEvent(table, tx, id), (f) => {
                    notify = f;
                  }),
                );
                notify?.();
                return t;
              },
              close: () => driver.openWriters(0),
            };
          },
          'insert → notify()',
        ),
      wakeups: wakeupsOf(driver.name),
      latencyOtherProcess: (sizes, wakeup) =>
        latencyOf(
          sizes,
          (table) => forkWriter(table.name, wakeup),
          'writer in a child process',
          wakeup,
        ),
      async idleQueriesPerS(streams, ms, wakeup) {
        const name = `${prefix}_idle`;
        await freshEvents(name);
        const counted = driver.counting();
        const setup = await wakeupSetup(wakeup, driver.db);
        const table = newEventsTable(name, setup.options);
        const stream = table.toStream(counted.db);
        const ac = new AbortController();
        setMaxListeners(streams + 10, ac.signal);
        const runs = Array.from({ length: streams }, (_, i) =>
          run(
            newSpec(
              stream,
              new MemCursorStore(),
              newConsumer(`idle${i}`, () => {}),
              { fromHead: true },
            ),
            { signal: ac.signal },
          ).catch((err: unknown) => {
            if (!isExpected(err)) throw err;
          }),
        );
        try {
          await new Promise((r) => setTimeout(r, 500)); // every stream opened and waiting
          // From one query to another at least `ms` later: a fixed window would count 40 or 41
          // polls of 50 ms in 2 s at random (20.0 or 20.5 queries/s) however regular they are.
          const [q0, t0] = await nextQuery(counted.queries, 1000);
          await new Promise((r) => setTimeout(r, ms));
          const [q1, t1] = await nextQuery(counted.queries, 1000);
          return ((q1 - q0) / (t1 - t0)) * 1000;
        } finally {
          ac.abort();
          await Promise.all(runs);
          await table.close();
          await setup.close();
          await drop(name);
        }
      },
    },
    async close() {
      try {
        for (const t of tables) await t.close();
        for (const name of [...created]) await drop(name);
      } finally {
        await driver.close();
      }
    },
  };
}

/**
 * A proxy of a driver pool that counts the statements it runs: `queryMethods` are counted, and
 * the connection lent by `lendMethod` is counted the same way (for the fan-out row).
 */
export function countingPool<T extends object>(
  pool: T,
  queryMethods: readonly string[],
  lendMethod: string,
): { readonly db: T; queries(): number } {
  let queries = 0;
  const wrap = <U extends object>(target: U): U =>
    new Proxy(target, {
      get(t, prop) {
        const v = Reflect.get(t, prop, t) as unknown;
        if (typeof v !== 'function') return v;
        const f = v as (...a: unknown[]) => unknown;
        if (typeof prop === 'string' && queryMethods.includes(prop)) {
          return (...args: unknown[]) => {
            queries++;
            return f.apply(t, args);
          };
        }
        if (prop === lendMethod) {
          return async () => wrap((await f.apply(t, [])) as object);
        }
        return f.bind(t);
      },
    });
  return { db: wrap(pool), queries: () => queries };
}
