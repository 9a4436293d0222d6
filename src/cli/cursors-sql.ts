import { sqliteNowMs } from '../internal/sql-names.js';
import { checkIdentifier, type Db, toDate } from './db.js';

/** The names of a cursors table and its columns (the defaults of `reflex-events/rsql`). */
export interface CursorsTableNames {
  readonly table: string;
  readonly idField: string;
  readonly cursorField: string;
  readonly timeField: string;
}

/** One stored cursor. */
export interface CursorRow {
  readonly consumer: string;
  readonly cursor: string;
  readonly updatedAt: Date | undefined;
}

/** The SQL of the operator commands on a cursors table, identifiers validated and quoted. */
export class CursorsSql {
  readonly #db: Db;
  readonly #t: string;
  readonly #id: string;
  readonly #cursor: string;
  readonly #time: string;

  constructor(db: Db, names: CursorsTableNames) {
    this.#db = db;
    this.#t = db.quote(checkIdentifier(names.table, '--table'));
    this.#id = db.quote(checkIdentifier(names.idField, '--id-field'));
    this.#cursor = db.quote(checkIdentifier(names.cursorField, '--cursor-field'));
    this.#time = db.quote(checkIdentifier(names.timeField, '--time-field'));
  }

  /** The selected columns; the cursor as text, so a BIGINT beyond 2^53 is not rounded. */
  #columns(): string {
    const text = this.#db.dialect === 'mysql' ? 'CHAR' : 'TEXT';
    return `${this.#id} AS c, CAST(${this.#cursor} AS ${text}) AS v, ${this.#time} AS t`;
  }

  async list(): Promise<CursorRow[]> {
    const rows = await this.#db.query(
      `SELECT ${this.#columns()} FROM ${this.#t} ORDER BY ${this.#id}`,
    );
    return rows.map(toRow);
  }

  async get(consumer: string): Promise<CursorRow | undefined> {
    const rows = await this.#db.query(
      `SELECT ${this.#columns()} FROM ${this.#t} WHERE ${this.#id} = ?`,
      [consumer],
    );
    return rows[0] === undefined ? undefined : toRow(rows[0]);
  }

  /** Writes the cursor, creating the row when there is none. */
  async set(consumer: string, cursor: string): Promise<void> {
    const now = nowSql(this.#db);
    const changed = await this.#db.run(
      `UPDATE ${this.#t} SET ${this.#cursor} = ?, ${this.#time} = ${now} WHERE ${this.#id} = ?`,
      [cursor, consumer],
    );
    if (changed > 0) return;
    await this.#db.run(
      `INSERT INTO ${this.#t} (${this.#id}, ${this.#cursor}, ${this.#time}) VALUES (?, ?, ${now})`,
      [consumer, cursor],
    );
  }

  /** Deletes the consumer's row: its next run starts from the beginning (or the head, bootstrapped). */
  async reset(consumer: string): Promise<boolean> {
    return (await this.#db.run(`DELETE FROM ${this.#t} WHERE ${this.#id} = ?`, [consumer])) > 0;
  }
}

function nowSql(db: Db): string {
  switch (db.dialect) {
    case 'mysql':
      return 'NOW(6)';
    case 'postgres':
      return 'now()';
    case 'sqlite':
      // INTEGER ms, as reflex-events/rsql writes it (its own expression).
      return sqliteNowMs;
  }
}

function toRow(r: Record<string, unknown>): CursorRow {
  return { consumer: String(r.c), cursor: String(r.v ?? ''), updatedAt: toDate(r.t) };
}
