import { invalidArgument } from '../internal/errors.js';
import type { Dialect } from './dialect.js';
import { mysqlDialect } from './mysql/index.js';
import { postgresDialect } from './postgres/index.js';
import { sqliteDialect } from './sqlite/index.js';

/** Every dialect, in detection order. A new dialect adds one line here (see DIALECTS.md). */
export const dialects: readonly Dialect[] = [mysqlDialect, sqliteDialect, postgresDialect];

/**
 * The dialect of a user's handle (pool, connection, database), found by its shape; an
 * `ERR_REFLEX_INVALID_ARGUMENT` error when no dialect accepts it.
 */
export function dialectOf(handle: unknown): Dialect {
  for (const d of dialects) {
    if (d.accepts(handle)) return d;
  }
  throw invalidArgument(
    `unsupported database handle: want a mysql2 pool/connection, a pg Pool/Client or a better-sqlite3 Database, got ${describe(handle)}`,
  );
}

function describe(handle: unknown): string {
  if (handle === null) return 'null';
  if (typeof handle !== 'object') return typeof handle;
  return handle.constructor?.name ?? 'object';
}
