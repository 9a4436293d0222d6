// Shared scenario of the ORM integration tests: events inserted through a tool's transaction
// object are streamed exactly when that transaction commits.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { type Event, isHeadReachedErr, type StreamFunc } from '../../src/core/index.js';
import {
  type EventsTableOptions,
  type InsertHandle,
  newErrorsTable,
  newEventsTable,
  type OrmHandle,
  type SqlDatabase,
} from '../../src/rsql/index.js';
import { mysqlServer, postgresServer, requireServer } from './servers.js';
import { sqliteDir } from './sql-harness.js';

export type Kind = 'mysql' | 'postgres' | 'sqlite';

/** A driver handle for the stream side, on the database the tool writes to. */
export interface RawDb {
  readonly kind: Kind;
  /** mysql/postgres: the server URL; sqlite: the database file. */
  readonly url: string;
  /** The driver pool/database the stream reads from (never the tool's own connection). */
  readonly db: SqlDatabase;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** A unique table name for this run. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Opens the stream-side handle, or skips the test (outside CI) when the server is down. */
export async function rawDb(t: TestContext, kind: Kind): Promise<RawDb | undefined> {
  if (kind === 'mysql') {
    const url = await requireServer(t, mysqlServer);
    if (url === undefined) return undefined;
    const pool = mysql.createPool({ uri: url, connectionLimit: 4, timezone: 'Z' });
    return {
      kind,
      url,
      db: pool,
      exec: async (sql) => void (await pool.query(sql)),
      close: () => pool.end(),
    };
  }
  if (kind === 'postgres') {
    const url = await requireServer(t, postgresServer);
    if (url === undefined) return undefined;
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    return {
      kind,
      url,
      db: pool,
      exec: async (sql) => void (await pool.query(sql)),
      close: () => pool.end(),
    };
  }
  const dir = sqliteDir();
  const file = join(dir.path, 'orm.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  return {
    kind,
    url: file,
    db,
    exec: async (sql) => void db.exec(sql),
    close: async () => {
      db.close();
      dir.cleanup();
    },
  };
}

/** Reads a stream to its head. */
export async function readToHead(stream: StreamFunc): Promise<Event[]> {
  const out: Event[] = [];
  const client = await stream('', { toHead: true });
  try {
    for (;;) out.push(await client.recv());
  } catch (err) {
    if (!isHeadReachedErr(err)) throw err;
  } finally {
    await client.close();
  }
  return out;
}

/** How a test drives its tool. */
export interface ToolDriver<Tx> {
  /** Runs fn in one of the tool's transactions; rejects (rolled back) when fn throws. */
  transaction(fn: (tx: Tx) => Promise<void>): Promise<void>;
  /** Runs a statement of the application's own through the tool, in tx. */
  exec(tx: Tx, sql: string): Promise<void>;
  /** Options of the events table (Prisma: the dialect). */
  readonly tableOptions?: EventsTableOptions;
}

/**
 * Committed, rolled-back and committed again: the application's row and the events go together,
 * and the stream has exactly the committed events, in order. `notify` runs after each commit.
 * Each transaction writes two events through the same transaction object (a per-transaction
 * object is bound again on each call, not cached: both must land in that transaction).
 */
export async function committedOnly<Tx extends InsertHandle>(
  raw: RawDb,
  driver: ToolDriver<Tx>,
): Promise<void> {
  const name = uniqueName('orm_events');
  const state = `${name}_state`;
  const events = newEventsTable(name, {
    gapFillDelayMs: 10,
    pollIntervalMs: 20,
    ...driver.tableOptions,
  });
  await events.createTable(raw.db);
  await raw.exec(`CREATE TABLE ${state} (id VARCHAR(64) PRIMARY KEY)`);
  try {
    const write = async (id: string, fail: boolean): Promise<void> => {
      let notify: (() => void) | undefined;
      await driver.transaction(async (tx) => {
        await driver.exec(tx, `INSERT INTO ${state} (id) VALUES ('${id}')`);
        notify = await events.insert(tx, id, 7);
        await events.insert(tx, id, 8);
        if (fail) throw new Error(`roll back ${id}`);
      });
      notify?.(); // after the tool's transaction promise resolved: committed
    };
    await write('a', false);
    await assert.rejects(write('b', true), /roll back b/);
    await write('c', false);
    const got = await readToHead(events.toStream(raw.db));
    assert.deepEqual(
      got.map((e) => [e.foreignId, e.type]),
      [
        ['a', 7],
        ['a', 8],
        ['c', 7],
        ['c', 8],
      ],
    );
  } finally {
    await events.close();
    await raw.exec(`DROP TABLE IF EXISTS ${state}`);
    await raw.exec(`DROP TABLE IF EXISTS ${name}`);
  }
}

/**
 * `toErrorInsertFunc` over the tool's database object: the error row and its error event are
 * written in the tool's transaction, once per (consumer, event).
 */
export async function errorsThroughTool(
  raw: RawDb,
  db: OrmHandle,
  options?: { dialect?: Kind },
): Promise<void> {
  const table = uniqueName('orm_errors');
  const errors = newErrorsTable({ table, ...options });
  await errors.createTable(raw.db);
  try {
    const record = errors.toErrorInsertFunc(db);
    await record('billing', '42', 'card declined');
    await record('billing', '42', 'card declined again'); // idempotent
    const got = await readToHead(errors.events.toStream(raw.db));
    assert.equal(got.length, 1);
    assert.equal(new TextDecoder().decode(got[0]?.metadata), 'billing');
  } finally {
    await errors.events.close();
    await raw.exec(`DROP TABLE IF EXISTS ${table}`);
    await raw.exec(`DROP TABLE IF EXISTS ${errors.events.name}`);
  }
}
