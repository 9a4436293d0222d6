import {
  type CursorsSchema,
  type CursorsStatements,
  type ErrorsSchema,
  type ErrorsStatements,
  type EventsSchema,
  type EventsStatements,
  type LeasesSchema,
  type LeasesStatements,
  optionalEventColumns,
} from '../dialect.js';
import { quoteParts } from '../identifiers.js';
import { leasesStatements } from '../leases-sql.js';

/** Quotes a validated identifier with backticks. */
export function quoteMysql(identifier: string): string {
  return quoteParts(identifier, '`');
}

const q = quoteMysql;

/**
 * The column type of names, ids and string cursors: bytes, compared byte for byte. Not
 * utf8mb4_bin, which pads ('mailer' = 'mailer '), nor utf8mb4_nopad_bin, which MySQL 8 lacks
 * (and MySQL's utf8mb4_0900_bin MariaDB lacks): VARBINARY means the same on both, in any table or
 * server character set. 1020 bytes = the 255 characters of utf8mb4 the names are limited to.
 * Selects convert it back to utf8mb4 text (what was written is well-formed UTF-8).
 */
export const exactNameType = 'VARBINARY(1020)';

/** A column read back as utf8mb4 text (a no-op on a utf8mb4 text column). */
function text(column: string): string {
  return `CAST(${column} AS CHAR CHARACTER SET utf8mb4)`;
}

/** The MySQL/MariaDB statements of an events table. */
export function mysqlEventsStatements(s: EventsSchema): EventsStatements {
  const t = q(s.table);
  const cols = [q(s.foreignId), q(s.timestamp), q(s.type)];
  const vals = ['?', 'NOW(6)', '?'];
  if (s.metadata !== undefined) {
    cols.push(q(s.metadata));
    vals.push('?');
  }
  if (s.trace !== undefined) {
    cols.push(q(s.trace));
    vals.push('?');
  }
  const fid = s.foreignIdType === 'int' ? 'BIGINT NOT NULL' : `${exactNameType} NOT NULL`;
  const ddlCols = [
    `${q(s.id)} BIGINT NOT NULL AUTO_INCREMENT`,
    `${q(s.foreignId)} ${fid}`,
    `${q(s.timestamp)} DATETIME(6) NOT NULL`,
    `${q(s.type)} INT NOT NULL`,
  ];
  if (s.metadata !== undefined) ddlCols.push(`${q(s.metadata)} MEDIUMBLOB NULL`);
  if (s.trace !== undefined) ddlCols.push(`${q(s.trace)} BLOB NULL`);
  ddlCols.push(`PRIMARY KEY (${q(s.id)})`);
  return {
    insert: `INSERT INTO ${t} (${cols.join(', ')}) VALUES (${vals.join(', ')})`,
    insertNoop: `INSERT INTO ${t} (${q(s.id)}, ${q(s.foreignId)}, ${q(s.timestamp)}, ${q(s.type)}) VALUES (?, '0', NOW(6), 0)`,
    // UNIX_TIMESTAMP reads the DATETIME in the session time zone it was written in (NOW(6)), so
    // the instant is right whatever the Node process's time zone (see docs/sql-backends.md).
    // Exact microseconds as BIGINT: mysql2 reads that as a number (exact below 2^53 µs, the
    // year 2255), where the DECIMAL of UNIX_TIMESTAMP would come as a string to parse again.
    selectAfter: `SELECT ${q(s.id)}, ${s.foreignIdType === 'int' ? q(s.foreignId) : text(q(s.foreignId))}, CAST(UNIX_TIMESTAMP(${q(s.timestamp)}) * 1000000 AS SIGNED), ${q(s.type)}${optionalEventColumns(s, q)} FROM ${t} WHERE ${q(s.id)} > ? ORDER BY ${q(s.id)} LIMIT ?`,
    selectIdsBetween: `SELECT ${q(s.id)} FROM ${t} WHERE ${q(s.id)} > ? AND ${q(s.id)} < ? ORDER BY ${q(s.id)}`,
    maxId: `SELECT MAX(${q(s.id)}) FROM ${t}`,
    createTable: [`CREATE TABLE IF NOT EXISTS ${t} (\n  ${ddlCols.join(',\n  ')}\n) ENGINE=InnoDB`],
  };
}

/** The MySQL/MariaDB statements of a cursors table. */
export function mysqlCursorsStatements(s: CursorsSchema): CursorsStatements {
  const t = q(s.table);
  const [id, c, u] = [q(s.id), q(s.cursor), q(s.updatedAt)];
  const ms = `CAST(FLOOR(UNIX_TIMESTAMP(${u}) * 1000) AS SIGNED)`;
  const cursorType = s.cursorType === 'int' ? 'BIGINT NOT NULL' : `${exactNameType} NOT NULL`;
  return {
    select: `SELECT ${text(c)} FROM ${t} WHERE ${id} = ?`,
    // Int cursors compare as integers even on a text column (never as doubles beyond 2^53).
    updateIfGreater:
      s.cursorType === 'int'
        ? `UPDATE ${t} SET ${c} = ?, ${u} = NOW(6) WHERE ${id} = ? AND CAST(${c} AS SIGNED) < ?`
        : `UPDATE ${t} SET ${c} = ?, ${u} = NOW(6) WHERE ${id} = ? AND ${c} < ?`,
    // A plain INSERT: a duplicate is a 'duplicate' error the table reads as "exists". INSERT
    // IGNORE would also turn a data error (text into an int column) into a warning and a 0.
    insertIfAbsent: `INSERT INTO ${t} (${id}, ${c}, ${u}) VALUES (?, ?, NOW(6))`,
    // DATETIMEs are in the session's zone: the server turns them into an instant.
    selectAll: `SELECT ${id}, ${text(c)}, ${ms} FROM ${t} ORDER BY ${id}`,
    selectRow: `SELECT ${id}, ${text(c)}, ${ms} FROM ${t} WHERE ${id} = ?`,
    set: `UPDATE ${t} SET ${c} = ?, ${u} = NOW(6) WHERE ${id} = ?`,
    delete: `DELETE FROM ${t} WHERE ${id} = ?`,
    upsertGreatest(n: number): string {
      const rows = Array.from({ length: n }, () => '(?, ?, NOW(6))').join(', ');
      // VALUES(col) has the column's type: compare int cursors as integers even on a text column.
      const gt =
        s.cursorType === 'int'
          ? `CAST(VALUES(${c}) AS SIGNED) > CAST(${c} AS SIGNED)`
          : `VALUES(${c}) > ${c}`;
      // Assignments run left to right on the updated row: updated_at first, then the cursor.
      return (
        `INSERT INTO ${t} (${id}, ${c}, ${u}) VALUES ${rows} ON DUPLICATE KEY UPDATE ` +
        `${u} = IF(${gt}, VALUES(${u}), ${u}), ` +
        `${c} = IF(${gt}, VALUES(${c}), ${c})`
      );
    },
    createTable: [
      `CREATE TABLE IF NOT EXISTS ${t} (\n  ${id} ${exactNameType} NOT NULL,\n  ${c} ${cursorType},\n  ${u} DATETIME(6) NOT NULL,\n  PRIMARY KEY (${id})\n) ENGINE=InnoDB`,
    ],
  };
}

/** Dead-letter messages: up to 16 MiB (TEXT would refuse one over 64 KiB). */
export const messageType = 'MEDIUMTEXT CHARACTER SET utf8mb4';

/** The MySQL/MariaDB statements of a consumer errors table. */
export function mysqlErrorsStatements(s: ErrorsSchema): ErrorsStatements {
  const t = q(s.table);
  const uniq = q(`uniq_${s.table.replace('.', '_')}_consumer_event`.slice(0, 64));
  return {
    // Plain INSERT, as for cursors: a duplicate (consumer, event) is a 'duplicate' error.
    insertIfAbsent: `INSERT INTO ${t} (${q(s.consumer)}, ${q(s.eventId)}, ${q(s.message)}, ${q(s.createdAt)}, ${q(s.updatedAt)}, ${q(s.status)}) VALUES (?, ?, ?, NOW(6), NOW(6), ?)`,
    selectId: `SELECT ${q(s.id)} FROM ${t} WHERE ${q(s.consumer)} = ? AND ${q(s.eventId)} = ?`,
    createTable: [
      `CREATE TABLE IF NOT EXISTS ${t} (\n  ${q(s.id)} BIGINT NOT NULL AUTO_INCREMENT,\n  ${q(s.consumer)} ${exactNameType} NOT NULL,\n  ${q(s.eventId)} ${exactNameType} NOT NULL,\n  ${q(s.message)} ${messageType} NOT NULL,\n  ${q(s.createdAt)} DATETIME(6) NOT NULL,\n  ${q(s.updatedAt)} DATETIME(6) NOT NULL,\n  ${q(s.status)} INT NOT NULL,\n  PRIMARY KEY (${q(s.id)}),\n  UNIQUE KEY ${uniq} (${q(s.consumer)}, ${q(s.eventId)})\n) ENGINE=InnoDB`,
    ],
  };
}

/** The MySQL/MariaDB statements of a leases table. */
export function mysqlLeasesStatements(s: LeasesSchema): LeasesStatements {
  return leasesStatements(s, {
    quote: q,
    nowMs: 'CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)',
    placeholders: (sql) => sql,
    intParam: '?',
    bigint: 'BIGINT',
    text: 'VARCHAR(255) COLLATE utf8mb4_bin',
    insertIgnore: (t, cols, rows) => `INSERT IGNORE INTO ${t} (${cols}) VALUES ${rows}`,
    upsert: (t, cols, row, _conflict, set) =>
      `INSERT INTO ${t} (${cols}) VALUES (${row}) ON DUPLICATE KEY UPDATE ${set.map((c) => `${c} = VALUES(${c})`).join(', ')}`,
    fencedUpsert(c, leases, live) {
      const t = q(c.table);
      const [id, cur, u] = [q(c.id), q(c.cursor), q(c.updatedAt)];
      const gt =
        c.cursorType === 'int'
          ? `CAST(VALUES(${cur}) AS SIGNED) > CAST(${t}.${cur} AS SIGNED)`
          : `VALUES(${cur}) > ${t}.${cur}`;
      // The lease row is read with a shared lock: a takeover (an UPDATE of that row) waits for
      // this write to commit, and this write sees a takeover that committed first.
      return (
        `INSERT INTO ${t} (${id}, ${cur}, ${u}) SELECT ?, ?, NOW(6) FROM ${leases} WHERE ${live} LOCK IN SHARE MODE ` +
        `ON DUPLICATE KEY UPDATE ${t}.${u} = IF(${gt}, VALUES(${u}), ${t}.${u}), ` +
        `${t}.${cur} = IF(${gt}, VALUES(${cur}), ${t}.${cur})`
      );
    },
    tableSuffix: ' ENGINE=InnoDB',
  });
}
