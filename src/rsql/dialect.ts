import type { Logger } from '../core/index.js';

/**
 * The contract between the SQL tables (events, cursors, errors) and one database driver.
 *
 * Everything dialect-specific lives behind this interface: recognising the user's handle,
 * running statements on it, quoting, the text of every statement, decoding column values,
 * classifying driver errors, and the strategy that decides what to do about a gap in the ids.
 * The tables, the shared loader and the streams are written once against it. See DIALECTS.md.
 *
 * Stability: this file is the interface other dialect folders (`postgres/`) implement. Change it
 * only additively, and say so in the commit message.
 */

/** A value bound to a statement parameter. `Uint8Array` is a BLOB/BYTEA, `bigint` an exact int64. */
export type SqlValue = string | number | bigint | Uint8Array | null;

/** What a data-changing statement reports. */
export interface ExecResult {
  /** Rows inserted, updated or deleted (for an UPDATE: rows that matched its WHERE clause). */
  readonly affectedRows: number;
}

/**
 * Runs statements on a handle. For a pool each call may use another connection; inside
 * {@link Dialect.transaction} every call runs on the transaction's connection.
 */
export interface Executor {
  /** Runs a SELECT; rows come back as arrays, columns in SELECT order, values as the driver gives them. */
  query(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]>;
  /** Runs an INSERT/UPDATE/DELETE/DDL statement. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<ExecResult>;
}

/** Transaction options a dialect may honour. */
export interface TransactionOptions {
  /**
   * Run at READ UNCOMMITTED (the MySQL gap check). Dialects without that level ignore it.
   * @default false
   */
  readonly readUncommitted?: boolean;
}

/** How a driver error is classified; undefined when it is none of these. */
export type DriverErrorKind =
  /** A unique/primary key violation (mysql2 `ER_DUP_ENTRY`, SQLite `SQLITE_CONSTRAINT_PRIMARYKEY|UNIQUE`, pg 23505). */
  | 'duplicate'
  /** The pool/connection/database is closed or the connection was lost. */
  | 'closed'
  /** The database is locked or a lock wait timed out / deadlocked: retrying later may work. */
  | 'busy'
  /** A table or column does not exist. */
  | 'schema'
  /**
   * A value the column cannot hold as given (MySQL strict mode: text into an integer column, too
   * long for the column; pg 22P02/22001/22003/42804). Added with the exact-storage work; additive.
   */
  | 'data';

/**
 * One column of an existing table as {@link Dialect.describeTable} reads it. Added with the
 * exact-storage work (issue 14); additive.
 */
export interface ColumnInfo {
  /** The column type as the database prints it (for messages). */
  readonly type: string;
  /** An integer column. */
  readonly integer: boolean;
  /**
   * True when text is stored and compared byte for byte: no case, accent or trailing-space
   * folding, and a character set that holds every string (integer and binary columns are).
   */
  readonly exact: boolean;
  /** The most bytes a value may take; undefined when not known or unbounded. */
  readonly maxBytes?: number | undefined;
  /** The character set of a text column (MySQL), for conversions. */
  readonly charset?: string | undefined;
}

/** What an exact column holds: a name or key (`'name'`), or free text such as a message (`'text'`). */
export interface ExactColumn {
  readonly name: string;
  readonly kind: 'name' | 'text';
  /** The column as it is now. */
  readonly info: ColumnInfo;
}

/** The resolved names of an events table: every identifier validated, not yet quoted. */
export interface EventsSchema {
  readonly table: string;
  readonly id: string;
  readonly foreignId: string;
  readonly timestamp: string;
  readonly type: string;
  /** Undefined when the table has no metadata column. */
  readonly metadata?: string | undefined;
  /** Undefined when the table has no trace column. */
  readonly trace?: string | undefined;
  /** The SQL type of the foreign id column `createTable` uses. @default 'string' */
  readonly foreignIdType: 'string' | 'int';
  /**
   * Cross-process wake-ups by the database itself (SQLite: a watch of its file; PostgreSQL:
   * NOTIFY in the writer's transaction, LISTEN in the loader). Only a hint: streams poll
   * regardless. Undefined: the dialect's default ({@link Dialect.wakeupsByDefault}).
   */
  readonly notify?: boolean | undefined;
}

/**
 * A running source of wake-ups for a loader (a LISTEN connection); `close` stops it for good and
 * settles once its connection is ended.
 */
export interface WakeupSource {
  close(): Promise<void> | void;
}

/**
 * The statements of an events table, built once per table and dialect (cached SQL text).
 * Placeholders are the dialect's own (`?` or `$n`); the parameter order is fixed here.
 */
export interface EventsStatements {
  /** Inserts one event. Params: foreignId, type, [metadata if configured], [trace if configured]. The timestamp is the DB clock. */
  readonly insert: string;
  /** Inserts a noop (foreign id '0', type 0, DB time) with an explicit id. Params: id. */
  readonly insertNoop: string;
  /**
   * Selects events with id > prev in id order. Params: prev, limit. Columns, in order: id,
   * foreignId, timestamp, type, then those of {@link optionalEventColumns}.
   */
  readonly selectAfter: string;
  /** Selects the ids in (after, before) exclusive. Params: after, before. One column: id. */
  readonly selectIdsBetween: string;
  /** Selects MAX(id), NULL/0 when empty. No params. */
  readonly maxId: string;
  /** The DDL of `createTable`, run in order; each must be idempotent (IF NOT EXISTS). */
  readonly createTable: readonly string[];
}

/** The resolved names of a cursors table. */
export interface CursorsSchema {
  readonly table: string;
  /** Primary key: the consumer name. */
  readonly id: string;
  readonly cursor: string;
  readonly updatedAt: string;
  /** int cursors compare numerically, string cursors by the column's ordering. */
  readonly cursorType: 'int' | 'string';
}

/** The statements of a cursors table. */
export interface CursorsStatements {
  /** Params: consumer. One column: the cursor as text (exact for int64). */
  readonly select: string;
  /** Updates only when the stored cursor is strictly smaller. Params: cursor, consumer, cursor. */
  readonly updateIfGreater: string;
  /**
   * Inserts the row unless it exists: on a conflict it inserts nothing (affectedRows 0) or fails
   * with a `'duplicate'` error (MySQL, see {@link ErrorsStatements.insertIfAbsent}).
   * Params: consumer, cursor.
   */
  readonly insertIfAbsent: string;
  /**
   * One statement that upserts `n` rows, each only raising the stored cursor (never lowering it).
   * Params: consumer1, cursor1, consumer2, cursor2, …
   */
  upsertGreatest(n: number): string;
  /**
   * Every row in consumer order, for operators (`reflex cursors`, `reflex lag`). No params.
   * Columns: consumer, the cursor as text (exact for int64), updatedAt as integer ms since the
   * epoch. Added for the CLI (issue 19); additive.
   */
  readonly selectAll: string;
  /** As {@link selectAll}, one consumer's row. Params: consumer. */
  readonly selectRow: string;
  /**
   * Sets a consumer's cursor whatever it was (an operator moving it back), and its updatedAt to
   * the database clock. Params: cursor, consumer. Added for the CLI; additive.
   */
  readonly set: string;
  /** Deletes a consumer's row. Params: consumer. Added for the CLI; additive. */
  readonly delete: string;
  readonly createTable: readonly string[];
}

/** The resolved names of a leases table (the columns are fixed: see docs/scaling.md). */
export interface LeasesSchema {
  readonly table: string;
}

/**
 * The statements of a leases table. Rows are keyed by (group, key): the key is `#group` for the
 * group's row (its shard count), `shard:<n>` for a shard's lease, `member:<id>` for a member's
 * registration. Times (`expires_at`) are ms on the database's clock; `periodMs` params are added
 * to it. Placeholders are the dialect's own, in the parameter order given here.
 */
export interface LeasesStatements {
  /** Inserts `n` rows unless present. Params per row: group, key, shardCount. */
  insertAbsent(n: number): string;
  /** Params: group. One column: the group row's shard count. */
  readonly selectShardCount: string;
  /** Registers (or re-registers) a member. Params: group, key, memberId, periodMs. */
  readonly upsertMember: string;
  /**
   * Extends every live row held by a member (its registration and its shards) by the period.
   * Params: periodMs, group, memberId.
   */
  readonly renew: string;
  /** Params: group. Columns: key, holder, token, live (1/0). */
  readonly selectGroup: string;
  /** No params. Columns: group, key, holder, live (1/0), shard count: every row (status views). */
  readonly selectAll: string;
  /**
   * Takes `n` shard rows that are free or expired, incrementing their token.
   * Params: memberId, periodMs, group, key1..keyN.
   */
  acquire(n: number): string;
  /** Params: group, memberId. Columns: key, token: the live shard leases of a member. */
  readonly selectHeld: string;
  /** Frees `n` shard rows held by a member. Params: group, memberId, key1..keyN. */
  release(n: number): string;
  /** Frees every row of a member (registration included). Params: group, memberId. */
  readonly releaseAll: string;
  /** Deletes member rows expired for longer than a grace. Params: group, graceMs. */
  readonly purgeMembers: string;
  /** Params: group, key, memberId, token. One row when that lease is live. */
  readonly leaseLive: string;
  /**
   * Writes a cursor only while a lease is live with the given token, in one statement (an upsert
   * whose rows come from the lease row): only raises the stored cursor.
   * Params: consumer, cursor, group, key, memberId, token.
   */
  fencedUpsert(cursors: CursorsSchema): string;
  readonly createTable: readonly string[];
}

/** The resolved names of a consumer errors table and its error events table. */
export interface ErrorsSchema {
  readonly table: string;
  readonly id: string;
  readonly consumer: string;
  readonly eventId: string;
  readonly message: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly status: string;
}

/** The statements of a consumer errors table. */
export interface ErrorsStatements {
  /**
   * Inserts an error row unless (consumer, eventId) exists: on a conflict it inserts nothing
   * (affectedRows 0) or fails with a `'duplicate'` error (MySQL: a plain INSERT, because INSERT
   * IGNORE also turns data errors into warnings). Params: consumer, eventId, message, status.
   */
  readonly insertIfAbsent: string;
  /** Params: consumer, eventId. One column: id. */
  readonly selectId: string;
  readonly createTable: readonly string[];
}

/** A run of missing ids: every id in (after, before) exclusive is absent from what was read. */
export interface Gap {
  /** The last id read before the hole (0 when the stream starts at the beginning). */
  readonly after: number;
  /** The first id read after the hole. */
  readonly before: number;
  /** When this hole was first seen (ms since epoch, the loader's clock). */
  readonly firstSeenMs: number;
}

/**
 * What the loader does about a gap:
 * - `'wait'`: an id in it may still commit; keep the streams before the gap and ask again at the next poll.
 * - `'skip'`: no id in it can ever appear (rolled back and filled, or impossible); stream past it.
 * - `'reload'`: something changed (e.g. a row committed meanwhile); re-read from before the gap now.
 */
export type GapVerdict = 'wait' | 'skip' | 'reload';

/** What a gap strategy may use. */
export interface GapContext {
  readonly dialect: Dialect;
  /** The handle the streams read from (a pool or database). */
  readonly handle: unknown;
  readonly executor: Executor;
  readonly schema: EventsSchema;
  readonly statements: EventsStatements;
  readonly logger: Logger;
  /** The loader's clock, ms since epoch. */
  now(): number;
  /** Report noop rows inserted (the `reflex_events_table_gap_filled_total` metric). */
  filled(count: number): void;
  /** Aborts when the loader stops: stop waiting and return. */
  readonly signal: AbortSignal;
}

/**
 * Decides whether a hole in the ids can be streamed past. Called by the single loader of a
 * table (never concurrently for one table), at most once per poll while the gap blocks.
 * It must never answer `'skip'` for a hole where a committed row could still appear: that would
 * lose an event. PostgreSQL resolves with transaction snapshots, MySQL with a READ UNCOMMITTED
 * check and noop fills, SQLite needs nothing (writers are serialised).
 */
export interface GapStrategy {
  resolve(gap: Gap, ctx: GapContext): Promise<GapVerdict>;
  /**
   * Optional: decides about several holes of one loaded batch at once (in id order), one verdict
   * per gap, so their waits overlap instead of adding up. Without it the loader calls `resolve`
   * for each hole in order until the first `'wait'`.
   */
  resolveMany?(gaps: readonly Gap[], ctx: GapContext): Promise<readonly GapVerdict[]>;
}

/** A dialect: one SQL database driver. See DIALECTS.md for how to add one. */
export interface Dialect {
  /** Short lower-case name: 'mysql', 'sqlite', 'postgres'. Used in messages and docs. */
  readonly name: string;
  /**
   * True when `handle` is one of this driver's pools, connections or databases (structural test,
   * no driver import). Must not throw and must not match another dialect's handles.
   */
  accepts(handle: unknown): boolean;
  /** An executor over the handle (pool or connection or database). */
  executor(handle: unknown): Executor;
  /**
   * Runs `fn` in a new transaction on one connection taken from `handle` (released after), and
   * commits, or rolls back when `fn` throws. Used for gap checks and the errors table.
   */
  transaction<T>(
    handle: unknown,
    fn: (ex: Executor) => Promise<T>,
    options?: TransactionOptions,
  ): Promise<T>;
  /**
   * Runs a statement synchronously on the handle, for synchronous drivers (better-sqlite3 inside
   * `db.transaction()`); undefined for asynchronous drivers.
   */
  readonly executeSync?:
    | ((handle: unknown, sql: string, params: readonly SqlValue[]) => ExecResult)
    | undefined;
  /** Quotes a validated identifier (`name` or `name.name` for schema-qualified tables). */
  quote(identifier: string): string;
  /** The statements of an events table. */
  eventsStatements(schema: EventsSchema): EventsStatements;
  /** The statements of a cursors table. */
  cursorsStatements(schema: CursorsSchema): CursorsStatements;
  /** The statements of an errors table. */
  errorsStatements(schema: ErrorsSchema): ErrorsStatements;
  /** The statements of a leases table (added for leased shards; additive). */
  leasesStatements(schema: LeasesSchema): LeasesStatements;
  /** A column value of the id as a number (ids must be safe integers). */
  decodeId(value: unknown): number;
  /** A timestamp column value as a Date. */
  decodeTimestamp(value: unknown): Date;
  /**
   * The exact timestamp of what `selectAfter` selects, as microseconds since the epoch (the
   * precision the databases store); undefined when the value is not a valid time. Optional:
   * without it events carry no `timestampUs`. Added with the exact-timestamp work; additive.
   */
  readonly decodeTimestampUs?: ((value: unknown) => bigint | undefined) | undefined;
  /** Classifies a driver error. */
  classifyError(err: unknown): DriverErrorKind | undefined;
  /**
   * The columns of an existing table by lower-cased name; undefined when it does not exist.
   * Used once per table per handle to refuse a table that would bend names or cursors, and by
   * `createTable` to convert one. Optional (additive).
   */
  readonly describeTable?:
    | ((ex: Executor, table: string) => Promise<ReadonlyMap<string, ColumnInfo> | undefined>)
    | undefined;
  /** The DDL that makes these columns of an existing table exact (run by `createTable`). Optional. */
  readonly exactColumnsStatements?:
    | ((table: string, columns: readonly ExactColumn[]) => readonly string[])
    | undefined;
  /**
   * Why the session would let a statement coerce or truncate data silently (MySQL without strict
   * mode), or undefined when it would not. Checked once per table per handle. Optional.
   */
  readonly sessionProblem?: ((ex: Executor) => Promise<string | undefined>) | undefined;
  /** The gap strategy of this dialect for one events table. */
  gapStrategy(options: GapStrategyOptions): GapStrategy;
  /**
   * Starts cross-process wake-ups for the loader of `schema` on `handle` (called once, when a
   * stream first waits at the head, and only when `schema.notify`, or
   * {@link Dialect.wakeupsByDefault} when it is undefined): `wake` polls now. Optional;
   * undefined when the dialect or the handle has none.
   */
  readonly wakeups?:
    | ((
        handle: unknown,
        schema: EventsSchema,
        wake: () => void,
        logger: Logger,
      ) => WakeupSource | undefined)
    | undefined;
  /**
   * True when `wakeups` runs unless `notify: false` (it costs the writers nothing: SQLite's file
   * watch). Added for the head-latency work; additive.
   */
  readonly wakeupsByDefault?: boolean | undefined;
  /**
   * Statements that make `createTable` durable on this database (SQLite: `PRAGMA synchronous`).
   * Empty when durability is the server's business.
   */
  durabilityStatements(durability: Durability): readonly string[];
}

/** Tuning of a gap strategy, from the events table options. */
export interface GapStrategyOptions {
  /**
   * How long a hole must have been seen, with no row in it even uncommitted, before it is filled
   * (MySQL): covers the instant between an id being allocated and its row being inserted.
   */
  readonly fillDelayMs: number;
  /** Holes larger than this are never filled row by row (see docs/sql-backends.md). */
  readonly maxFillRows: number;
}

/**
 * SQLite durability: `'full'` = `PRAGMA synchronous=FULL` (a committed transaction survives power
 * loss, also in WAL mode); `'normal'` = faster, may lose the last commits on power loss in WAL mode.
 */
export type Durability = 'full' | 'normal';

/**
 * The optional columns at the end of `selectAfter`: metadata at index 4 and trace at index 5,
 * each only when configured (a NULL holds index 4 when only trace is). Unconfigured columns are
 * left out rather than selected as NULL: a catch-up decodes every row, and SQLite reads 4
 * columns ~20% faster than 6.
 */
export function optionalEventColumns(
  s: EventsSchema,
  quote: (identifier: string) => string,
): string {
  if (s.trace !== undefined) {
    return `, ${s.metadata === undefined ? 'NULL' : quote(s.metadata)}, ${quote(s.trace)}`;
  }
  return s.metadata === undefined ? '' : `, ${quote(s.metadata)}`;
}
