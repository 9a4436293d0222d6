import { sqliteNowMs } from '../../internal/sql-names.js';
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

/** Quotes a validated identifier with double quotes. */
export function quoteSqlite(identifier: string): string {
  return quoteParts(identifier, '"');
}

const q = quoteSqlite;

/** The database clock in ms since the Unix epoch (timestamps are INTEGER ms). */
export { sqliteNowMs };

/** The SQLite statements of an events table. */
export function sqliteEventsStatements(s: EventsSchema): EventsStatements {
  const t = q(s.table);
  const cols = [q(s.foreignId), q(s.timestamp), q(s.type)];
  const vals = ['?', sqliteNowMs, '?'];
  if (s.metadata !== undefined) {
    cols.push(q(s.metadata));
    vals.push('?');
  }
  if (s.trace !== undefined) {
    cols.push(q(s.trace));
    vals.push('?');
  }
  const ddlCols = [
    // INTEGER PRIMARY KEY without AUTOINCREMENT: the rowid, max(id)+1 at insert (see gaps.ts).
    `${q(s.id)} INTEGER PRIMARY KEY`,
    `${q(s.foreignId)} ${s.foreignIdType === 'int' ? 'INTEGER' : 'TEXT'} NOT NULL`,
    `${q(s.timestamp)} INTEGER NOT NULL`,
    `${q(s.type)} INTEGER NOT NULL`,
  ];
  if (s.metadata !== undefined) ddlCols.push(`${q(s.metadata)} BLOB`);
  if (s.trace !== undefined) ddlCols.push(`${q(s.trace)} BLOB`);
  return {
    insert: `INSERT INTO ${t} (${cols.join(', ')}) VALUES (${vals.join(', ')})`,
    insertNoop: `INSERT INTO ${t} (${q(s.id)}, ${q(s.foreignId)}, ${q(s.timestamp)}, ${q(s.type)}) VALUES (?, '0', ${sqliteNowMs}, 0)`,
    selectAfter: `SELECT ${q(s.id)}, ${q(s.foreignId)}, ${q(s.timestamp)}, ${q(s.type)}${optionalEventColumns(s, q)} FROM ${t} WHERE ${q(s.id)} > ? ORDER BY ${q(s.id)} LIMIT ?`,
    selectIdsBetween: `SELECT ${q(s.id)} FROM ${t} WHERE ${q(s.id)} > ? AND ${q(s.id)} < ? ORDER BY ${q(s.id)}`,
    maxId: `SELECT MAX(${q(s.id)}) FROM ${t}`,
    createTable: [`CREATE TABLE IF NOT EXISTS ${t} (\n  ${ddlCols.join(',\n  ')}\n)`],
  };
}

/** The SQLite statements of a cursors table. */
export function sqliteCursorsStatements(s: CursorsSchema): CursorsStatements {
  const t = q(s.table);
  const [id, c, u] = [q(s.id), q(s.cursor), q(s.updatedAt)];
  const stored = s.cursorType === 'int' ? `CAST(${t}.${c} AS INTEGER)` : `${t}.${c}`;
  const incoming = s.cursorType === 'int' ? `CAST(excluded.${c} AS INTEGER)` : `excluded.${c}`;
  return {
    select: `SELECT CAST(${c} AS TEXT) FROM ${t} WHERE ${id} = ?`,
    updateIfGreater: `UPDATE ${t} SET ${c} = ?, ${u} = ${sqliteNowMs} WHERE ${id} = ? AND ${stored} < ?`,
    insertIfAbsent: `INSERT INTO ${t} (${id}, ${c}, ${u}) VALUES (?, ?, ${sqliteNowMs}) ON CONFLICT DO NOTHING`,
    // updatedAt is INTEGER ms already.
    selectAll: `SELECT ${id}, CAST(${c} AS TEXT), ${u} FROM ${t} ORDER BY ${id}`,
    selectRow: `SELECT ${id}, CAST(${c} AS TEXT), ${u} FROM ${t} WHERE ${id} = ?`,
    set: `UPDATE ${t} SET ${c} = ?, ${u} = ${sqliteNowMs} WHERE ${id} = ?`,
    delete: `DELETE FROM ${t} WHERE ${id} = ?`,
    upsertGreatest(n: number): string {
      const rows = Array.from({ length: n }, () => `(?, ?, ${sqliteNowMs})`).join(', ');
      return (
        `INSERT INTO ${t} (${id}, ${c}, ${u}) VALUES ${rows} ON CONFLICT(${id}) DO UPDATE SET ` +
        `${c} = excluded.${c}, ${u} = excluded.${u} WHERE ${incoming} > ${stored}`
      );
    },
    createTable: [
      `CREATE TABLE IF NOT EXISTS ${t} (\n  ${id} TEXT NOT NULL PRIMARY KEY,\n  ${c} ${s.cursorType === 'int' ? 'INTEGER' : 'TEXT'} NOT NULL,\n  ${u} INTEGER NOT NULL\n)`,
    ],
  };
}

/** The SQLite statements of a consumer errors table. */
export function sqliteErrorsStatements(s: ErrorsSchema): ErrorsStatements {
  const t = q(s.table);
  return {
    insertIfAbsent: `INSERT INTO ${t} (${q(s.consumer)}, ${q(s.eventId)}, ${q(s.message)}, ${q(s.createdAt)}, ${q(s.updatedAt)}, ${q(s.status)}) VALUES (?, ?, ?, ${sqliteNowMs}, ${sqliteNowMs}, ?) ON CONFLICT DO NOTHING`,
    selectId: `SELECT ${q(s.id)} FROM ${t} WHERE ${q(s.consumer)} = ? AND ${q(s.eventId)} = ?`,
    createTable: [
      `CREATE TABLE IF NOT EXISTS ${t} (\n  ${q(s.id)} INTEGER PRIMARY KEY,\n  ${q(s.consumer)} TEXT NOT NULL,\n  ${q(s.eventId)} TEXT NOT NULL,\n  ${q(s.message)} TEXT NOT NULL,\n  ${q(s.createdAt)} INTEGER NOT NULL,\n  ${q(s.updatedAt)} INTEGER NOT NULL,\n  ${q(s.status)} INTEGER NOT NULL,\n  UNIQUE (${q(s.consumer)}, ${q(s.eventId)})\n)`,
    ],
  };
}

/** The SQLite statements of a leases table (writers are serialised: each statement is atomic). */
export function sqliteLeasesStatements(s: LeasesSchema): LeasesStatements {
  return leasesStatements(s, {
    quote: q,
    nowMs: sqliteNowMs,
    placeholders: (sql) => sql,
    intParam: '?',
    bigint: 'INTEGER',
    text: 'TEXT',
    insertIgnore: (t, cols, rows) =>
      `INSERT INTO ${t} (${cols}) VALUES ${rows} ON CONFLICT DO NOTHING`,
    upsert: (t, cols, row, conflict, set) =>
      `INSERT INTO ${t} (${cols}) VALUES (${row}) ON CONFLICT(${conflict}) DO UPDATE SET ${set.map((c) => `${c} = excluded.${c}`).join(', ')}`,
    fencedUpsert(c, leases, live) {
      const t = q(c.table);
      const [id, cur, u] = [q(c.id), q(c.cursor), q(c.updatedAt)];
      const stored = c.cursorType === 'int' ? `CAST(${t}.${cur} AS INTEGER)` : `${t}.${cur}`;
      const incoming =
        c.cursorType === 'int' ? `CAST(excluded.${cur} AS INTEGER)` : `excluded.${cur}`;
      return (
        `INSERT INTO ${t} (${id}, ${cur}, ${u}) SELECT ?, ?, ${sqliteNowMs} FROM ${leases} WHERE ${live} ` +
        `ON CONFLICT(${id}) DO UPDATE SET ${cur} = excluded.${cur}, ${u} = excluded.${u} WHERE ${incoming} > ${stored}`
      );
    },
    tableSuffix: '',
  });
}
