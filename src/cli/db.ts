import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { validateIdentifier } from '../internal/sql-names.js';
import type { SqlDatabase } from '../rsql/index.js';
import {
  type Dialect,
  dialectOf,
  type Executor,
  placeholders,
  type SqlValue,
} from '../rsql/internal.js';
import { runtimeError, usageError } from './errors.js';
import type { DbSource } from './url.js';

/** The SQL dialect of a database. */
export type DialectName = DbSource['kind'];

/**
 * An open database for the CLI: the driver's own handle (what the `reflex-events/rsql` tables
 * take) with rsql's dialect of it, whose executor, quoting and statements every command uses.
 */
export interface Db {
  /** Which database it is (from the URL). */
  readonly kind: DialectName;
  /** rsql's dialect of the handle: statements, quoting, decoding. */
  readonly dialect: Dialect;
  /** For messages: the URL without its password. */
  readonly display: string;
  /** The driver's pool (mysql2/promise, pg) or database (better-sqlite3). */
  readonly handle: SqlDatabase;
  /** rsql's executor over the handle (rows as arrays; the dialect's placeholders). */
  readonly executor: Executor;
  /** Runs a query written with `?` placeholders and returns its rows as arrays. */
  query(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]>;
  /** Quotes a validated identifier (optionally `schema.table`). */
  quote(identifier: string): string;
  /** Closes the pool or database. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link openDb}. */
export interface OpenDbOptions {
  /** SQLite: create the file when it does not exist (migrate, serve, demo). @default false */
  readonly create?: boolean;
}

const require = createRequire(import.meta.url);

/**
 * Loads a driver the CLI needs for a URL. Drivers are not dependencies of the library: a missing
 * one is a clear message, not a stack trace.
 */
function loadDriver<T>(name: string, scheme: string): T {
  try {
    return require(name) as T;
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'MODULE_NOT_FOUND') {
      throw runtimeError(
        `${scheme} URLs need the ${name} package: npm install ${name.split('/')[0]}`,
      );
    }
    throw err;
  }
}

/**
 * A SQL identifier from the command line (`table` or `schema.table`), by rsql's own rule, so a
 * name the CLI accepts is one the tables accept; a bad one is a usage error.
 */
export function checkIdentifier(name: string, what: string): string {
  try {
    return validateIdentifier(name, what, true);
  } catch {
    throw usageError(
      `${what} must be a plain SQL name (letters, digits, _ or $, at most 63, starting with a letter or _), got ${JSON.stringify(name)}`,
    );
  }
}

/** Opens the database a URL names and checks that it answers (one clear error if it does not). */
export async function openDb(source: DbSource, options: OpenDbOptions = {}): Promise<Db> {
  let opened: Opened;
  switch (source.kind) {
    case 'mysql':
      opened = openMysql(source.url);
      break;
    case 'postgres':
      opened = openPostgres(source.url);
      break;
    case 'sqlite':
      opened = openSqlite(source.path, source.display, options.create === true);
      break;
  }
  const db = toDb(opened, source.kind, source.display);
  try {
    await db.executor.query('SELECT 1');
  } catch (err) {
    await db.close().catch(() => {});
    throw runtimeError(`cannot connect to ${source.display}`, err);
  }
  return db;
}

/** A driver handle the CLI opened, and how to close it (the tables never close a handle). */
interface Opened {
  readonly handle: SqlDatabase;
  close(): Promise<void> | void;
}

function toDb(opened: Opened, kind: DialectName, display: string): Db {
  const dialect = dialectOf(opened.handle);
  const executor = dialect.executor(opened.handle);
  let closed = false;
  return {
    kind,
    dialect,
    display,
    handle: opened.handle,
    executor,
    query: (sql, params) => executor.query(placeholders(dialect, sql), params),
    quote: (id) => dialect.quote(id),
    async close() {
      if (closed) return;
      closed = true;
      await opened.close();
    },
  };
}

interface MysqlPool {
  end(): Promise<void>;
}

function openMysql(url: string): Opened {
  const mysql = loadDriver<{ createPool(config: object): MysqlPool }>('mysql2/promise', 'mysql://');
  const u = new URL(url);
  const pool = mysql.createPool({
    host: u.hostname,
    port: u.port === '' ? 3306 : Number(u.port),
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined,
    timezone: 'Z',
    connectionLimit: 4,
    connectTimeout: 5000,
  });
  return { handle: pool as unknown as SqlDatabase, close: () => pool.end() };
}

interface PgPool {
  end(): Promise<void>;
  on(event: 'error', fn: (err: Error) => void): void;
}

function openPostgres(url: string): Opened {
  const pg = loadDriver<{ Pool: new (config: object) => PgPool }>('pg', 'postgres://');
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000 });
  // An idle client's error (server restart) must not crash the process: the next query reports it.
  pool.on('error', () => {});
  return { handle: pool as unknown as SqlDatabase, close: () => pool.end() };
}

interface SqliteDatabase {
  pragma(sql: string): unknown;
  close(): void;
}

function openSqlite(path: string, display: string, create: boolean): Opened {
  const Database = loadDriver<new (path: string, options: object) => SqliteDatabase>(
    'better-sqlite3',
    'sqlite:',
  );
  if (!create && path !== ':memory:' && !existsSync(path)) {
    throw runtimeError(`cannot open ${display}: no such file`);
  }
  // WAL is set only on a file created here: it persists in the file, and an existing database
  // keeps the journal mode its application chose.
  const creating = create && path !== ':memory:' && !existsSync(path);
  let db: SqliteDatabase;
  try {
    db = new Database(path, { fileMustExist: !create && path !== ':memory:', timeout: 5000 });
  } catch (err) {
    throw runtimeError(`cannot open ${display}`, err);
  }
  if (creating) db.pragma('journal_mode = WAL');
  return { handle: db as unknown as SqlDatabase, close: () => db.close() };
}

/**
 * A timestamp as the drivers return it: a Date (mysql2, pg), an ISO or SQL text, or a number of
 * ms or s since the epoch (SQLite). Undefined when it cannot be read.
 */
export function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === 'number' || typeof value === 'bigint') {
    const n = Number(value);
    return new Date(n > 1e11 ? n : n * 1000);
  }
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) return toDate(Number(value));
  if (typeof value === 'string') {
    // SQL text without a zone is UTC (the tables are written with the database clock in UTC).
    const text = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`;
    const d = new Date(text);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}
