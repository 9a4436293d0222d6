import type {
  DriverErrorKind,
  ExecResult,
  Executor,
  SqlValue,
  TransactionOptions,
} from '../dialect.js';
import { oneAtATime } from '../one-at-a-time.js';

/** What reflex-events uses of a better-sqlite3 prepared statement (structural). */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  all(...params: unknown[]): unknown[];
  raw(toggle?: boolean): SqliteStatement;
  readonly reader: boolean;
}

/** A better-sqlite3 `Database` (structural; no driver import). */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  transaction(fn: (...args: never[]) => unknown): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  exec(sql: string): unknown;
  readonly open: boolean;
  readonly inTransaction: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** True for a better-sqlite3 Database. */
export function acceptsSqlite(h: unknown): h is SqliteDatabase {
  return (
    isObject(h) &&
    typeof h.prepare === 'function' &&
    typeof h.transaction === 'function' &&
    typeof h.pragma === 'function' &&
    typeof h.open === 'boolean' &&
    typeof h.inTransaction === 'boolean'
  );
}

/** The database is closed: classified 'closed'. */
export class SqliteClosedError extends Error {
  readonly code = 'SQLITE_CLOSED';
  constructor() {
    super('better-sqlite3 database is closed');
  }
}

const statements = new WeakMap<SqliteDatabase, Map<string, SqliteStatement>>();

function prepared(db: SqliteDatabase, sql: string): SqliteStatement {
  if (!db.open) throw new SqliteClosedError();
  let cache = statements.get(db);
  if (cache === undefined) {
    cache = new Map();
    statements.set(db, cache);
  }
  let stmt = cache.get(sql);
  if (stmt === undefined) {
    stmt = db.prepare(sql);
    if (stmt.reader) stmt.raw(true);
    cache.set(sql, stmt);
  }
  return stmt;
}

function bind(params: readonly SqlValue[] | undefined): readonly unknown[] {
  if (params === undefined) return [];
  // better-sqlite3 binds Buffers, not plain Uint8Arrays: wrap those (without copying), only when present.
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p instanceof Uint8Array && !Buffer.isBuffer(p)) {
      return params.map((v) =>
        v instanceof Uint8Array && !Buffer.isBuffer(v)
          ? Buffer.from(v.buffer, v.byteOffset, v.byteLength)
          : v,
      );
    }
  }
  return params;
}

/** Runs a SELECT synchronously: rows as arrays. */
export function sqliteQuerySync(
  db: SqliteDatabase,
  sql: string,
  params?: readonly SqlValue[],
): unknown[][] {
  return prepared(db, sql).all(...bind(params)) as unknown[][];
}

/** Runs a statement synchronously. */
export function sqliteExecuteSync(
  db: SqliteDatabase,
  sql: string,
  params?: readonly SqlValue[],
): ExecResult {
  const stmt = prepared(db, sql);
  if (stmt.reader) {
    stmt.all(...bind(params));
    return { affectedRows: 0 };
  }
  return { affectedRows: stmt.run(...bind(params)).changes };
}

/** An Executor over a database: each call runs synchronously and returns a settled promise. */
export function sqliteExecutor(db: SqliteDatabase): Executor {
  return {
    query: (sql, params) => {
      try {
        return Promise.resolve(sqliteQuerySync(db, sql, params));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    execute: (sql, params) => {
      try {
        return Promise.resolve(sqliteExecuteSync(db, sql, params));
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}

/**
 * Runs fn between BEGIN IMMEDIATE and COMMIT on the database. The executor's calls run
 * synchronously, so only microtasks separate them.
 */
export function sqliteTransaction<T>(
  handle: unknown,
  fn: (ex: Executor) => Promise<T>,
  _options?: TransactionOptions,
): Promise<T> {
  const db = handle as SqliteDatabase;
  return oneAtATime(db, () => runTransaction(db, fn));
}

async function runTransaction<T>(db: SqliteDatabase, fn: (ex: Executor) => Promise<T>): Promise<T> {
  if (!db.open) throw new SqliteClosedError();
  const ex = sqliteExecutor(db);
  prepared(db, 'BEGIN IMMEDIATE').run();
  try {
    const out = await fn(ex);
    prepared(db, 'COMMIT').run();
    return out;
  } catch (err) {
    if (db.inTransaction) prepared(db, 'ROLLBACK').run();
    throw err;
  }
}

/** Classifies a better-sqlite3 error by its `code`. */
export function classifySqliteError(err: unknown): DriverErrorKind | undefined {
  const code = isObject(err) && typeof err.code === 'string' ? err.code : undefined;
  if (code === undefined) return undefined;
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
    return 'duplicate';
  }
  if (code === 'SQLITE_CLOSED' || code === 'SQLITE_MISUSE') return 'closed';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy';
  return undefined;
}
