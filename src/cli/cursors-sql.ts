import type { CursorsStatements } from '../rsql/internal.js';
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

/**
 * The operator commands on a cursors table, through rsql's own statements for it (the dialect's
 * SQL, quoting and placeholders); the names are checked as command-line flags first.
 */
export class CursorsSql {
  readonly #db: Db;
  readonly #statements: CursorsStatements;

  /** `cursorType` types the written cursor (PostgreSQL casts the parameter to the column's type). */
  constructor(db: Db, names: CursorsTableNames, cursorType: 'int' | 'string' = 'string') {
    this.#db = db;
    this.#statements = db.dialect.cursorsStatements({
      table: checkIdentifier(names.table, '--table'),
      id: checkIdentifier(names.idField, '--id-field'),
      cursor: checkIdentifier(names.cursorField, '--cursor-field'),
      updatedAt: checkIdentifier(names.timeField, '--time-field'),
      cursorType,
    });
  }

  async list(): Promise<CursorRow[]> {
    return (await this.#db.executor.query(this.#statements.selectAll)).map(toRow);
  }

  async get(consumer: string): Promise<CursorRow | undefined> {
    const row = (await this.#db.executor.query(this.#statements.selectRow, [consumer]))[0];
    return row === undefined ? undefined : toRow(row);
  }

  /** Writes the cursor whatever it was, creating the row when there is none. */
  async set(consumer: string, cursor: string): Promise<void> {
    const ex = this.#db.executor;
    const { affectedRows } = await ex.execute(this.#statements.set, [cursor, consumer]);
    if (affectedRows > 0) return;
    await ex.execute(this.#statements.insertIfAbsent, [consumer, cursor]);
  }

  /** Deletes the consumer's row: its next run starts from the beginning (or the head, bootstrapped). */
  async reset(consumer: string): Promise<boolean> {
    return (await this.#db.executor.execute(this.#statements.delete, [consumer])).affectedRows > 0;
  }
}

function toRow(r: readonly unknown[]): CursorRow {
  return { consumer: String(r[0]), cursor: String(r[1] ?? ''), updatedAt: toDate(r[2]) };
}
