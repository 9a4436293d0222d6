import type { ColumnInfo, Executor } from '../dialect.js';

/**
 * The columns of an existing SQLite table, or undefined. SQLite compares text with BINARY unless
 * told otherwise, and stores any value in any column: what matters is the type affinity, since a
 * string cursor written to an INTEGER column would be kept as text and compared as nothing else.
 */
export async function describeSqliteTable(
  ex: Executor,
  table: string,
): Promise<ReadonlyMap<string, ColumnInfo> | undefined> {
  const parts = table.split('.');
  const name = parts[parts.length - 1] as string;
  const sql =
    parts.length === 2
      ? `SELECT name, type FROM pragma_table_info(?, ?)`
      : `SELECT name, type FROM pragma_table_info(?)`;
  const rows = await ex.query(sql, parts.length === 2 ? [name, parts[0] as string] : [name]);
  if (rows.length === 0) return undefined;
  const out = new Map<string, ColumnInfo>();
  for (const r of rows) {
    const type = String(r[1] ?? '');
    out.set(String(r[0]).toLowerCase(), {
      type,
      // SQLite's rule for INTEGER affinity.
      integer: type.toUpperCase().includes('INT'),
      exact: true,
    });
  }
  return out;
}
