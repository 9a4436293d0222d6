import { ErrorCode, ReflexError } from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import type { Dialect, ExecResult, Executor, SqlValue, TransactionOptions } from './dialect.js';
import { dialects } from './dialects.js';
import { RsqlErrorCode } from './error-codes.js';
import { type DialectName, type ToolBinding, toolOf, tools } from './orm/index.js';

/** A user handle with its dialect and executor, resolved once per handle. */
export interface BoundHandle {
  readonly dialect: Dialect;
  readonly executor: Executor;
}

const bound = new WeakMap<object, BoundHandle>();

const drivers = 'a mysql2 pool/connection, a pg Pool/Client or a better-sqlite3 Database';

/** What a value is, for messages: its class name, or its type. */
export function describeHandle(handle: unknown): string {
  if (handle === null) return 'null';
  if (typeof handle === 'function') return `function ${handle.name || '(anonymous)'}`;
  if (typeof handle !== 'object') return typeof handle;
  return handle.constructor?.name ?? 'object';
}

/**
 * The dialect and executor of a user's driver pool/connection/database (cached per handle): what
 * streams, cursor stores and `createTable` run on. A query builder's or ORM's object is refused
 * with the driver handle to give instead.
 */
export function bindHandle(handle: unknown): BoundHandle {
  if (typeof handle !== 'object' || handle === null) {
    throw invalidArgument(
      `database handle must be an object, got ${handle === null ? 'null' : typeof handle}`,
    );
  }
  let b = bound.get(handle);
  if (b === undefined) {
    const tool = toolOf(handle);
    if (tool !== undefined) {
      throw invalidArgument(
        `this needs the driver's own pool or database (${drivers}), got ${tool.accepted.replace(/^an? /, 'a ')} (${describeHandle(handle)}): give it the pool your ${tool.name} uses, see docs/orms.md`,
      );
    }
    const dialect = dialects.find((d) => d.accepts(handle));
    if (dialect === undefined) {
      throw invalidArgument(
        `unsupported database handle: want ${drivers}, got ${describeHandle(handle)}`,
      );
    }
    b = { dialect, executor: dialect.executor(handle) };
    bound.set(handle, b);
  }
  return b;
}

/** A transaction handle resolved for writing (`insert`, the errors table): a driver's or a tool's. */
export interface WriterHandle extends BoundHandle {
  /** The tool ('Kysely', …), undefined for a driver handle. */
  readonly tool: string | undefined;
  /** Runs a statement synchronously (better-sqlite3, directly or through Drizzle); undefined when asynchronous. */
  readonly executeSync: ((sql: string, params: readonly SqlValue[]) => ExecResult) | undefined;
  /** Runs fn in a new transaction on the handle (see Dialect.transaction); undefined when the tool cannot. */
  readonly transaction:
    | (<T>(fn: (ex: Executor) => Promise<T>, options?: TransactionOptions) => Promise<T>)
    | undefined;
}

const writers = new WeakMap<object, WriterHandle>();

function accepted(): string {
  return `${drivers}, ${tools.map((t) => t.accepted).join(', ')}`;
}

function byName(name: DialectName): Dialect {
  const d = dialects.find((x) => x.name === name);
  if (d === undefined) throw invalidArgument(`unknown dialect ${name}`);
  return d;
}

function fromTool(b: ToolBinding): WriterHandle {
  return {
    tool: b.tool,
    dialect: byName(b.dialect),
    executor: b.executor,
    executeSync: b.executeSync,
    // A tool's transactions take no options (the tool's own settings apply).
    transaction: b.transaction,
  };
}

/**
 * The handle of the caller's transaction, for writing: a driver's connection/database or a query
 * builder's/ORM's transaction object (Kysely, knex, Drizzle, TypeORM, Prisma) or a SqlExecutor.
 * `dialect` is the table's explicit option (checked against what the handle tells). Bad input is
 * an `ERR_REFLEX_INVALID_ARGUMENT` naming what was received and what is accepted.
 */
export function bindWriter(handle: unknown, dialect?: DialectName): WriterHandle {
  if ((typeof handle !== 'object' && typeof handle !== 'function') || handle === null) {
    throw invalidArgument(
      `transaction handle must be one of: ${accepted()}; got ${describeHandle(handle)}`,
    );
  }
  let w = writers.get(handle);
  if (w === undefined) {
    const tool = toolOf(handle);
    if (tool !== undefined) {
      const b = tool.bind(handle, dialect);
      w = fromTool(b);
      // Not cached: a handle whose database came from the option (Prisma), and one transaction's
      // own object (a new one per transaction; see ToolBinding.perTransaction).
      if (tool.name !== 'Prisma' && b.perTransaction !== true) writers.set(handle, w);
    } else {
      const d = dialects.find((x) => x.accepts(handle));
      if (d === undefined) {
        throw invalidArgument(
          `unsupported database handle: want ${accepted()}; got ${describeHandle(handle)}`,
        );
      }
      const sync = d.executeSync;
      w = {
        tool: undefined,
        dialect: d,
        executor: d.executor(handle),
        executeSync: sync === undefined ? undefined : (sql, params) => sync(handle, sql, params),
        transaction: (fn, options) => d.transaction(handle, fn, options),
      };
      writers.set(handle, w);
    }
  }
  if (dialect !== undefined && w.dialect.name !== dialect) {
    throw invalidArgument(
      `dialect option is '${dialect}' but the ${w.tool ?? 'driver'} handle (${describeHandle(handle)}) is on ${w.dialect.name}`,
    );
  }
  return w;
}

/**
 * Wraps a driver error as a ReflexError: `ERR_REFLEX_DB_CLOSED`, `ERR_REFLEX_INVALID_ARGUMENT` for
 * a value the column cannot hold (refused, never coerced), or `ERR_REFLEX_DATABASE`.
 */
export function databaseError(dialect: Dialect, err: unknown, what: string): ReflexError {
  if (err instanceof ReflexError) return err;
  const kind = dialect.classifyError(err);
  const message = err instanceof Error ? err.message : String(err);
  if (kind === 'closed') {
    return new ReflexError(RsqlErrorCode.dbClosed, `${what}: database closed: ${message}`, {
      cause: err,
    });
  }
  if (kind === 'data') {
    return new ReflexError(
      ErrorCode.invalidArgument,
      `${what}: the database refused a value its column cannot hold: ${message}`,
      { cause: err },
    );
  }
  return new ReflexError(RsqlErrorCode.database, `${what}: ${message}`, { cause: err });
}

/**
 * Runs an `insertIfAbsent` statement: true when it inserted the row, false when the row existed
 * (no row inserted, or a `'duplicate'` error: MySQL's plain INSERT, see the dialect contract).
 */
export async function insertIfAbsent(
  dialect: Dialect,
  run: () => Promise<{ affectedRows: number }>,
): Promise<boolean> {
  try {
    return (await run()).affectedRows > 0;
  } catch (err) {
    // A query builder (Drizzle) wraps the driver's error: its cause is classified too.
    for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; depth++) {
      if (dialect.classifyError(e) === 'duplicate') return false;
      e = typeof e === 'object' && e !== null ? (e as { cause?: unknown }).cause : undefined;
    }
    throw err;
  }
}
