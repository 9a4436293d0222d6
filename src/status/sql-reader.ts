import type { CursorsTable, ErrorsTable, EventsTable, SqlDatabase } from '../rsql/index.js';
import { type Dialect, dialectOf, type Executor, epochMsExpr, textExpr } from '../rsql/internal.js';

function toDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  const d = new Date(Number(value));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** One row of a cursors table. */
export interface CursorRow {
  readonly name: string;
  readonly cursor: string;
  readonly updatedAt: Date | null;
}

/** The latest error row of a consumer. */
export interface ErrorRow {
  readonly consumer: string;
  readonly message: string;
  readonly eventId: string;
  readonly at: Date | null;
}

/** Reads an events table's head and the timestamp of the first event after a cursor. */
export class EventsReader {
  readonly name: string;
  readonly #ex: Executor;
  readonly #maxId: string;
  readonly #selectAfter: string;
  readonly #dialect: Dialect;

  constructor(db: SqlDatabase, table: EventsTable) {
    const dialect = dialectOf(db);
    const statements = dialect.eventsStatements(table.schema);
    this.#dialect = dialect;
    this.name = table.name;
    this.#ex = dialect.executor(db);
    this.#maxId = statements.maxId;
    this.#selectAfter = statements.selectAfter;
  }

  /** The greatest id ('' when the table is empty). */
  async head(): Promise<string> {
    const row = (await this.#ex.query(this.#maxId))[0];
    const v = row?.[0];
    return v === null || v === undefined ? '' : String(v);
  }

  /** The first event after `cursor` (an integer id as text, '' for the start): its id and time. */
  async firstAfter(cursor: string): Promise<{ id: string; at: Date | null } | undefined> {
    const after =
      cursor === '' ? 0 : Number.isSafeInteger(Number(cursor)) ? Number(cursor) : cursor;
    const row = (await this.#ex.query(this.#selectAfter, [after, 1]))[0];
    if (row === undefined) return undefined;
    // The dialect's own decoding of what its selectAfter selects (microseconds, for instance).
    const at = this.#dialect.decodeTimestamp(row[2]);
    return { id: String(row[0]), at: Number.isNaN(at.getTime()) ? null : at };
  }
}

/** Lists a cursors table. */
export class CursorsReader {
  readonly name: string;
  readonly #ex: Executor;
  readonly #sql: string;

  constructor(db: SqlDatabase, table: CursorsTable) {
    const dialect = dialectOf(db);
    this.name = table.name;
    this.#ex = dialect.executor(db);
    this.#sql = dialect.cursorsStatements(table.schema).selectAll;
  }

  async list(): Promise<CursorRow[]> {
    const rows = await this.#ex.query(this.#sql);
    return rows.map((r) => ({
      name: String(r[0]),
      cursor: r[1] === null || r[1] === undefined ? '' : String(r[1]),
      updatedAt: toDate(r[2]),
    }));
  }
}

/** Reads the latest error of every consumer from an errors table. */
export class ErrorsReader {
  readonly name: string;
  readonly #ex: Executor;
  readonly #sql: string;

  constructor(db: SqlDatabase, table: ErrorsTable) {
    const dialect = dialectOf(db);
    const s = table.schema;
    const q = (c: string): string => dialect.quote(c);
    const t = q(s.table);
    this.name = table.name;
    this.#ex = dialect.executor(db);
    // One row per consumer: the one with the greatest id (the latest recorded).
    this.#sql =
      `SELECT ${q(s.consumer)}, ${q(s.message)}, ${textExpr(dialect, q(s.eventId))}, ${epochMsExpr(dialect, q(s.updatedAt))} ` +
      `FROM ${t} WHERE ${q(s.id)} IN (SELECT MAX(${q(s.id)}) FROM ${t} GROUP BY ${q(s.consumer)})`;
  }

  async latest(): Promise<Map<string, ErrorRow>> {
    const out = new Map<string, ErrorRow>();
    for (const r of await this.#ex.query(this.#sql)) {
      const consumer = String(r[0]);
      out.set(consumer, {
        consumer,
        message: String(r[1] ?? ''),
        eventId: String(r[2] ?? ''),
        at: toDate(r[3]),
      });
    }
    return out;
  }
}
