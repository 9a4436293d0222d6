// Structural types of the query builders and ORMs that `insert` accepts. No tool is imported: a
// user without Kysely, Drizzle, knex, TypeORM or Prisma installed compiles these as they are.
import type { SqlValue } from '../dialect.js';

/** The SQL databases reflex-events writes to: names of the `dialect` option. */
export type DialectName = 'mysql' | 'postgres' | 'sqlite';

/**
 * Runs statements in the caller's transaction for a tool reflex-events does not know: implement it
 * over your own tool's raw-SQL call and pass it to `insert`. Placeholders in `sql` are the
 * dialect's own (`?` for mysql and sqlite, `$1…` for postgres), each bound to `params` in order.
 * @example
 * const ex: SqlExecutor = {
 *   dialect: 'postgres',
 *   query: async (sql, params) => (await client.query({ text: sql, values: [...params], rowMode: 'array' })).rows,
 *   execute: async (sql, params) => ({ affectedRows: (await client.query(sql, [...params])).rowCount ?? 0 }),
 * };
 * const notify = await events.insert(ex, 'user-1', 1);
 */
export interface SqlExecutor {
  /** The database the statements run on. */
  readonly dialect: DialectName;
  /** Runs a SELECT; rows as arrays of column values, columns in SELECT order. */
  query(sql: string, params: readonly SqlValue[]): Promise<readonly (readonly unknown[])[]>;
  /** Runs an INSERT/UPDATE/DELETE; `affectedRows` counts the rows it changed. */
  execute(sql: string, params: readonly SqlValue[]): Promise<{ readonly affectedRows: number }>;
}

/** A Kysely instance or `Transaction` (any of its three SQL dialects), typed structurally. */
export interface KyselyHandle {
  /** Takes a `CompiledQuery`; typed `never` so that every Kysely version's signature fits. */
  executeQuery(
    query: never,
  ): Promise<{ readonly rows: unknown[]; readonly numAffectedRows?: bigint | undefined }>;
  readonly isTransaction: boolean;
}

/** A knex instance or transaction (`trx`), typed structurally. */
export interface KnexHandle {
  raw(sql: string, bindings: readonly never[]): PromiseLike<unknown>;
  readonly client: unknown;
}

/** A Drizzle database or transaction on node-postgres or mysql2 (`tx.execute`), typed structurally. */
export interface DrizzleAsyncHandle {
  execute(query: never): PromiseLike<unknown>;
  transaction(fn: never, config?: never): Promise<unknown>;
}

/** A Drizzle database or transaction on better-sqlite3 (`tx.run`, synchronous), typed structurally. */
export interface DrizzleSyncHandle {
  run(query: never): unknown;
  all(query: never): unknown;
  transaction(fn: never, config?: never): unknown;
}

/** A TypeORM `EntityManager` or `QueryRunner` (0.3 or 1.x), typed structurally. */
export interface TypeOrmManagerHandle {
  query(query: string, parameters?: never): Promise<unknown>;
  readonly connection: { readonly options: { readonly type: string } };
}

/** A TypeORM `DataSource`, typed structurally. */
export interface TypeOrmDataSourceHandle {
  query(query: string, parameters?: never): Promise<unknown>;
  readonly options: { readonly type: string };
  readonly manager: object;
}

/** A Prisma client or interactive transaction client (`$transaction(async (tx) => …)`), typed structurally. */
export interface PrismaHandle {
  $executeRawUnsafe(query: string, ...values: never[]): PromiseLike<number>;
  $queryRawUnsafe(query: string, ...values: never[]): PromiseLike<unknown>;
}

/**
 * The transaction (or database) object of a query builder or ORM that `insert` accepts directly:
 * Kysely, knex, Drizzle, TypeORM, Prisma, or your own {@link SqlExecutor}. See docs/orms.md.
 */
export type OrmHandle =
  | KyselyHandle
  | KnexHandle
  | DrizzleAsyncHandle
  | DrizzleSyncHandle
  | TypeOrmManagerHandle
  | TypeOrmDataSourceHandle
  | PrismaHandle
  | SqlExecutor;
