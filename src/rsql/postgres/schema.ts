import type { ColumnInfo, Executor } from '../dialect.js';

const integerTypes = new Set(['smallint', 'integer', 'bigint']);

/**
 * The columns of an existing PostgreSQL table, or undefined. Text compares byte for byte under
 * the deterministic collations PostgreSQL creates by default (varchar keeps trailing spaces), so
 * only integer-ness and sizes matter here: a string cursor is refused on an integer column.
 */
export async function describePgTable(
  ex: Executor,
  table: string,
): Promise<ReadonlyMap<string, ColumnInfo> | undefined> {
  const parts = table.split('.');
  const name = parts[parts.length - 1] as string;
  const schema = parts.length === 2 ? (parts[0] as string) : null;
  const rows = await ex.query(
    'SELECT lower(column_name::text), data_type::text, character_octet_length FROM information_schema.columns ' +
      'WHERE table_schema = COALESCE($1::text, current_schema()) AND table_name = $2::text',
    [schema, name],
  );
  if (rows.length === 0) return undefined;
  const out = new Map<string, ColumnInfo>();
  for (const r of rows) {
    const type = String(r[1] ?? '');
    const octets = r[2] === null || r[2] === undefined ? undefined : Number(r[2]);
    out.set(String(r[0]), {
      type,
      integer: integerTypes.has(type),
      // character(n) pads with spaces: not exact.
      exact: type !== 'character',
      maxBytes: octets,
    });
  }
  return out;
}
