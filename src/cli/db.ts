import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { validateIdentifier } from '../internal/sql-names.js';
import type { SqlDatabase } from '../rsql/index.js';
import { runtimeError, usageError } from './errors.js';
import type { DbSource } from './url.js';

/** The SQL dialect of a database. */
export type Dialect = DbSource['kind'];

/**
 * An open database for the CLI: the driver's own handle (what the `reflex-events/rsql` tables
 * take) and a small query helper for the operator commands. Parameters are `?` in every dialect.
 */
export interface Db {
  readonly dialect: Dialect;
  /** For messages: the URL without its password. */
  readonly display: string;
  /** The driver's pool (mysql2/promise, pg) or database (better-sqlite3). */
  readonly handle: SqlDatabase;
  /** Runs a query and returns its rows as objects. */
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  /** Runs a statement and returns the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Quotes a validated identifier (`a-z`, digits, `_`, optionally `schema.table`). */
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
  let db: Db;
  switch (source.kind) {
    case 'mysql':
      db = openMysql(source.url, source.display);
      break;
    case 'postgres':
      db = openPostgres(source.url, source.display);
      break;
    case 'sqlite':
      db = openSqlite(source.path, source.display, options.create === true);
      break;
  }
  try {
    await db.query('SELECT 1 AS ok');
  } catch (err) {
    await db.close().catch(() => {});
    throw runtimeError(`cannot connect to ${source.display}`, err);
  }
  return db;
}

interface MysqlPool {
  query(sql: string, params?: unknown[]): Promise<[unknown, unknown]>;
  end(): Promise<void>;
}

function openMysql(url: string, display: string): Db {
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
  let closed = false;
  return {
    dialect: 'mysql',
    display,
    handle: pool as unknown as SqlDatabase,
    async query(sql, params = []) {
      const [rows] = await pool.query(sql, [...params]);
      return rows as Record<string, unknown>[];
    },
    async run(sql, params = []) {
      const [result] = await pool.query(sql, [...params]);
      return (result as { affectedRows?: number }).affectedRows ?? 0;
    },
    quote: (id) =>
      id
        .split('.')
        .map((p) => `\`${p}\``)
        .join('.'),
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

interface PgPool {
  query(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
  end(): Promise<void>;
  on(event: 'error', fn: (err: Error) => void): void;
}

function openPostgres(url: string, display: string): Db {
  const pg = loadDriver<{ Pool: new (config: object) => PgPool }>('pg', 'postgres://');
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000 });
  // An idle client's error (server restart) must not crash the process: the next query reports it.
  pool.on('error', () => {});
  const numbered = (sql: string): string => {
    let i = 0;
    return sql.replace(/\?/g, () => `$${++i}`);
  };
  let closed = false;
  return {
    dialect: 'postgres',
    display,
    handle: pool as unknown as SqlDatabase,
    async query(sql, params = []) {
      return (await pool.query(numbered(sql), [...params])).rows;
    },
    async run(sql, params = []) {
      return (await pool.query(numbered(sql), [...params])).rowCount ?? 0;
    },
    quote: (id) =>
      id
        .split('.')
        .map((p) => `"${p}"`)
        .join('.'),
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

interface SqliteStatement {
  readonly reader: boolean;
  all(...params: unknown[]): Record<string, unknown>[];
  run(...params: unknown[]): { changes: number };
}
interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  pragma(sql: string): unknown;
  close(): void;
}

function openSqlite(path: string, display: string, create: boolean): Db {
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
  const sqliteParam = (v: unknown): unknown => (typeof v === 'boolean' ? Number(v) : v);
  let closed = false;
  return {
    dialect: 'sqlite',
    display,
    handle: db as unknown as SqlDatabase,
    query(sql, params = []) {
      return Promise.resolve(db.prepare(sql).all(...params.map(sqliteParam)));
    },
    run(sql, params = []) {
      return Promise.resolve(db.prepare(sql).run(...params.map(sqliteParam)).changes);
    },
    quote: (id) =>
      id
        .split('.')
        .map((p) => `"${p}"`)
        .join('.'),
    close() {
      if (!closed) {
        closed = true;
        db.close();
      }
      return Promise.resolve();
    },
  };
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
