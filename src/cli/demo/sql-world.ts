import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ReflexClient, ReflexServer } from '../../grpc/index.js';
import {
  type CursorsTable,
  type EventsTable,
  newCursorsTable,
  newEventsTable,
  type SqlTransaction,
} from '../../rsql/index.js';
import { newStatusMonitor, type StatusMonitor, statusHandler } from '../../status/index.js';
import { checkIdentifier, type Db, openDb } from '../db.js';
import { runtimeError } from '../errors.js';
import { loadGrpc } from '../lazy.js';
import type { DbSource } from '../url.js';
import { type DemoWorld, UserEventType } from './world.js';

/** Where the demo keeps its SQLite files, under the current directory. */
export const demoDir = '.reflex-demo';

interface Names {
  readonly users: string;
  readonly events: string;
  readonly cursors: string;
}

// On a shared server the demo's tables carry a prefix; in its own SQLite file they need none.
const sqliteNames: Names = { users: 'users', events: 'user_events', cursors: 'cursors' };

/** The prefix of the demo's tables on a MySQL/PostgreSQL server. */
export const defaultTablePrefix = 'reflex_demo_';

function serverNames(prefix: string): Names {
  return {
    users: checkIdentifier(`${prefix}users`, '--table-prefix'),
    events: checkIdentifier(`${prefix}user_events`, '--table-prefix'),
    cursors: checkIdentifier(`${prefix}cursors`, '--table-prefix'),
  };
}

interface MysqlConn {
  query(sql: string, params?: unknown[]): Promise<unknown>;
  beginTransaction(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  release(): void;
}
interface PgClient {
  query(sql: string, params?: unknown[]): Promise<unknown>;
  release(err?: Error | boolean): void;
}
interface SqliteDb {
  prepare(sql: string): { run(...params: unknown[]): unknown };
  transaction<F extends (...args: never[]) => unknown>(fn: F): F;
}

function usersDdl(db: Db, t: string): string {
  switch (db.kind) {
    case 'sqlite':
      return `CREATE TABLE IF NOT EXISTS ${t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL)`;
    case 'mysql':
      return `CREATE TABLE IF NOT EXISTS ${t} (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, version INT NOT NULL) ENGINE=InnoDB`;
    case 'postgres':
      return `CREATE TABLE IF NOT EXISTS ${t} (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, version INT NOT NULL)`;
  }
}

/**
 * The demo on SQL tables: the users service writes `users` rows and `user_events` in one
 * transaction (SQLite file `.reflex-demo/users.db` by default, or a MySQL/PostgreSQL server) and
 * serves the events over gRPC on 127.0.0.1 (port 0); the audit consumer streams the table
 * directly with its cursors in the users database; the mailer streams over gRPC with its cursors
 * in its own SQLite file `.reflex-demo/mailer.db`.
 */
export async function openSqlWorld(
  source: DbSource | undefined,
  cwd: string,
  tablePrefix = defaultTablePrefix,
): Promise<DemoWorld> {
  const names =
    source === undefined || source.kind === 'sqlite' ? sqliteNames : serverNames(tablePrefix);
  const dir = join(cwd, demoDir);
  mkdirSync(dir, { recursive: true });
  const usersSource: DbSource = source ?? {
    kind: 'sqlite',
    path: join(dir, 'users.db'),
    display: `sqlite:${join(demoDir, 'users.db')}`,
  };
  const grpc = await loadGrpc();
  const cleanups: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    const db = await openDb(usersSource, { create: true });
    cleanups.push(() => db.close());
    const mailerDb = await openDb(
      {
        kind: 'sqlite',
        path: join(dir, 'mailer.db'),
        display: `sqlite:${join(demoDir, 'mailer.db')}`,
      },
      { create: true },
    );
    cleanups.push(() => mailerDb.close());

    const events = newEventsTable(names.events);
    cleanups.push(() => events.close());
    const auditCursorsTable = newCursorsTable(names.cursors);
    const mailerTable = mailerTableName(source, tablePrefix);
    const mailerCursorsTable = newCursorsTable(mailerTable);
    await createDemoTables(db, mailerDb, {
      users: names.users,
      events,
      auditCursors: auditCursorsTable,
      mailerCursors: mailerCursorsTable,
    });
    const auditCursors = auditCursorsTable.toStore(db.handle, { asyncPeriodMs: 500 });
    cleanups.push(() => auditCursors.close());
    const mailerCursors = mailerCursorsTable.toStore(mailerDb.handle, { asyncPeriodMs: 500 });
    cleanups.push(() => mailerCursors.close());

    const { server, client, statusUrl } = await serveDemo(grpc, cleanups, {
      db,
      mailerDb,
      events,
      eventsName: names.events,
      cursorsName: names.cursors,
      mailerTable,
    });

    const users = db.quote(names.users);
    const writeUser = userWriter(db, users, events);
    const where =
      db.kind === 'sqlite'
        ? usersSource.display
        : `${db.display} (tables ${names.users}, ${names.events}, ${names.cursors})`;
    return {
      setup: [
        `users service   writes ${names.users} and ${names.events} in one transaction on ${where},`,
        `                serves the events over gRPC on ${server.address}`,
        `audit consumer  streams ${names.events} directly, cursors in ${names.cursors} next to it`,
        `mailer consumer streams over gRPC from ${server.address}, cursors in ${mailerDb.display}${source === undefined ? '' : ` (table ${mailerTable})`}`,
        `status page     ${statusUrl} (live while the demo runs; --forever keeps it up)`,
      ],
      persistent: true,
      writeUser,
      auditStream: events.toStream(db.handle),
      mailerStream: client.stream,
      auditCursors,
      mailerCursors,
      async head() {
        const h = (await db.query(`SELECT MAX(id) FROM ${db.quote(names.events)}`))[0]?.[0];
        return h === null || h === undefined ? '' : String(h);
      },
      async userCount() {
        const n = (await db.query(`SELECT MAX(id) FROM ${users}`))[0]?.[0];
        return Number(n ?? 0);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The events over gRPC on a free loopback port, a client of it, and the status page. */
async function serveDemo(
  grpc: Awaited<ReturnType<typeof loadGrpc>>,
  cleanups: (() => Promise<void>)[],
  d: {
    db: Db;
    mailerDb: Db;
    events: EventsTable;
    eventsName: string;
    cursorsName: string;
    mailerTable: string;
  },
): Promise<{ server: ReflexServer; client: ReflexClient; statusUrl: string }> {
  const server = await grpc.serveStream(d.events.toStream(d.db.handle), {
    address: '127.0.0.1:0',
    shutdownGraceMs: 1000,
  });
  cleanups.push(() => server.stop());
  const client = grpc.newReflexClient(server.address);
  cleanups.push(() => client.close());

  // The status page of both consumers, live while the demo runs.
  const monitor = newStatusMonitor(d.db.handle, {
    streams: [
      {
        events: d.eventsName,
        cursors: [d.cursorsName, { table: d.mailerTable, db: d.mailerDb.handle }],
      },
    ],
    grpc: server,
    intervalMs: 500,
    stalledAfterMs: 10_000,
  });
  cleanups.push(() => monitor.close());
  const statusUrl = await serveStatusPage(monitor, cleanups);
  return { server, client, statusUrl };
}

/**
 * The mailer keeps one cursors table per users database it follows (a cursor of one events table
 * means nothing for another).
 */
function mailerTableName(source: DbSource | undefined, tablePrefix: string): string {
  if (source === undefined) return 'cursors';
  const key =
    tablePrefix === defaultTablePrefix ? source.display : `${source.display} ${tablePrefix}`;
  return `cursors_${source.kind}_${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}

/** The demo's tables, created when missing (one clear error naming the database otherwise). */
async function createDemoTables(
  db: Db,
  mailerDb: Db,
  t: {
    users: string;
    events: EventsTable;
    auditCursors: CursorsTable;
    mailerCursors: CursorsTable;
  },
): Promise<void> {
  try {
    await db.executor.execute(usersDdl(db, db.quote(t.users)));
    // 'normal': the demo trades power-loss durability for speed (see docs/sql-backends.md).
    await t.events.createTable(db.handle, { durability: 'normal' });
    await t.auditCursors.createTable(db.handle);
    await t.mailerCursors.createTable(mailerDb.handle);
  } catch (err) {
    throw runtimeError(`creating the demo tables on ${db.display}`, err);
  }
}

/** Serves the status page on a free loopback port; its close is added to `cleanups`. */
async function serveStatusPage(
  monitor: StatusMonitor,
  cleanups: (() => Promise<void>)[],
): Promise<string> {
  const handle = statusHandler(monitor);
  const http = createServer((req, res) => {
    if (req.url === '/') res.writeHead(302, { location: '/status' }).end();
    else handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}/status`;
}

function userWriter(
  db: Db,
  users: string,
  events: ReturnType<typeof newEventsTable>,
): (userId: number, create: boolean) => Promise<void> {
  const change = (create: boolean): string =>
    create
      ? `INSERT INTO ${users} (id, name, version) VALUES (?, ?, 1)`
      : `UPDATE ${users} SET version = version + 1, name = ? WHERE id = ?`;
  const params = (userId: number, create: boolean): unknown[] =>
    create ? [userId, `user ${userId}`] : [`user ${userId}`, userId];
  const type = (create: boolean): number =>
    create ? UserEventType.created : UserEventType.updated;
  switch (db.kind) {
    case 'sqlite': {
      const sqlite = db.handle as unknown as SqliteDb;
      const insert = sqlite.prepare(change(true));
      const update = sqlite.prepare(change(false));
      // better-sqlite3 transactions are synchronous: the change and the event commit together.
      const tx = sqlite.transaction((userId: number, create: boolean) => {
        (create ? insert : update).run(...params(userId, create));
        return events.insertSync(sqlite as unknown as SqlTransaction, String(userId), type(create));
      });
      return (userId, create) => {
        const notify = tx(userId, create);
        notify();
        return Promise.resolve();
      };
    }
    case 'mysql':
      return async (userId, create) => {
        const pool = db.handle as unknown as { getConnection(): Promise<MysqlConn> };
        const conn = await pool.getConnection();
        try {
          await conn.beginTransaction();
          await conn.query(change(create), params(userId, create));
          const notify = await events.insert(
            conn as unknown as SqlTransaction,
            String(userId),
            type(create),
          );
          await conn.commit();
          notify();
        } catch (err) {
          await conn.rollback().catch(() => {});
          throw err;
        } finally {
          conn.release();
        }
      };
    case 'postgres':
      return async (userId, create) => {
        const pool = db.handle as unknown as { connect(): Promise<PgClient> };
        const client = await pool.connect();
        const numbered = change(create).replace(
          /\?/g,
          (() => {
            let i = 0;
            return () => `$${++i}`;
          })(),
        );
        try {
          await client.query('BEGIN');
          await client.query(numbered, params(userId, create));
          const notify = await events.insert(
            client as unknown as SqlTransaction,
            String(userId),
            type(create),
          );
          await client.query('COMMIT');
          notify();
          client.release();
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          client.release(true);
          throw err;
        }
      };
  }
}
