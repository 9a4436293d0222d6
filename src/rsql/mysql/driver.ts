import type {
  DriverErrorKind,
  ExecResult,
  Executor,
  SqlValue,
  TransactionOptions,
} from '../dialect.js';
import { oneAtATime } from '../one-at-a-time.js';

/** What reflex-events uses of a mysql2/promise pool, pool connection or connection. */
export interface MysqlQueryable {
  query(
    options: string | { sql: string; rowsAsArray?: boolean },
    values?: unknown,
  ): Promise<[unknown, unknown]>;
  execute(sql: string, values?: unknown): Promise<[unknown, unknown]>;
}

/** A mysql2/promise `Pool` (structural). */
export interface MysqlPool extends MysqlQueryable {
  getConnection(): Promise<MysqlPoolConnection>;
  readonly pool: object;
}

/** A mysql2/promise `Connection` (structural). */
export interface MysqlConnection extends MysqlQueryable {
  beginTransaction(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** The callback connection inside; always there at runtime, declared by mysql2 on PoolConnection only. */
  readonly connection?: object;
}

/** A mysql2/promise `PoolConnection` (structural). */
export interface MysqlPoolConnection extends MysqlConnection {
  release(): void;
  /** Closes the connection instead of returning it to the pool. */
  destroy?(): void;
}

/** A mysql2 callback-API pool or connection: it has `.promise()`, which is what gets used. */
export interface MysqlCallbackHandle {
  promise(): MysqlPool | MysqlConnection;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function isQueryable(h: Record<string, unknown>): boolean {
  return typeof h.query === 'function' && typeof h.execute === 'function';
}

function isPromisePool(h: unknown): h is MysqlPool {
  return isObject(h) && isQueryable(h) && typeof h.getConnection === 'function' && isObject(h.pool);
}

function isPromiseConnection(h: unknown): h is MysqlConnection {
  return (
    isObject(h) &&
    isQueryable(h) &&
    typeof h.beginTransaction === 'function' &&
    isObject(h.connection)
  );
}

function isCallbackHandle(h: unknown): h is MysqlCallbackHandle {
  return (
    isObject(h) &&
    isQueryable(h) &&
    typeof h.promise === 'function' &&
    isObject(h.config) &&
    !isObject(h.pool) &&
    !isObject(h.connection)
  );
}

/** True for a mysql2 promise pool/connection or a callback pool/connection (used via `.promise()`). */
export function acceptsMysql(h: unknown): boolean {
  return isPromisePool(h) || isPromiseConnection(h) || isCallbackHandle(h);
}

const promised = new WeakMap<object, MysqlPool | MysqlConnection>();

/** The promise-API object of a handle (callback handles are wrapped once). */
export function promiseHandle(h: unknown): MysqlPool | MysqlConnection {
  if (isPromisePool(h) || isPromiseConnection(h)) return h;
  if (isCallbackHandle(h)) {
    let p = promised.get(h);
    if (p === undefined) {
      p = h.promise();
      promised.set(h, p);
    }
    return p;
  }
  throw new TypeError('not a mysql2 handle');
}

function affected(result: unknown): number {
  const r = result as { affectedRows?: unknown };
  return typeof r.affectedRows === 'number' ? r.affectedRows : 0;
}

/** An Executor over a promise handle. */
export function mysqlExecutor(h: MysqlPool | MysqlConnection): Executor {
  return {
    async query(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
      const [rows] = await h.query({ sql, rowsAsArray: true }, params);
      return rows as unknown[][];
    },
    async execute(sql: string, params?: readonly SqlValue[]): Promise<ExecResult> {
      const [result] = await h.query(sql, params);
      return { affectedRows: affected(result) };
    },
  };
}

/** Runs fn in a transaction on one connection of h. */
export async function mysqlTransaction<T>(
  handle: unknown,
  fn: (ex: Executor) => Promise<T>,
  options?: TransactionOptions,
): Promise<T> {
  const h = promiseHandle(handle);
  // A pool lends a connection per transaction; a single connection takes them one at a time.
  if (!isPromisePool(h)) return oneAtATime(h, () => inTransaction(h, h, fn, options));
  return inTransaction(h, await h.getConnection(), fn, options);
}

async function inTransaction<T>(
  h: MysqlPool | MysqlConnection,
  conn: MysqlConnection,
  fn: (ex: Executor) => Promise<T>,
  options?: TransactionOptions,
): Promise<T> {
  // A connection whose transaction did not end cleanly (or that kept a pending isolation level)
  // must not go back to the pool: it is destroyed instead.
  let clean = false;
  try {
    const ex = mysqlExecutor(conn);
    if (options?.readUncommitted === true) {
      await ex.execute('SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED');
    }
    await conn.beginTransaction();
    let out: T;
    try {
      out = await fn(ex);
    } catch (err) {
      await conn.rollback().then(
        () => {
          clean = true;
        },
        () => {},
      );
      throw err;
    }
    await conn.commit();
    clean = true;
    return out;
  } finally {
    if (conn !== h && 'release' in conn) {
      const pooled = conn as MysqlPoolConnection;
      if (clean || pooled.destroy === undefined) pooled.release();
      else pooled.destroy();
    }
  }
}

const duplicate = new Set(['ER_DUP_ENTRY', 'ER_DUP_KEY', 'ER_DUP_UNIQUE']);
const closed = new Set([
  'POOL_CLOSED',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ER_CONNECTION_KILLED',
  'ER_SERVER_SHUTDOWN',
]);
const busy = new Set(['ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_DEADLOCK']);
const schema = new Set(['ER_NO_SUCH_TABLE', 'ER_BAD_FIELD_ERROR', 'ER_BAD_TABLE_ERROR']);
/** Strict mode's refusals of a value the column cannot hold as given. */
const data = new Set([
  'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
  'ER_TRUNCATED_WRONG_VALUE',
  'ER_DATA_TOO_LONG',
  'ER_WARN_DATA_OUT_OF_RANGE',
  'WARN_DATA_TRUNCATED',
  'ER_WARN_DATA_TRUNCATED',
  'ER_BAD_NULL_ERROR',
]);

// mysql2 fails every call on an ended pool with this error, which has no code: its message is
// the only public sign (read here rather than the pool's private state).
const poolClosedMessage = 'Pool is closed.';

/** Classifies a mysql2 error by its `code` (an ended pool's error, which has none, by its message). */
export function classifyMysqlError(err: unknown): DriverErrorKind | undefined {
  const code = isObject(err) && typeof err.code === 'string' ? err.code : undefined;
  if (code === undefined) {
    return err instanceof Error && err.message === poolClosedMessage ? 'closed' : undefined;
  }
  if (duplicate.has(code)) return 'duplicate';
  if (closed.has(code)) return 'closed';
  if (busy.has(code)) return 'busy';
  if (schema.has(code)) return 'schema';
  if (data.has(code)) return 'data';
  return undefined;
}
