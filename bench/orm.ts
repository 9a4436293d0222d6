// The ORM rows of `npm run bench`: one-event transactions through each query builder/ORM, with
// `events.insert(tx, …)` against the same tool's transaction without the event and against a
// hand-written INSERT of the same row through the same tool (target ≥ 0.9×). See docs/orms.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { sql as dsql } from 'drizzle-orm';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import knexFactory from 'knex';
import { Kysely, sql as ksql, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import 'reflect-metadata';
import { DataSource, type EntityManager } from 'typeorm';
import { type EventsTable, newEventsTable } from '../src/rsql/index.js';
import { sqliteNowMs } from '../src/rsql/sqlite/statements.js';
import { postgresUrl } from './backends/postgres.js';
import { rateOf } from './measure.js';
import { makeRow, type Row } from './report.js';

type Kind = 'postgres' | 'sqlite';

/** One tool on one database: its transaction and its own raw statements. */
interface ToolBench {
  readonly name: string;
  /** True when the tool's transactions are synchronous (Drizzle over better-sqlite3). */
  readonly sync?: boolean;
  /** Runs a variant's body in one of the tool's transactions. */
  tx(fn: (tx: never) => Promise<void> | void): Promise<void>;
  /** The application's UPDATE through the tool. */
  state(tx: never): Promise<void> | void;
  /** The hand-written INSERT of the event row through the tool. */
  hand(tx: never, foreignId: string): Promise<void> | void;
  close(): Promise<void>;
}

const names = (prefix: string) => ({ state: `${prefix}_state`, events: `${prefix}_events` });

function kyselyBench(kind: Kind, conn: string, prefix: string): ToolBench {
  const { state, events } = names(prefix);
  // biome-ignore lint/suspicious/noExplicitAny: no typed schema in the bench
  const db = new Kysely<any>({
    dialect:
      kind === 'postgres'
        ? new PostgresDialect({ pool: new pg.Pool({ connectionString: conn, max: 2 }) })
        : new SqliteDialect({ database: new Database(conn) }),
  });
  const now = ksql.raw(kind === 'postgres' ? 'statement_timestamp()' : sqliteNowMs);
  return {
    name: 'Kysely',
    tx: (fn) => db.transaction().execute(fn as never),
    state: async (trx) =>
      void (await ksql`UPDATE ${ksql.table(state)} SET n = n + 1 WHERE id = ${1}`.execute(trx)),
    hand: async (trx, fid) =>
      void (await ksql`INSERT INTO ${ksql.table(events)} (foreign_id, timestamp, type) VALUES (${fid}, ${now}, ${1})`.execute(
        trx,
      )),
    close: () => db.destroy(),
  };
}

function drizzleBench(kind: Kind, conn: string, prefix: string): ToolBench {
  const { state, events } = names(prefix);
  const now = dsql.raw(kind === 'postgres' ? 'statement_timestamp()' : sqliteNowMs);
  const stateSql = dsql`UPDATE ${dsql.identifier(state)} SET n = n + 1 WHERE id = ${1}`;
  const handSql = (fid: string) =>
    dsql`INSERT INTO ${dsql.identifier(events)} (foreign_id, timestamp, type) VALUES (${fid}, ${now}, ${1})`;
  if (kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: conn, max: 2 });
    const db = drizzlePg(pool);
    type Tx = Parameters<Parameters<typeof db.transaction>[0]>[0];
    return {
      name: 'Drizzle',
      tx: (fn) => db.transaction(fn as (tx: Tx) => Promise<void>),
      state: async (tx: Tx) => void (await tx.execute(stateSql)),
      hand: async (tx: Tx, fid: string) => void (await tx.execute(handSql(fid))),
      close: () => pool.end(),
    } as ToolBench;
  }
  // better-sqlite3: synchronous transactions; the bodies run synchronously inside.
  const file = new Database(conn);
  const db = drizzleSqlite(file);
  type Tx = Parameters<Parameters<typeof db.transaction>[0]>[0];
  return {
    name: 'Drizzle',
    sync: true,
    tx: async (fn) => {
      db.transaction((tx) => {
        fn(tx as never);
      });
    },
    state: (tx: Tx) => void tx.run(stateSql),
    hand: (tx: Tx, fid: string) => void tx.run(handSql(fid)),
    close: async () => {
      file.close();
    },
  } as ToolBench;
}

function knexBench(kind: Kind, conn: string, prefix: string): ToolBench {
  const { state, events } = names(prefix);
  const k =
    kind === 'postgres'
      ? knexFactory({ client: 'pg', connection: conn, pool: { min: 0, max: 2 } })
      : knexFactory({
          client: 'better-sqlite3',
          connection: { filename: conn },
          useNullAsDefault: true,
        });
  const now = kind === 'postgres' ? 'statement_timestamp()' : sqliteNowMs;
  return {
    name: 'knex',
    tx: async (fn) => {
      await k.transaction(fn as never);
    },
    state: async (trx: typeof k) =>
      void (await trx.raw('UPDATE ?? SET n = n + 1 WHERE id = ?', [state, 1])),
    hand: async (trx: typeof k, fid: string) =>
      void (await trx.raw(`INSERT INTO ?? (foreign_id, timestamp, type) VALUES (?, ${now}, ?)`, [
        events,
        fid,
        1,
      ])),
    close: () => k.destroy(),
  } as ToolBench;
}

function typeOrmBench(kind: Kind, conn: string, prefix: string): ToolBench {
  const { state, events } = names(prefix);
  const ds =
    kind === 'postgres'
      ? new DataSource({ type: 'postgres', url: conn, poolSize: 2 })
      : new DataSource({ type: 'better-sqlite3', database: conn });
  const p = (n: number) => (kind === 'postgres' ? `$${n}` : '?');
  const now = kind === 'postgres' ? 'statement_timestamp()' : sqliteNowMs;
  let ready: Promise<unknown> | undefined;
  return {
    name: 'TypeORM',
    tx: async (fn) => {
      ready ??= ds.initialize();
      await ready;
      await ds.transaction(fn as (m: EntityManager) => Promise<void>);
    },
    state: async (m: EntityManager) =>
      void (await m.query(`UPDATE ${state} SET n = n + 1 WHERE id = ${p(1)}`, [1])),
    hand: async (m: EntityManager, fid: string) =>
      void (await m.query(
        `INSERT INTO ${events} (foreign_id, timestamp, type) VALUES (${p(1)}, ${now}, ${p(2)})`,
        [fid, 1],
      )),
    close: async () => {
      if (ds.isInitialized) await ds.destroy();
    },
  } as ToolBench;
}

const tools = [kyselyBench, drizzleBench, knexBench, typeOrmBench];

/** What the ORM rows need of the bench options. */
export interface OrmBenchOptions {
  readonly quick: boolean;
  readonly insertMs: number;
  readonly kinds: readonly Kind[];
  log(message: string): void;
}

async function rawSetup(kind: Kind, prefix: string, events: EventsTable) {
  const { state } = names(prefix);
  if (kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: postgresUrl, max: 1 });
    await pool.query(`CREATE TABLE ${state} (id INT PRIMARY KEY, n BIGINT NOT NULL)`);
    await pool.query(`INSERT INTO ${state} (id, n) VALUES (1, 0)`);
    await events.createTable(pool);
    return {
      conn: postgresUrl,
      async close() {
        await pool.query(`DROP TABLE IF EXISTS ${state}`);
        await pool.query(`DROP TABLE IF EXISTS ${events.name}`);
        await pool.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'reflex-bench-orm-'));
  const file = join(dir, 'orm.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE ${state} (id INT PRIMARY KEY, n BIGINT NOT NULL)`);
  db.exec(`INSERT INTO ${state} (id, n) VALUES (1, 0)`);
  await events.createTable(db, { durability: 'normal' });
  db.close();
  return { conn: file, close: async () => rmSync(dir, { recursive: true, force: true }) };
}

type Variant = 'none' | 'hand' | 'reflex';

/**
 * The rate of each variant over many short slices taken in turn (the order reversed every other
 * round), each variant's count over its summed time. The shared machine's load changes over
 * seconds; a slice is a few tens of ms, so every variant sees the same load, table size and WAL
 * (one window of a second per variant in a fixed order gave 0.5× to 1.2× for the same code on a
 * busy machine; the slices agree within a few percent).
 */
async function interleaved(
  variants: Record<Variant, () => Promise<void>>,
  o: OrmBenchOptions,
): Promise<Record<Variant, number>> {
  const order: Variant[] = ['none', 'hand', 'reflex'];
  const sliceMs = 25;
  // Each variant runs about 2.4× (quick) or 3× --insert-ms in all.
  const totalMs = o.insertMs * (o.quick ? 2.4 : 3) * order.length;
  const count: Record<Variant, number> = { none: 0, hand: 0, reflex: 0 };
  const ms: Record<Variant, number> = { none: 0, hand: 0, reflex: 0 };
  for (const v of order) await rateOf(variants[v], 1, 200, 0); // warm every path first
  const end = performance.now() + totalMs;
  for (let round = 0; performance.now() < end; round++) {
    for (const v of round % 2 === 0 ? order : [...order].reverse()) {
      const start = performance.now();
      const stop = start + sliceMs;
      let n = 0;
      while (performance.now() < stop) {
        await variants[v]();
        n++;
      }
      count[v] += n;
      ms[v] += performance.now() - start;
    }
  }
  const rate = (v: Variant) => (count[v] / ms[v]) * 1000;
  return { none: rate('none'), hand: rate('hand'), reflex: rate('reflex') };
}

/** The ORM rows: per database and tool, the event insert vs no event and vs a hand-written INSERT. */
export async function ormRows(o: OrmBenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const kind of o.kinds) {
    for (const make of tools) {
      const prefix = `bench_orm_${process.pid}_${rows.length}`;
      const events = newEventsTable(names(prefix).events);
      const base = { section: 'orm', backend: kind, measure: '' };
      let tool: ToolBench | undefined;
      let raw: Awaited<ReturnType<typeof rawSetup>> | undefined;
      try {
        raw = await rawSetup(kind, prefix, events);
        const t = make(kind, raw.conn, prefix);
        tool = t;
        base.measure = `${t.name} one-event tx/s`;
        o.log(`${kind}: ${t.name} insert`);
        let seq = 0;
        // A synchronous tool's bodies must not await between statements (its commit would not wait).
        const variants = t.sync
          ? {
              none: () => t.tx((tx) => void t.state(tx)),
              hand: () =>
                t.tx((tx) => {
                  void t.state(tx);
                  void t.hand(tx, String(++seq));
                }),
              reflex: async () => {
                let notify: (() => void) | undefined;
                await t.tx((tx) => {
                  void t.state(tx);
                  notify = events.insertSync(tx, String(++seq), 1);
                });
                notify?.();
              },
            }
          : {
              none: () => t.tx(async (tx) => void (await t.state(tx))),
              hand: () =>
                t.tx(async (tx) => {
                  await t.state(tx);
                  await t.hand(tx, String(++seq));
                }),
              reflex: async () => {
                let notify: (() => void) | undefined;
                await t.tx(async (tx) => {
                  await t.state(tx);
                  notify = await events.insert(tx, String(++seq), 1);
                });
                notify?.();
              },
            };
        const { none, hand, reflex } = await interleaved(variants, o);
        const value = { value: reflex, unit: 'tx/s' };
        rows.push(
          makeRow({
            ...base,
            measure: `${base.measure} vs the tool's tx without event`,
            status: 'measured',
            value,
            baseline: { value: none, unit: 'tx/s' },
            baselineLabel: 'no event row',
          }),
          makeRow({
            ...base,
            measure: `${base.measure} vs hand-written INSERT through ${t.name}`,
            status: 'measured',
            value,
            baseline: { value: hand, unit: 'tx/s' },
            baselineLabel: `hand-written INSERT (${t.name})`,
            target: { text: '≥ 0.9×', on: 'ratio', op: '>=', limit: 0.9 },
          }),
        );
      } catch (err) {
        o.log(`${kind}: ${base.measure || make.name}: ${String(err)}`);
        rows.push(
          makeRow({
            ...base,
            measure: base.measure || make.name,
            status: 'error',
            note: (String(err).split('\n')[0] ?? '').slice(0, 160),
          }),
        );
      } finally {
        await events.close();
        await tool?.close();
        await raw?.close();
      }
    }
  }
  return rows;
}
