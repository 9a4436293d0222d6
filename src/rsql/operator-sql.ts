import type { Dialect } from './dialect.js';

// Expressions for the operator views (reflex lag, the status page) over tables they only know by
// name; the tables' own statements are the dialects'.

/** A timestamp column as integer milliseconds since the epoch, in the dialect's SQL. */
export function epochMsExpr(dialect: Dialect, column: string): string {
  switch (dialect.name) {
    case 'mysql':
      // DATETIMEs are in the session's zone: let the server turn them into an instant.
      return `CAST(FLOOR(UNIX_TIMESTAMP(${column}) * 1000) AS SIGNED)`;
    case 'postgres':
      return `(extract(epoch from ${column}) * 1000)::bigint`;
    default:
      // SQLite tables of reflex-events/rsql store INTEGER milliseconds.
      return column;
  }
}

/** A column as text (an int64 beyond 2^53 is not rounded through a number). */
export function textExpr(dialect: Dialect, column: string): string {
  return dialect.name === 'mysql' ? `CAST(${column} AS CHAR)` : `CAST(${column} AS TEXT)`;
}

/**
 * The statement for the dialect's placeholders: `?` in the text becomes `$1`, `$2`… on
 * PostgreSQL. Only for statements written here with `?` and no `?` in a literal.
 */
export function placeholders(dialect: Dialect, sql: string): string {
  if (dialect.name !== 'postgres') return sql;
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}
