import { invalidArgument } from '../../internal/errors.js';
import type { ExecResult, Executor, SqlValue } from '../dialect.js';
import type { DialectName } from './types.js';

/** A tool's handle resolved for writing: its database and how statements run on it. */
export interface ToolBinding {
  /** The tool, for messages: 'Kysely', 'knex', 'Drizzle', 'TypeORM', 'Prisma', 'SqlExecutor'. */
  readonly tool: string;
  readonly dialect: DialectName;
  /** Runs statements in the handle's transaction (or on its pool when it is not one). */
  readonly executor: Executor;
  /** Synchronous run, for tools over better-sqlite3 whose transactions are synchronous (Drizzle). */
  readonly executeSync?: ((sql: string, params: readonly SqlValue[]) => ExecResult) | undefined;
  /**
   * Runs `fn` in a new transaction of the tool (or in the handle's own when it already is one).
   * Undefined when the tool cannot open one asynchronously from this handle.
   */
  readonly transaction?: (<T>(fn: (ex: Executor) => Promise<T>) => Promise<T>) | undefined;
  /**
   * True when the handle is one transaction's own object (the tool makes a new one per
   * transaction: Kysely's `trx`, knex's `trx`, Drizzle's `tx`, TypeORM's transactional manager).
   * Such a binding is not cached per handle: binding again costs less than a weak-map entry
   * (and its garbage collection) per transaction.
   */
  readonly perTransaction?: boolean;
}

/** One query builder or ORM: recognises its objects by their public shape and binds them. */
export interface Tool {
  readonly name: string;
  /** What the tool's accepted objects are, for the bad-input message. */
  readonly accepted: string;
  /** True when `handle` is one of the tool's objects; never throws. */
  accepts(handle: object): boolean;
  /**
   * Binds the handle. `dialect` is the caller's explicit option: used when the shape does not
   * tell the database (Prisma), checked against it when it does.
   */
  bind(handle: object, dialect: DialectName | undefined): ToolBinding;
}

/** A property of an object or function, or undefined; never throws on a getter. */
export function prop(o: unknown, key: string | symbol): unknown {
  if ((typeof o !== 'object' && typeof o !== 'function') || o === null) return undefined;
  try {
    return (o as Record<string | symbol, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** True when `o[key]` is a function. */
export function hasMethod(o: unknown, key: string): boolean {
  return typeof prop(o, key) === 'function';
}

/** Rows as arrays of column values (tools return objects; column order is the SELECT's). */
export function rowsAsArrays(rows: unknown): unknown[][] {
  if (!Array.isArray(rows)) return [];
  return rows.map((r) =>
    Array.isArray(r) ? r : typeof r === 'object' && r !== null ? Object.values(r) : [r],
  );
}

/**
 * The database of a tool's handle: the one its shape tells, or the explicit `dialect` option
 * (which must agree with the shape when both are known).
 */
export function chooseDialect(
  tool: string,
  detected: DialectName | undefined,
  option: DialectName | undefined,
): DialectName {
  if (detected !== undefined && option !== undefined && detected !== option) {
    throw invalidArgument(
      `dialect option is '${option}' but the ${tool} handle is on ${detected}: remove the option or fix it`,
    );
  }
  const d = detected ?? option;
  if (d === undefined) {
    throw invalidArgument(
      `a ${tool} handle does not tell its database: set the dialect option ('mysql' | 'postgres' | 'sqlite') of the table`,
    );
  }
  return d;
}
