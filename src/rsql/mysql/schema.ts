import type { ColumnInfo, ExactColumn, Executor } from '../dialect.js';
import { exactNameType, messageType, quoteMysql } from './statements.js';

const integerTypes = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const binaryTypes = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
/** Character sets that hold every string (utf8mb3 only the BMP, but it is checked separately). */
const utf8 = new Set(['utf8mb4']);

/**
 * Collations that compare byte for byte with NO PAD: MariaDB's `*_nopad_bin` and MySQL 8's
 * `utf8mb4_0900_bin`. `utf8mb4_bin` is PAD SPACE ('a' = 'a '), the `_ci` ones fold case and
 * accents: consumers `mailer`, `Mailer`, `mailer ` and `mäiler` would share one row.
 */
function exactCollation(collation: string): boolean {
  return collation.endsWith('_nopad_bin') || collation === 'utf8mb4_0900_bin';
}

function describe(
  dataType: string,
  collation: string,
  charset: string,
  octets: unknown,
): ColumnInfo {
  const type = dataType.toLowerCase();
  const maxBytes =
    typeof octets === 'number' || typeof octets === 'string' ? Number(octets) : undefined;
  if (integerTypes.has(type)) return { type, integer: true, exact: true };
  if (binaryTypes.has(type)) return { type, integer: false, exact: true, maxBytes };
  // CHAR strips trailing spaces when read, whatever its collation.
  const exact = type !== 'char' && utf8.has(charset) && exactCollation(collation);
  return { type, integer: false, exact, maxBytes, charset };
}

/** The columns of an existing MySQL/MariaDB table (information_schema), or undefined. */
export async function describeMysqlTable(
  ex: Executor,
  table: string,
): Promise<ReadonlyMap<string, ColumnInfo> | undefined> {
  const parts = table.split('.');
  const name = parts[parts.length - 1] as string;
  const schema = parts.length === 2 ? (parts[0] as string) : null;
  const rows = await ex.query(
    'SELECT COLUMN_NAME, DATA_TYPE, COLLATION_NAME, CHARACTER_SET_NAME, CHARACTER_OCTET_LENGTH ' +
      'FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?',
    [schema, name],
  );
  if (rows.length === 0) return undefined;
  const out = new Map<string, ColumnInfo>();
  for (const r of rows) {
    out.set(
      String(r[0]).toLowerCase(),
      describe(String(r[1] ?? ''), String(r[2] ?? ''), String(r[3] ?? ''), r[4]),
    );
  }
  return out;
}

/**
 * The ALTER TABLE that makes columns exact: names and ids become VARBINARY (their utf8mb4 bytes;
 * a column in another character set is first converted to utf8mb4 so the bytes are UTF-8), and
 * messages MEDIUMTEXT. Rows cannot collide: the old collation already kept their keys distinct.
 */
export function mysqlExactColumnsStatements(
  table: string,
  columns: readonly ExactColumn[],
): readonly string[] {
  const t = quoteMysql(table);
  const toUtf8: string[] = [];
  const modify: string[] = [];
  for (const c of columns) {
    const col = quoteMysql(c.name);
    if (c.kind === 'text') {
      modify.push(`MODIFY ${col} ${messageType} NOT NULL`);
      continue;
    }
    const charset = c.info.charset;
    if (charset !== undefined && !['utf8mb4', 'utf8mb3', 'utf8', 'ascii', ''].includes(charset)) {
      toUtf8.push(`MODIFY ${col} VARCHAR(255) CHARACTER SET utf8mb4 NOT NULL`);
    }
    modify.push(`MODIFY ${col} ${exactNameType} NOT NULL`);
  }
  const out: string[] = [];
  if (toUtf8.length > 0) out.push(`ALTER TABLE ${t} ${toUtf8.join(', ')}`);
  if (modify.length > 0) out.push(`ALTER TABLE ${t} ${modify.join(', ')}`);
  return out;
}

/**
 * Refuses a session without strict mode: there MySQL stores a value it cannot hold as something
 * else (text into an int column as 0, a long message cut) with a warning only. The statements of
 * reflex-events never use INSERT IGNORE, so under strict mode each such write is an error.
 */
export async function mysqlSessionProblem(ex: Executor): Promise<string | undefined> {
  const rows = await ex.query('SELECT @@SESSION.sql_mode');
  const mode = String(rows[0]?.[0] ?? '').toUpperCase();
  if (mode.includes('STRICT_TRANS_TABLES') || mode.includes('STRICT_ALL_TABLES')) return undefined;
  return (
    `the session's sql_mode (${mode === '' ? 'empty' : mode}) has no STRICT_TRANS_TABLES: MySQL would ` +
    'store a value it cannot hold as something else (a string cursor as 0, a long message cut) with ' +
    "only a warning. Turn strict mode on (SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',STRICT_TRANS_TABLES'), " +
    'or per connection of the pool)'
  );
}
