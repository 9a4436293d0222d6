import type { MetricsRegistry } from '../core/index.js';
import {
  type CursorStore,
  ErrorCode,
  type Logger,
  noopLogger,
  ReflexError,
} from '../core/index.js';
import { parseIntCursor } from '../core/internal.js';
import { invalidArgument } from '../internal/errors.js';
import { checkOptionKeys, intOption } from '../internal/options.js';
import { settled } from '../internal/settled.js';
import type { CursorsSchema, CursorsStatements, Dialect, SqlValue } from './dialect.js';
import { RsqlErrorCode } from './error-codes.js';
import { TableGuard } from './exact-schema.js';
import { bindHandle, databaseError, insertIfAbsent } from './handles.js';
import { validateIdentifier } from './identifiers.js';
import { cursorSetCounter } from './metrics.js';
import type { SqlDatabase } from './sql-handle.js';
import { checkRowName, requireWellFormed } from './text.js';

/** Options of {@link newCursorsTable}. */
export interface CursorsTableOptions {
  /** The primary key column: the consumer name. @default 'id' */
  readonly idColumn?: string;
  /** @default 'last_event_id' */
  readonly cursorColumn?: string;
  /** @default 'updated_at' */
  readonly updatedAtColumn?: string;
  /**
   * `'int'`: cursors are non-negative integers compared numerically (also on a text column);
   * `'string'`: any string, compared byte-wise. @default 'int'
   */
  readonly cursorType?: 'int' | 'string';
  /** Prometheus registry for `reflex_cursors_table_set_total`. @default undefined */
  readonly registry?: MetricsRegistry;
  /** Where failed background flushes are reported. @default noopLogger */
  readonly logger?: Logger;
}

/** Options of {@link CursorsTable.toStore}. */
export interface CursorStoreOptions {
  /**
   * Async mode when > 0: `setCursor` buffers (last write wins per consumer) and every period all
   * pending cursors are written in one statement; 0 = every `setCursor` writes at once.
   * @default 5000
   */
  readonly asyncPeriodMs?: number;
  /**
   * Async mode: also flush as soon as this many cursors were set since the last flush, so the
   * events that may come again after a crash are bounded by count as well as by time.
   * @default 10000
   */
  readonly asyncFlushEvents?: number;
}

/** A cursor store over a cursors table: a {@link CursorStore} with a lifecycle. */
export interface SqlCursorStore extends CursorStore {
  /** Flushes what is pending and stops the flush timer. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A cursors table: one row per consumer with its cursor, which only ever increases.
 */
export interface CursorsTable {
  readonly name: string;
  readonly schema: CursorsSchema;
  /** The stored cursor of `consumer`, or '' when it has none. */
  getCursor(db: SqlDatabase, consumer: string): Promise<string>;
  /**
   * Writes `cursor` for `consumer` now. It must be greater than the stored one: equal is a no-op,
   * lower an `ERR_REFLEX_CURSOR_NOT_INCREASING` error; a malformed int cursor is
   * `ERR_REFLEX_INVALID_CURSOR`.
   */
  setCursor(db: SqlDatabase, consumer: string, cursor: string): Promise<void>;
  /**
   * A CursorStore on `db`, async by default (writes coalesced and flushed every 5 s in one
   * statement; a failed flush keeps its cursors for the next). Close it (or let `run` flush it).
   * @example
   * const store = cursors.toStore(pool);
   * await run(newSpec(events.toStream(pool), store, consumer));
   */
  toStore(db: SqlDatabase, options?: CursorStoreOptions): SqlCursorStore;
  /** Creates the table when missing (idempotent). */
  createTable(db: SqlDatabase): Promise<void>;
}

/**
 * A validated cursor: int cursors are kept as canonical decimal text (compared by length, then
 * text). A plain string, so buffering one costs no allocation; the table's cursorType says which.
 */
type Cursor = string;

/**
 * A canonical non-negative integer of at most 18 digits: always within int64, no BigInt needed.
 * A loop rather than a regular expression: it runs once per event in a catch-up, ~2× faster.
 */
function isShortInt(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 18) return false;
  if (s.charCodeAt(0) === 48) return n === 1; // '0' alone; no leading zeros
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Defines a cursors table (names validated; nothing is queried until used). */
export function newCursorsTable(name: string, options?: CursorsTableOptions): CursorsTable {
  checkOptionKeys(
    options,
    ['idColumn', 'cursorColumn', 'updatedAtColumn', 'cursorType', 'registry', 'logger'],
    'cursors table',
  );
  const o = options ?? {};
  const cursorType = o.cursorType ?? 'int';
  if (cursorType !== 'int' && cursorType !== 'string') {
    throw invalidArgument(`cursorType must be 'int' or 'string'`);
  }
  const schema: CursorsSchema = Object.freeze({
    table: validateIdentifier(name, 'table name', true),
    id: validateIdentifier(o.idColumn ?? 'id', 'idColumn'),
    cursor: validateIdentifier(o.cursorColumn ?? 'last_event_id', 'cursorColumn'),
    updatedAt: validateIdentifier(o.updatedAtColumn ?? 'updated_at', 'updatedAtColumn'),
    cursorType,
  });
  const counter = o.registry === undefined ? () => {} : cursorSetCounter(o.registry, schema.table);
  return new SqlCursorsTable(schema, counter, o.logger ?? noopLogger);
}

/** The cursors table's implementation (the leases table writes fenced cursors through it). */
export class SqlCursorsTable implements CursorsTable {
  readonly name: string;
  readonly schema: CursorsSchema;
  readonly #statements = new Map<Dialect, CursorsStatements>();
  /** Counts cursor writes (the cursor-set metric). */
  readonly countSets: (n: number) => void;
  readonly logger: Logger;
  /** True for int cursors. */
  readonly intCursors: boolean;
  /** Refuses, once per handle, a table that would let two consumers share a row. */
  readonly guard: TableGuard;

  constructor(schema: CursorsSchema, count: (n: number) => void, logger: Logger) {
    this.name = schema.table;
    this.schema = schema;
    this.countSets = count;
    this.logger = logger;
    this.intCursors = schema.cursorType === 'int';
    this.guard = new TableGuard(
      `cursors table ${schema.table}`,
      schema.table,
      [
        { name: schema.id, role: 'name' },
        { name: schema.cursor, role: this.intCursors ? 'int-cursor' : 'string-cursor' },
      ],
      `\`reflex migrate <db-url> --cursors ${schema.table}${this.intCursors ? '' : ' --cursor-type string'}\``,
    );
  }

  statementsOf(dialect: Dialect): CursorsStatements {
    let s = this.#statements.get(dialect);
    if (s === undefined) {
      s = dialect.cursorsStatements(this.schema);
      this.#statements.set(dialect, s);
    }
    return s;
  }

  parse(cursor: unknown): Cursor {
    if (typeof cursor !== 'string') throw invalidArgument('cursor must be a string');
    if (!this.intCursors) {
      if (cursor.length > 255) {
        throw new ReflexError(ErrorCode.invalidCursor, 'cursor longer than 255 characters');
      }
      return requireWellFormed(cursor, 'cursor');
    }
    if (isShortInt(cursor)) return cursor;
    if (cursor === '') throw new ReflexError(ErrorCode.invalidCursor, 'cursor must not be empty');
    return parseIntCursor(cursor).toString();
  }

  bindValue(c: Cursor): SqlValue {
    // Int cursors are bound as integers (never strings or doubles) so a text column compares
    // numerically too.
    return this.intCursors ? BigInt(c) : c;
  }

  async getCursor(db: SqlDatabase, consumer: string): Promise<string> {
    checkConsumer(consumer);
    const { dialect, executor } = bindHandle(db);
    await this.guard.check(db);
    try {
      const rows = await executor.query(this.statementsOf(dialect).select, [consumer]);
      const v = rows[0]?.[0];
      if (v === undefined || v === null) return '';
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'bigint') return String(v);
      return String(v);
    } catch (err) {
      throw databaseError(dialect, err, `cursors table ${this.name}: get ${consumer}`);
    }
  }

  async setCursor(db: SqlDatabase, consumer: string, cursor: string): Promise<void> {
    checkConsumer(consumer);
    const c = this.parse(cursor);
    const { dialect, executor } = bindHandle(db);
    const s = this.statementsOf(dialect);
    const v = this.bindValue(c);
    await this.guard.check(db);
    let stored: unknown;
    try {
      if ((await executor.execute(s.updateIfGreater, [v, consumer, v])).affectedRows > 0) {
        this.countSets(1);
        return;
      }
      if (await insertIfAbsent(dialect, () => executor.execute(s.insertIfAbsent, [consumer, v]))) {
        this.countSets(1);
        return;
      }
      stored = (await executor.query(s.select, [consumer]))[0]?.[0];
    } catch (err) {
      throw databaseError(dialect, err, `cursors table ${this.name}: set ${consumer}`);
    }
    const storedText = stored === null || stored === undefined ? '' : String(stored);
    if (this.same(storedText, c)) return;
    throw new ReflexError(
      RsqlErrorCode.cursorNotIncreasing,
      `cursors table ${this.name}: attempted to set cursor ${c} of ${consumer} below the stored ${storedText}`,
    );
  }

  same(stored: string, c: Cursor): boolean {
    if (!this.intCursors) return stored === c;
    try {
      return BigInt(stored) === BigInt(c);
    } catch {
      return false;
    }
  }

  toStore(db: SqlDatabase, options?: CursorStoreOptions): SqlCursorStore {
    checkOptionKeys(options, ['asyncPeriodMs', 'asyncFlushEvents'], 'cursor store');
    const period = intOption(options?.asyncPeriodMs, 'asyncPeriodMs', 5000, 0, 3_600_000);
    const flushEvents = intOption(options?.asyncFlushEvents, 'asyncFlushEvents', 10_000, 1);
    bindHandle(db); // validates the handle now
    return new TableCursorStore(this, db, period, flushEvents);
  }

  async createTable(db: SqlDatabase): Promise<void> {
    const { dialect, executor } = bindHandle(db);
    try {
      for (const sql of this.statementsOf(dialect).createTable) await executor.execute(sql);
      // An existing table of an older version: names made exact (see exact-schema.ts).
      await this.guard.convert(db);
    } catch (err) {
      throw databaseError(dialect, err, `cursors table ${this.name}: create table`);
    }
  }
}

function checkConsumer(consumer: unknown): void {
  checkRowName(consumer, 'consumer name');
}

function compare(x: Cursor, y: Cursor, int: boolean): number {
  // Canonical decimal integers: the longer is greater; equal lengths compare as text.
  if (int && x.length !== y.length) return x.length > y.length ? 1 : -1;
  return x > y ? 1 : x < y ? -1 : 0;
}

const maxRowsPerStatement = 500;

/** A consumer's cursor in an async store; `pending` while it waits for a flush. */
interface Slot {
  last: Cursor;
  pending: boolean;
}

class TableCursorStore implements SqlCursorStore {
  readonly #table: SqlCursorsTable;
  readonly #db: SqlDatabase;
  readonly #period: number;
  readonly #flushEvents: number;
  /** Cursors set since the last flush began: a flush starts when it reaches #flushEvents. */
  #setsSinceFlush = 0;
  /** Per consumer: the last cursor set through this store (the monotonic check). */
  readonly #slots = new Map<string, Slot>();
  /** The slots set since the last flush began: what the next flush writes. */
  #pending = new Map<string, Slot>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(table: SqlCursorsTable, db: SqlDatabase, period: number, flushEvents: number) {
    this.#table = table;
    this.#db = db;
    this.#period = period;
    this.#flushEvents = flushEvents;
  }

  getCursor(name: string): Promise<string> {
    // A cursor set here and not yet written (a flush failed, or is due) is the newest one: a run
    // restarted on this store resumes after it, rather than replay events it would then refuse
    // to set (lower than its own last cursor).
    const slot = this.#slots.get(name);
    if (slot?.pending === true) return Promise.resolve(slot.last);
    return this.#table.getCursor(this.#db, name);
  }

  setCursor(name: string, cursor: string): Promise<void> {
    try {
      checkConsumer(name);
      if (this.#closed) {
        // Refused rather than buffered: nothing would ever flush it.
        throw new ReflexError(ErrorCode.closed, `cursor store of ${this.#table.name} is closed`);
      }
      if (this.#period === 0) return this.#table.setCursor(this.#db, name, cursor);
      this.#buffer(name, cursor);
      // Buffered in place: no promise of our own (see `settled`).
      return settled;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #buffer(name: string, cursor: string): void {
    const c = this.#table.parse(cursor);
    const slot = this.#slots.get(name);
    if (slot === undefined) {
      const fresh = { last: c, pending: true };
      this.#slots.set(name, fresh);
      this.#pending.set(name, fresh);
      this.#arm();
      this.#countSet();
      return;
    }
    const cmp = compare(c, slot.last, this.#table.intCursors);
    if (cmp === 0) return;
    if (cmp < 0) {
      throw new ReflexError(
        RsqlErrorCode.cursorNotIncreasing,
        `cursors table ${this.#table.name}: attempted to set cursor ${c} of ${name} below ${slot.last}`,
      );
    }
    slot.last = c;
    // Per event, a catch-up only updates the slot; the maps change once per flush period.
    if (!slot.pending) {
      slot.pending = true;
      this.#pending.set(name, slot);
      this.#arm();
    }
    this.#countSet();
  }

  #countSet(): void {
    if (++this.#setsSinceFlush >= this.#flushEvents) {
      this.#setsSinceFlush = 0;
      this.#flushInBackground();
    }
  }

  /**
   * Starts the flush timer when cursors are pending. It runs only while something is pending: a
   * flush that takes everything stops it, so a process whose cursors were all written can exit.
   */
  #arm(): void {
    if (this.#timer !== undefined || this.#closed || this.#pending.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushInBackground();
    }, this.#period);
  }

  /** A flush nobody awaits: a failure is logged, and its cursors wait for the re-armed timer. */
  #flushInBackground(): void {
    this.flush().catch((err: unknown) => {
      this.#table.logger.warn('cursor flush failed; cursors kept for the next flush', {
        table: this.#table.name,
        error: err,
      });
    });
  }

  /** Writes every pending cursor, in one statement per 500 consumers. */
  flush(): Promise<void> {
    // One flush at a time; a flush asked for during one runs after it.
    const previous = this.#flushing ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.#flushNow());
    this.#flushing = next;
    return next.finally(() => {
      if (this.#flushing === next) this.#flushing = undefined;
    });
  }

  async #flushNow(): Promise<void> {
    if (this.#pending.size === 0) return;
    const { dialect, executor } = bindHandle(this.#db);
    // Before the batch is taken: a refused table keeps every cursor pending.
    await this.#table.guard.check(this.#db);
    const batch = this.#pending;
    this.#pending = new Map();
    this.#setsSinceFlush = 0;
    // Nothing is pending now: the timer is re-armed by the next set, or below on failure.
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    // What is written is each slot's cursor now; a later set marks its slot pending again.
    const entries: [string, Cursor][] = [];
    for (const [name, slot] of batch) {
      slot.pending = false;
      entries.push([name, slot.last]);
    }
    const s = this.#table.statementsOf(dialect);
    try {
      for (let i = 0; i < entries.length; i += maxRowsPerStatement) {
        const part = entries.slice(i, i + maxRowsPerStatement);
        const params: SqlValue[] = [];
        for (const [name, c] of part) params.push(name, this.#table.bindValue(c));
        await executor.execute(s.upsertGreatest(part.length), params);
        this.#table.countSets(part.length);
        for (const [name] of part) batch.delete(name);
      }
    } catch (err) {
      // What was not written stays pending (with the newest cursor of its slot).
      for (const [name, slot] of batch) {
        if (!slot.pending) {
          slot.pending = true;
          this.#pending.set(name, slot);
        }
      }
      this.#arm();
      throw databaseError(dialect, err, `cursors table ${this.#table.name}: flush`);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
