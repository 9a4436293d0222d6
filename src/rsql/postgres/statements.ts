import { createHash } from 'node:crypto';
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

/** Quotes a validated identifier with double quotes (case is kept). */
export function quotePg(identifier: string): string {
  return quoteParts(identifier, '"');
}

const q = quotePg;

/**
 * A name of at most 63 bytes (PostgreSQL's limit; identifiers are ASCII here): `base + suffix`
 * when it fits, else `base` cut short, a hash of the whole `base` and `suffix`. Cutting alone
 * made a 63-character table's sequence its own name, and two long names share one.
 */
export function fitName(base: string, suffix: string): string {
  if (base.length + suffix.length <= 63) return base + suffix;
  const hash = createHash('sha256').update(base).digest('hex').slice(0, 8);
  return `${base.slice(0, 63 - suffix.length - 9)}_${hash}${suffix}`;
}

/** The id sequence of an events table: `<table>_<id>_seq` (see {@link fitName}), in the table's schema. */
export function sequenceName(s: EventsSchema): string {
  const parts = s.table.split('.');
  const name = fitName(`${parts[parts.length - 1]}_${s.id}`, '_seq');
  return parts.length === 2 ? `${parts[0]}.${name}` : name;
}

/**
 * The id default that makes the gap strategy safe: the transaction gets its xid before the
 * sequence hands out the id (a CASE evaluates its condition first), also for INSERTs written by
 * hand. See docs/postgres.md.
 */
export function safeIdDefault(s: EventsSchema): string {
  return `CASE WHEN pg_current_xact_id() IS NOT NULL THEN nextval('${q(sequenceName(s))}'::regclass) END`;
}

/** The name of the NOTIFY channel of an events table (also used by the LISTEN connection). */
export function notifyChannel(s: EventsSchema): string {
  return `reflex_${s.table}`.slice(0, 63);
}

/** A timestamp(tz) column as exact microseconds since the epoch, a float8. */
export function epochMicros(column: string): string {
  return `(date_part('epoch', date_trunc('second', ${column})) * 1000000 + (date_part('microseconds', ${column})::int8 % 1000000))`;
}

/** The PostgreSQL statements of an events table. */
export function pgEventsStatements(s: EventsSchema): EventsStatements {
  const t = q(s.table);
  const cols = [q(s.foreignId), q(s.timestamp), q(s.type)];
  const vals = ['$1', 'statement_timestamp()', '$2'];
  let n = 3;
  if (s.metadata !== undefined) {
    cols.push(q(s.metadata));
    vals.push(`$${n++}`);
  }
  if (s.trace !== undefined) {
    cols.push(q(s.trace));
    vals.push(`$${n++}`);
  }
  const fid = s.foreignIdType === 'int' ? 'BIGINT NOT NULL' : 'VARCHAR(255) NOT NULL';
  const seq = q(sequenceName(s));
  const ddlCols = [
    `${q(s.id)} BIGINT NOT NULL DEFAULT (${safeIdDefault(s)})`,
    `${q(s.foreignId)} ${fid}`,
    `${q(s.timestamp)} TIMESTAMPTZ NOT NULL`,
    `${q(s.type)} INT NOT NULL`,
  ];
  if (s.metadata !== undefined) ddlCols.push(`${q(s.metadata)} BYTEA NULL`);
  if (s.trace !== undefined) ddlCols.push(`${q(s.trace)} BYTEA NULL`);
  ddlCols.push(`PRIMARY KEY (${q(s.id)})`);
  return {
    // With notify, one statement still: the NOTIFY is queued in the writer's transaction and
    // delivered at its commit (never for a rollback); identical ones in a transaction fold into one.
    insert:
      s.notify === true
        ? `WITH e AS (INSERT INTO ${t} (${cols.join(', ')}) VALUES (${vals.join(', ')}) RETURNING 1) SELECT pg_notify('${notifyChannel(s)}', '') FROM e`
        : `INSERT INTO ${t} (${cols.join(', ')}) VALUES (${vals.join(', ')})`,
    insertNoop: `INSERT INTO ${t} (${q(s.id)}, ${q(s.foreignId)}, ${q(s.timestamp)}, ${q(s.type)}) VALUES ($1, '0', statement_timestamp(), 0)`,
    // The timestamp arrives as exact microseconds since the epoch, a float8 (integers below 2^53
    // are exact): ±infinity reads as an invalid Date rather than failing the query. The whole
    // seconds and the microseconds within them are each exact in a double, so their sum is too
    // (date_part('epoch') alone is a double of seconds, off by up to ~0.4 µs after 2090).
    // Parsing the text form of a timestamptz in JavaScript cost a seventh of a catch-up.
    selectAfter: `SELECT ${q(s.id)}, ${q(s.foreignId)}::text, ${epochMicros(q(s.timestamp))}, ${q(s.type)}${optionalEventColumns(s, q)} FROM ${t} WHERE ${q(s.id)} > $1 ORDER BY ${q(s.id)} LIMIT $2`,
    selectIdsBetween: `SELECT ${q(s.id)} FROM ${t} WHERE ${q(s.id)} > $1 AND ${q(s.id)} < $2 ORDER BY ${q(s.id)}`,
    maxId: `SELECT MAX(${q(s.id)}) FROM ${t}`,
    createTable: [
      // CACHE 1: ids are handed out in allocation order (the gap strategy relies on it).
      `CREATE SEQUENCE IF NOT EXISTS ${seq} CACHE 1`,
      `CREATE TABLE IF NOT EXISTS ${t} (\n  ${ddlCols.join(',\n  ')}\n)`,
      `ALTER SEQUENCE ${seq} OWNED BY ${t}.${q(s.id)}`,
      safetyCheck(s),
    ],
  };
}

/** The PostgreSQL statements of a cursors table. */
export function pgCursorsStatements(s: CursorsSchema): CursorsStatements {
  const t = q(s.table);
  const [id, c, u] = [q(s.id), q(s.cursor), q(s.updatedAt)];
  // COLLATE "C": string cursors compare bytewise, like utf8mb4_bin on MySQL.
  const cursorType =
    s.cursorType === 'int' ? 'BIGINT NOT NULL' : 'VARCHAR(255) COLLATE "C" NOT NULL';
  const cast = s.cursorType === 'int' ? '::bigint' : '::varchar';
  const ms = `(extract(epoch from ${u}) * 1000)::bigint`;
  return {
    select: `SELECT ${c}::text FROM ${t} WHERE ${id} = $1`,
    // int cursors compare as bigint also on a text column (a no-op cast on a BIGINT one).
    updateIfGreater: `UPDATE ${t} SET ${c} = $1${cast}, ${u} = statement_timestamp() WHERE ${id} = $2 AND ${c}${cast} < $3${cast}`,
    insertIfAbsent: `INSERT INTO ${t} (${id}, ${c}, ${u}) VALUES ($1, $2${cast}, statement_timestamp()) ON CONFLICT (${id}) DO NOTHING`,
    selectAll: `SELECT ${id}, ${c}::text, ${ms} FROM ${t} ORDER BY ${id}`,
    selectRow: `SELECT ${id}, ${c}::text, ${ms} FROM ${t} WHERE ${id} = $1`,
    set: `UPDATE ${t} SET ${c} = $1${cast}, ${u} = statement_timestamp() WHERE ${id} = $2`,
    delete: `DELETE FROM ${t} WHERE ${id} = $1`,
    upsertGreatest(n: number): string {
      const rows = Array.from(
        { length: n },
        (_, i) => `($${2 * i + 1}, $${2 * i + 2}${cast}, statement_timestamp())`,
      ).join(', ');
      // One statement: the WHERE of DO UPDATE keeps a stored cursor that is not smaller.
      return (
        `INSERT INTO ${t} AS cur (${id}, ${c}, ${u}) VALUES ${rows} ON CONFLICT (${id}) DO UPDATE ` +
        `SET ${c} = EXCLUDED.${c}, ${u} = EXCLUDED.${u} WHERE cur.${c}${cast} < EXCLUDED.${c}${cast}`
      );
    },
    createTable: [
      `CREATE TABLE IF NOT EXISTS ${t} (\n  ${id} VARCHAR(255) NOT NULL,\n  ${c} ${cursorType},\n  ${u} TIMESTAMPTZ NOT NULL,\n  PRIMARY KEY (${id})\n)`,
    ],
  };
}

/** The PostgreSQL statements of a consumer errors table. */
export function pgErrorsStatements(s: ErrorsSchema): ErrorsStatements {
  const t = q(s.table);
  const base = s.table.split('.').pop() ?? s.table;
  const uniq = q(fitName(`uniq_${base}`, '_consumer_event'));
  return {
    insertIfAbsent: `INSERT INTO ${t} (${q(s.consumer)}, ${q(s.eventId)}, ${q(s.message)}, ${q(s.createdAt)}, ${q(s.updatedAt)}, ${q(s.status)}) VALUES ($1, $2, $3, statement_timestamp(), statement_timestamp(), $4) ON CONFLICT (${q(s.consumer)}, ${q(s.eventId)}) DO NOTHING`,
    selectId: `SELECT ${q(s.id)} FROM ${t} WHERE ${q(s.consumer)} = $1 AND ${q(s.eventId)} = $2`,
    createTable: [
      `CREATE TABLE IF NOT EXISTS ${t} (\n  ${q(s.id)} BIGSERIAL NOT NULL,\n  ${q(s.consumer)} VARCHAR(255) NOT NULL,\n  ${q(s.eventId)} VARCHAR(255) NOT NULL,\n  ${q(s.message)} TEXT NOT NULL,\n  ${q(s.createdAt)} TIMESTAMPTZ NOT NULL,\n  ${q(s.updatedAt)} TIMESTAMPTZ NOT NULL,\n  ${q(s.status)} INT NOT NULL,\n  PRIMARY KEY (${q(s.id)}),\n  CONSTRAINT ${uniq} UNIQUE (${q(s.consumer)}, ${q(s.eventId)})\n)`,
    ],
  };
}

/**
 * A DDL step of `createTable` that refuses an existing table the gap strategy cannot make safe:
 * an id default that does not assign the xid before nextval(), or a sequence with CACHE > 1.
 */
function safetyCheck(s: EventsSchema): string {
  const lit = (v: string): string => `'${v.replaceAll("'", "''")}'`;
  const body = `
DECLARE d text; c bigint;
BEGIN
  SELECT pg_get_expr(ad.adbin, ad.adrelid) INTO d FROM pg_attribute a
    JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE a.attrelid = ${lit(q(s.table))}::regclass AND a.attname = ${lit(s.id)};
  IF d IS NULL OR d !~ ${lit(SAFE_DEFAULT_PATTERN)} THEN
    RAISE EXCEPTION 'reflex-events: the default of %.% does not assign the transaction id before nextval() (see docs/postgres.md)', ${lit(s.table)}, ${lit(s.id)};
  END IF;
  SELECT seqcache INTO c FROM pg_sequence WHERE seqrelid = substring(d from ${lit(SAFE_DEFAULT_PATTERN)})::regclass;
  IF c IS DISTINCT FROM 1 THEN
    RAISE EXCEPTION 'reflex-events: the id sequence of % has CACHE %, want 1 (see docs/postgres.md)', ${lit(s.table)}, c;
  END IF;
END `;
  return `DO ${dollarQuote(body)}`;
}

/**
 * `body` as a dollar-quoted string whose tag it does not contain: names may hold `$`, and a
 * `$reflex$` inside one would have ended a fixed tag's string early.
 */
export function dollarQuote(body: string): string {
  let tag = '$reflex$';
  for (let i = 1; body.includes(tag); i++) tag = `$reflex${i}$`;
  return `${tag}${body}${tag}`;
}

/**
 * How `pg_get_expr` prints the safe id default; group 1 is the sequence. Used by createTable's
 * check (a POSIX regex in SQL) and by the stream's check (a JS regex).
 */
export const SAFE_DEFAULT_PATTERN =
  "^[\\s(]*CASE\\s+WHEN\\s+\\(?pg_current_xact_id\\(\\)\\s+IS\\s+NOT\\s+NULL\\)?\\s+THEN\\s+nextval\\('([^']+)'::regclass\\)";

/** Numbers `?` placeholders as `$1`, `$2`, … (the leases statements hold no other `?`). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The PostgreSQL statements of a leases table. */
export function pgLeasesStatements(s: LeasesSchema): LeasesStatements {
  return leasesStatements(s, {
    quote: q,
    nowMs: '(extract(epoch from statement_timestamp()) * 1000)::bigint',
    placeholders: numbered,
    intParam: '?::bigint',
    bigint: 'BIGINT',
    text: 'VARCHAR(255) COLLATE "C"',
    insertIgnore: (t, cols, rows) =>
      `INSERT INTO ${t} (${cols}) VALUES ${rows} ON CONFLICT DO NOTHING`,
    upsert: (t, cols, row, conflict, set) =>
      `INSERT INTO ${t} (${cols}) VALUES (${row}) ON CONFLICT (${conflict}) DO UPDATE SET ${set.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`,
    fencedUpsert(c, leases, live) {
      const t = q(c.table);
      const [id, cur, u] = [q(c.id), q(c.cursor), q(c.updatedAt)];
      const cast = c.cursorType === 'int' ? '::bigint' : '::varchar';
      // FOR SHARE: a takeover (an UPDATE of the lease row) waits for this write to commit, and a
      // takeover that committed first is seen (the row is re-checked), so the write is refused.
      return (
        `INSERT INTO ${t} AS cur (${id}, ${cur}, ${u}) SELECT ?, ?${cast}, statement_timestamp() FROM ${leases} WHERE ${live} FOR SHARE ` +
        `ON CONFLICT (${id}) DO UPDATE SET ${cur} = EXCLUDED.${cur}, ${u} = EXCLUDED.${u} WHERE cur.${cur}${cast} < EXCLUDED.${cur}${cast}`
      );
    },
    tableSuffix: '',
  });
}
