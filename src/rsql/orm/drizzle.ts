import { createRequire } from 'node:module';
import { ReflexError } from '../../core/index.js';
import { invalidArgument } from '../../internal/errors.js';
import type { ExecResult, Executor, SqlValue } from '../dialect.js';
import { RsqlErrorCode } from '../error-codes.js';
import { orderedParams, splitPlaceholders } from './placeholders.js';
import {
  chooseDialect,
  hasMethod,
  prop,
  rowsAsArrays,
  type Tool,
  type ToolBinding,
} from './tool.js';
import type { DialectName } from './types.js';

// Drizzle tags each class with a kind under this registered symbol (what its public `is()` reads).
const entityKind = Symbol.for('drizzle:entityKind');

/** The Drizzle kinds of an object's class and its ancestors ('NodePgTransaction', 'PgDatabase', …). */
function kinds(h: object): string[] {
  const out: string[] = [];
  let proto: unknown = Object.getPrototypeOf(h);
  for (let depth = 0; proto !== null && proto !== undefined && depth < 10; depth++) {
    const k = prop(prop(proto, 'constructor'), entityKind);
    if (typeof k === 'string' && out.at(-1) !== k) out.push(k);
    proto = Object.getPrototypeOf(proto);
  }
  return out;
}

function drizzleDialect(ks: readonly string[]): DialectName | undefined {
  if (ks.includes('PgDatabase')) return 'postgres';
  if (ks.includes('MySqlDatabase')) return 'mysql';
  if (ks.includes('BaseSQLiteDatabase')) return 'sqlite';
  return undefined;
}

type SqlTag = (strings: readonly string[], ...params: unknown[]) => object;
let sqlTag: SqlTag | undefined;

/**
 * Drizzle's `sql` tag, loaded from the user's drizzle-orm on first use (synchronously, so that
 * `insertSync` works inside a better-sqlite3 transaction). Parameters stay bound: Drizzle writes
 * the placeholders of its own dialect.
 */
function drizzleSql(): SqlTag {
  if (sqlTag === undefined) {
    try {
      const mod = createRequire(import.meta.url)('drizzle-orm') as { sql?: unknown };
      if (typeof mod.sql !== 'function') throw new Error('drizzle-orm has no sql export');
      sqlTag = mod.sql as SqlTag;
    } catch (err) {
      throw new ReflexError(
        RsqlErrorCode.peerMissing,
        `a Drizzle handle was given but drizzle-orm cannot be loaded from reflex-events: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
  return sqlTag;
}

function statement(
  sql: string,
  params: readonly SqlValue[] | undefined,
  dialect: DialectName,
): object {
  const s = splitPlaceholders(sql, dialect);
  return drizzleSql()(s.strings, ...orderedParams(s, params ?? []));
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof prop(v, 'then') === 'function';
}

interface AsyncRun {
  execute(q: object): PromiseLike<unknown>;
}
interface SqliteRun {
  run(q: object): unknown;
  all(q: object): unknown;
}

function asyncExecutor(h: AsyncRun, dialect: DialectName): Executor {
  return {
    async query(sql, params) {
      const r = await h.execute(statement(sql, params, dialect));
      // mysql2: [rows, fields]; node-postgres: a Result.
      return rowsAsArrays(dialect === 'mysql' ? (r as unknown[])[0] : prop(r, 'rows'));
    },
    async execute(sql, params): Promise<ExecResult> {
      const r = await h.execute(statement(sql, params, dialect));
      const n =
        dialect === 'mysql' ? prop((r as unknown[])[0], 'affectedRows') : prop(r, 'rowCount');
      return { affectedRows: typeof n === 'number' ? n : 0 };
    },
  };
}

function runSqlite(h: SqliteRun, sql: string, params: readonly SqlValue[] | undefined): ExecResult {
  const r = h.run(statement(sql, params, 'sqlite'));
  if (isThenable(r)) {
    throw invalidArgument(
      'insertSync needs Drizzle over better-sqlite3 (synchronous); this Drizzle SQLite driver is asynchronous: use insert',
    );
  }
  const n = prop(r, 'changes');
  return { affectedRows: typeof n === 'number' ? n : 0 };
}

function sqliteExecutor(h: SqliteRun): Executor {
  return {
    async query(sql, params) {
      return rowsAsArrays(await h.all(statement(sql, params, 'sqlite')));
    },
    async execute(sql, params): Promise<ExecResult> {
      const r = await h.run(statement(sql, params, 'sqlite'));
      const n = prop(r, 'changes');
      return { affectedRows: typeof n === 'number' ? n : 0 };
    },
  };
}

interface DrizzleTransactions {
  transaction<T>(fn: (tx: AsyncRun) => Promise<T>): Promise<T>;
}

/**
 * Drizzle (database or `tx`) over node-postgres, mysql2 (`execute`) or better-sqlite3 (`run`,
 * synchronous: `insertSync` works inside `db.transaction((tx) => …)`).
 */
export const drizzleTool: Tool = {
  name: 'Drizzle',
  accepted: 'a Drizzle database or transaction',
  accepts: (h) => drizzleDialect(kinds(h)) !== undefined,
  bind(handle, option): ToolBinding {
    const ks = kinds(handle);
    const dialect = chooseDialect('Drizzle', drizzleDialect(ks), option);
    const perTransaction = ks.some((k) => k.endsWith('Transaction'));
    if (dialect === 'sqlite') {
      const h = handle as SqliteRun;
      return {
        tool: 'Drizzle',
        dialect,
        executor: sqliteExecutor(h),
        executeSync: (sql, params) => runSqlite(h, sql, params),
        // better-sqlite3 transactions are synchronous: an asynchronous one cannot be opened.
        transaction: undefined,
        perTransaction,
      };
    }
    const h = handle as AsyncRun;
    const executor = asyncExecutor(h, dialect);
    const transaction = perTransaction
      ? <T>(fn: (ex: Executor) => Promise<T>) => fn(executor)
      : hasMethod(h, 'transaction')
        ? <T>(fn: (ex: Executor) => Promise<T>) =>
            (h as unknown as DrizzleTransactions).transaction((tx) =>
              fn(asyncExecutor(tx, dialect)),
            )
        : undefined;
    return { tool: 'Drizzle', dialect, executor, transaction, perTransaction };
  },
};
