import { ReflexError } from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import type { ColumnInfo, ExactColumn } from './dialect.js';
import { RsqlErrorCode } from './error-codes.js';
import { type BoundHandle, bindHandle, databaseError } from './handles.js';

/** What a column of a cursors or errors table must do. */
export interface ColumnNeed {
  readonly name: string;
  /**
   * `'name'`: a key compared byte for byte (consumer names, event ids); `'text'`: free text that
   * must be stored whole (a dead-letter message); `'int-cursor'` / `'string-cursor'`: the cursor
   * column of a cursors table of that cursor type.
   */
  readonly role: 'name' | 'text' | 'int-cursor' | 'string-cursor';
}

/** The largest message MEDIUMTEXT holds; a smaller text column is converted by `createTable`. */
const mediumTextBytes = 16_777_215;

/** How a table falls short: columns to convert, and a refusal when one cannot be converted. */
interface Findings {
  /** Columns that bend names (refused at start, converted by createTable). */
  readonly inexact: ExactColumn[];
  /** Text columns smaller than a MEDIUMTEXT (converted by createTable, not refused). */
  readonly small: ExactColumn[];
  /** Set when the table's types contradict the options (a string cursor type on an int column). */
  readonly mismatch: string | undefined;
}

function inspect(
  columns: ReadonlyMap<string, ColumnInfo>,
  needs: readonly ColumnNeed[],
  what: string,
): Findings {
  const inexact: ExactColumn[] = [];
  const small: ExactColumn[] = [];
  let mismatch: string | undefined;
  for (const need of needs) {
    const info = columns.get(need.name.toLowerCase());
    if (info === undefined) continue; // the statements fail with a clear schema error
    switch (need.role) {
      case 'name':
        if (!info.exact) inexact.push({ name: need.name, kind: 'name', info });
        break;
      case 'string-cursor':
        if (info.integer) {
          mismatch =
            `${what}: column ${need.name} is ${info.type}, an integer column, but the table is ` +
            `defined with cursorType 'string': a string cursor cannot be stored in it ` +
            `(use cursorType 'int', or --cursor-type int)`;
        } else if (!info.exact) {
          inexact.push({ name: need.name, kind: 'name', info });
        }
        break;
      case 'text':
        if (!info.integer && info.maxBytes !== undefined && info.maxBytes < mediumTextBytes) {
          small.push({ name: need.name, kind: 'text', info });
        }
        break;
      case 'int-cursor':
        break;
    }
  }
  return { inexact, small, mismatch };
}

/**
 * Checks, once per handle, that a cursors or errors table stores and compares names exactly and
 * that the session refuses what a column cannot hold (MySQL strict mode): otherwise consumers
 * `mailer` and `Mailer ` would share a cursor, or a cursor be stored as 0. A refusal is not cached:
 * after `createTable` (or `reflex migrate`) converted the table, the next call checks again.
 */
export class TableGuard {
  readonly #what: string;
  readonly #table: string;
  readonly #needs: readonly ColumnNeed[];
  readonly #fix: string;
  readonly #checked = new WeakMap<object, Promise<ReadonlyMap<string, ColumnInfo> | undefined>>();

  /**
   * @param what the table in messages ('cursors table x')
   * @param fix how to convert it, for the message ('`reflex migrate <db-url> --cursors x`')
   */
  constructor(what: string, table: string, needs: readonly ColumnNeed[], fix: string) {
    this.#what = what;
    this.#table = table;
    this.#needs = needs;
    this.#fix = fix;
  }

  /**
   * `db` is the key the check is remembered by; `bound` its dialect and executor (a tool's
   * transaction object gives its own). Resolves with the table's columns (undefined for a dialect that does not describe tables, or
   * a table that does not exist yet), or rejects with `ERR_REFLEX_UNSAFE_SCHEMA` /
   * `ERR_REFLEX_INVALID_ARGUMENT`.
   */
  check(
    db: object,
    bound: BoundHandle = bindHandle(db),
  ): Promise<ReadonlyMap<string, ColumnInfo> | undefined> {
    const key = db;
    let p = this.#checked.get(key);
    if (p === undefined) {
      const run = this.#run(bound);
      p = run;
      this.#checked.set(key, run);
      run.then(
        (columns) => {
          // A missing table is checked again once it exists.
          if (columns === undefined && this.#checked.get(key) === run) this.#checked.delete(key);
        },
        () => {
          if (this.#checked.get(key) === run) this.#checked.delete(key);
        },
      );
    }
    return p;
  }

  async #run({
    dialect,
    executor,
  }: BoundHandle): Promise<ReadonlyMap<string, ColumnInfo> | undefined> {
    if (dialect.describeTable === undefined && dialect.sessionProblem === undefined) {
      return undefined;
    }
    let columns: ReadonlyMap<string, ColumnInfo> | undefined;
    let session: string | undefined;
    try {
      columns = await dialect.describeTable?.(executor, this.#table);
      session = await dialect.sessionProblem?.(executor);
    } catch (err) {
      throw databaseError(dialect, err, `${this.#what}: checking the table`);
    }
    if (session !== undefined) {
      throw new ReflexError(RsqlErrorCode.unsafeSchema, `${this.#what}: ${session}`);
    }
    if (columns === undefined) return undefined;
    const found = inspect(columns, this.#needs, this.#what);
    if (found.mismatch !== undefined) throw invalidArgument(found.mismatch);
    if (found.inexact.length > 0) {
      const list = found.inexact.map((c) => `${c.name} (${c.info.type})`).join(', ');
      throw new ReflexError(
        RsqlErrorCode.unsafeSchema,
        `${this.#what}: ${list} compare${found.inexact.length === 1 ? 's' : ''} names inexactly ` +
          `(a case-, accent- or pad-insensitive collation): consumers such as 'mailer', 'Mailer', ` +
          `'mailer ' and 'mäiler' would share one row. Convert the table (ALTER TABLE … MODIFY … ` +
          `VARBINARY(1020)): createTable() on it does, as does ${this.#fix}`,
      );
    }
    return columns;
  }

  /**
   * Converts an existing table's columns that bend names (and messages smaller than MEDIUMTEXT),
   * after `CREATE TABLE IF NOT EXISTS`. Refuses a table whose types contradict the options.
   */
  async convert(db: unknown): Promise<void> {
    const { dialect, executor } = bindHandle(db);
    // What was checked before describes the table as it was.
    this.#checked.delete(db as object);
    if (dialect.describeTable === undefined) return;
    const columns = await dialect.describeTable(executor, this.#table);
    if (columns === undefined) return;
    const found = inspect(columns, this.#needs, this.#what);
    if (found.mismatch !== undefined) throw invalidArgument(found.mismatch);
    const todo = [...found.inexact, ...found.small];
    if (todo.length === 0 || dialect.exactColumnsStatements === undefined) return;
    for (const sql of dialect.exactColumnsStatements(this.#table, todo)) {
      await executor.execute(sql);
    }
  }
}
