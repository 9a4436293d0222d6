import type {
  MysqlCallbackHandle,
  MysqlConnection,
  MysqlPool,
  MysqlPoolConnection,
} from './mysql/driver.js';
import type { PgClient, PgPool, PgPoolClient } from './postgres/driver.js';
import type { SqliteDatabase } from './sqlite/driver.js';

/**
 * A database handle of the user's own driver, typed structurally (no driver is imported): a
 * mysql2 promise pool or connection (or a callback one, through its `.promise()`), a pg Pool or
 * Client, or a better-sqlite3 Database. The dialect is known from it.
 */
export type SqlDatabase =
  | MysqlPool
  | MysqlConnection
  | MysqlCallbackHandle
  | PgPool
  | PgClient
  | SqliteDatabase;

/**
 * The handle of the caller's open transaction: a mysql2 connection (pool connection) after
 * `beginTransaction()`, a pg client after `BEGIN`, or a better-sqlite3 Database inside
 * `db.transaction()`.
 */
export type SqlTransaction =
  | MysqlConnection
  | MysqlPoolConnection
  | PgPoolClient
  | PgClient
  | SqliteDatabase;
