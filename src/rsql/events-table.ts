import type { MetricsRegistry } from '../core/index.js';
import {
  activeTrace,
  type Clock,
  ErrorCode,
  type EventType,
  type Logger,
  noopLogger,
  ReflexError,
  type StreamCallOptions,
  type StreamFunc,
  systemClock,
} from '../core/index.js';
import { parseInt64, parseIntCursor, typeNumber } from '../core/internal.js';
import { invalidArgument } from '../internal/errors.js';
import { boolOption, checkOptionKeys, intOption } from '../internal/options.js';
import { validateStreamCall } from '../internal/stream-options.js';
import type { Dialect, Durability, EventsSchema, EventsStatements, SqlValue } from './dialect.js';
import { RsqlErrorCode } from './error-codes.js';
import { bindHandle, bindWriter, databaseError } from './handles.js';
import { validateIdentifier } from './identifiers.js';
import { Loader, type WakeupStarter } from './loader.js';
import {
  EventsCounters,
  type EventsMetrics,
  type EventsTableStats,
  eventsMetrics,
  noEventsMetrics,
} from './metrics.js';
import { type EventsNotifier, HintPublisher } from './notifier.js';
import type { DialectName, OrmHandle } from './orm/index.js';
import type { SqlDatabase, SqlTransaction } from './sql-handle.js';
import { SqlStreamClient } from './stream.js';
import { requireWellFormed } from './text.js';

/** Options of {@link newEventsTable}. Every key is optional; unknown keys are refused. */
export interface EventsTableOptions {
  /** The id column (an auto-increment integer primary key). @default 'id' */
  readonly idColumn?: string;
  /** @default 'foreign_id' */
  readonly foreignIdColumn?: string;
  /** @default 'timestamp' */
  readonly timestampColumn?: string;
  /** @default 'type' */
  readonly typeColumn?: string;
  /** Enables metadata read/write in this column. @default undefined (no metadata) */
  readonly metadataColumn?: string;
  /** Enables storing the writer's span context in this column. @default undefined */
  readonly traceColumn?: string;
  /** The foreign id column type `createTable` uses. @default 'string' */
  readonly foreignIdType?: 'string' | 'int';
  /** Rows per load query. @default 1000 */
  readonly lookupLimit?: number;
  /**
   * How often streams waiting at the head poll the database, in ms: one query per interval per
   * table per handle whatever the number of streams. `insert`'s notify wakes same-process streams
   * at once. @default 50
   */
  readonly pollIntervalMs?: number;
  /** How many of the newest events the shared head cache keeps. @default 10000 */
  readonly cacheSize?: number;
  /** Also stream the noop events that resolve rolled-back ids (foreign id '0', type 0). @default false */
  readonly includeNoops?: boolean;
  /**
   * MySQL: how long an empty hole in the ids must have existed before it is filled with noops,
   * in ms (the time a writer may take between allocating an id and inserting its row).
   * @default 250
   */
  readonly gapFillDelayMs?: number;
  /** MySQL: holes wider than this are skipped once empty, without noop rows. @default 100 */
  readonly maxGapFillRows?: number;
  /**
   * Cross-process wake-ups by the database itself, so streams in other processes wake at once
   * instead of at their next poll. Only a hint: streams poll every `pollIntervalMs` regardless, so
   * nothing is lost with it off or failing. See docs/latency.md.
   * - SQLite (on by default): each loader watches the database's WAL file and checks
   *   `PRAGMA data_version` after each change; after a wake it stops watching for a hint gap
   *   (5–25 ms), so busy writers cost the reader ~40 checks and queries per second.
   * - PostgreSQL (off by default): each `insert` also sends `pg_notify` inside the writer's
   *   transaction (delivered at commit, even by writers that never call `notify()`), and each
   *   loader keeps one LISTEN connection. Costs busy writers much of their throughput: prefer
   *   `notifier: postgresNotifier(pool)`, which notifies after the commit.
   * - MySQL/MariaDB: none; use a `notifier`.
   * @default true on SQLite, false elsewhere
   */
  readonly notify?: boolean;
  /**
   * A cross-process wake-up over infrastructure you already run: {@link natsNotifier},
   * {@link redisNotifier}, {@link postgresNotifier} or your own {@link EventsNotifier}. The
   * writer's `notify()` (what `insert` returns: call it after the commit) publishes a hint, and
   * every loader of the table in any process subscribes and polls at once on one. Only a hint:
   * a lost one costs one poll interval, a duplicated one a query, never an event.
   * @default undefined (none)
   */
  readonly notifier?: EventsNotifier;
  /** Prometheus registry for the `reflex_events_table_*` metrics. @default undefined */
  readonly registry?: MetricsRegistry;
  /** Where background failures (a failed poll) are reported. @default noopLogger */
  readonly logger?: Logger;
  /** The time source (tests). @default systemClock */
  readonly clock?: Clock;
  /**
   * The database `insert` writes to, for transaction handles whose shape does not tell it
   * (a Prisma client); checked against the handle when it does. See docs/orms.md.
   * @default undefined (known from the handle)
   */
  readonly dialect?: DialectName;
}

/**
 * What `insert` takes: the caller's transaction, as the driver's handle (a mysql2 connection, a
 * pg client, a better-sqlite3 database) or as a query builder's or ORM's transaction object
 * (Kysely, knex, Drizzle, TypeORM, Prisma; see docs/orms.md), or a {@link SqlExecutor}.
 */
export type InsertHandle = SqlTransaction | SqlDatabase | OrmHandle;

/** Options of {@link EventsTable.insert}. */
export interface InsertOptions {
  /** The event's metadata; needs `metadataColumn`. */
  readonly metadata?: Uint8Array | null;
}

/** Options of {@link EventsTable.createTable}. */
export interface CreateTableOptions {
  /**
   * SQLite: `'full'` runs `PRAGMA synchronous=FULL` on the handle (a commit survives power loss,
   * also in WAL mode); `'normal'` trades that for speed. Ignored by server databases.
   * @default 'full'
   */
  readonly durability?: Durability;
}

/**
 * Wakes this process's streams of the table, and those of other processes through the table's
 * `notifier`; call it after the transaction committed. Never throws, never waits.
 */
export type NotifyFunc = () => void;

/**
 * An events table: write events in the caller's transaction, stream them in id order with no
 * committed event skipped.
 */
export interface EventsTable {
  /** The table name. */
  readonly name: string;
  /** The resolved column names. */
  readonly schema: EventsSchema;
  /**
   * Inserts one event with one statement in the caller's transaction `tx` (a mysql2 connection
   * with an open transaction, a better-sqlite3 database…) and returns a function that wakes this
   * process's streams: call it after the commit. The noop marker (foreign id '0' and type 0),
   * metadata without a metadata column and a closed handle are `ReflexError`s; nothing is written.
   * On SQLite inside `db.transaction(fn)` (synchronous) use {@link EventsTable.insertSync}.
   * @example
   * const conn = await pool.getConnection();
   * await conn.beginTransaction();
   * await conn.query('UPDATE users SET name = ? WHERE id = ?', [name, id]);
   * const notify = await events.insert(conn, String(id), UserEvent.renamed);
   * await conn.commit();
   * notify();
   */
  insert(
    tx: InsertHandle,
    foreignId: string | number | bigint,
    type: EventType,
    options?: InsertOptions,
  ): Promise<NotifyFunc>;
  /** {@link EventsTable.insert} for synchronous drivers (better-sqlite3), usable inside `db.transaction()`. */
  insertSync(
    tx: InsertHandle,
    foreignId: string | number | bigint,
    type: EventType,
    options?: InsertOptions,
  ): NotifyFunc;
  /**
   * A StreamFunc over `db` (a pool or database). All streams of the table on `db` share one
   * loader. `defaults` are stream options applied to every call (call options win).
   * @example
   * const stream = events.toStream(pool);
   * for await (const e of await stream('', { toHead: true })) console.log(e.id);
   */
  toStream(db: SqlDatabase, defaults?: StreamCallOptions): StreamFunc;
  /** Creates the table when missing (idempotent), with the default schema of the dialect. */
  createTable(db: SqlDatabase, options?: CreateTableOptions): Promise<void>;
  /**
   * Wakes this process's streams of the table now, and publishes a hint to the other processes'
   * when the table has a `notifier` (what `insert`'s notify does).
   */
  notify(): void;
  /** Counters of the table's loaders (queries run, rows loaded, cache hits, gaps…). */
  stats(): EventsTableStats;
  /** Stops every loader of the table: pending reads fail with `ERR_REFLEX_STOPPED`, nothing keeps running. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const knownOptions = [
  'idColumn',
  'foreignIdColumn',
  'timestampColumn',
  'typeColumn',
  'metadataColumn',
  'traceColumn',
  'foreignIdType',
  'lookupLimit',
  'pollIntervalMs',
  'cacheSize',
  'includeNoops',
  'gapFillDelayMs',
  'maxGapFillRows',
  'notify',
  'notifier',
  'registry',
  'logger',
  'clock',
  'dialect',
];

const dialectNames: readonly DialectName[] = ['mysql', 'postgres', 'sqlite'];

/** The `dialect` option, checked. */
export function dialectOption(v: unknown): DialectName | undefined {
  if (v === undefined) return undefined;
  if (!dialectNames.includes(v as DialectName)) {
    throw invalidArgument(
      `dialect must be 'mysql', 'postgres' or 'sqlite', got ${JSON.stringify(v)}`,
    );
  }
  return v as DialectName;
}

function foreignIdText(foreignId: unknown): string {
  if (typeof foreignId === 'string') return requireWellFormed(foreignId, 'foreign id');
  if (
    typeof foreignId === 'bigint' ||
    (typeof foreignId === 'number' && Number.isSafeInteger(foreignId))
  ) {
    return String(foreignId);
  }
  throw invalidArgument(`foreign id must be a string or an integer, got ${String(foreignId)}`);
}

function eventTypeInt(type: EventType): number {
  const n = typeNumber(type);
  if (!Number.isInteger(n) || n < -2147483648 || n > 2147483647) {
    throw invalidArgument(`event type must be a 32-bit integer, got ${String(n)}`);
  }
  return n;
}

/**
 * Defines an events table (nothing is queried until used): one row per event, id an
 * auto-increment integer, written in the caller's transaction and streamed in id order without
 * ever skipping a committed event (gaps from concurrent or rolled-back transactions are resolved
 * automatically, see docs/sql-backends.md). Names are validated identifiers.
 * @example
 * const events = newEventsTable('user_events', { metadataColumn: 'metadata' });
 * await events.createTable(pool);
 */
export function newEventsTable(name: string, options?: EventsTableOptions): EventsTable {
  checkOptionKeys(options, knownOptions, 'events table');
  const o = options ?? {};
  const table = validateIdentifier(name, 'table name', true);
  const col = (v: string | undefined, fallback: string, what: string): string =>
    validateIdentifier(v ?? fallback, what);
  const foreignIdType = o.foreignIdType ?? 'string';
  if (foreignIdType !== 'string' && foreignIdType !== 'int') {
    throw invalidArgument(`foreignIdType must be 'string' or 'int'`);
  }
  const schema: EventsSchema = Object.freeze({
    table,
    id: col(o.idColumn, 'id', 'idColumn'),
    foreignId: col(o.foreignIdColumn, 'foreign_id', 'foreignIdColumn'),
    timestamp: col(o.timestampColumn, 'timestamp', 'timestampColumn'),
    type: col(o.typeColumn, 'type', 'typeColumn'),
    metadata:
      o.metadataColumn === undefined ? undefined : col(o.metadataColumn, '', 'metadataColumn'),
    trace: o.traceColumn === undefined ? undefined : col(o.traceColumn, '', 'traceColumn'),
    foreignIdType,
    notify: o.notify === undefined ? undefined : boolOption(o.notify, 'notify', false),
  });
  const notifier = o.notifier;
  if (
    notifier !== undefined &&
    (typeof notifier !== 'object' ||
      notifier === null ||
      typeof notifier.publish !== 'function' ||
      typeof notifier.subscribe !== 'function')
  ) {
    throw invalidArgument('notifier must be an EventsNotifier (publish and subscribe)');
  }
  const config = {
    lookupLimit: intOption(o.lookupLimit, 'lookupLimit', 1000, 1, 100_000),
    pollIntervalMs: intOption(o.pollIntervalMs, 'pollIntervalMs', 50, 1, 3_600_000),
    cacheSize: intOption(o.cacheSize, 'cacheSize', 10_000, 0, 10_000_000),
    includeNoops: boolOption(o.includeNoops, 'includeNoops', false),
    fillDelayMs: intOption(o.gapFillDelayMs, 'gapFillDelayMs', 250, 0, 3_600_000),
    maxFillRows: intOption(o.maxGapFillRows, 'maxGapFillRows', 100, 0, 1_000_000),
    logger: o.logger ?? noopLogger,
    clock: o.clock ?? systemClock,
    notifier,
    dialect: dialectOption(o.dialect),
  };
  const metrics: EventsMetrics =
    o.registry === undefined ? noEventsMetrics : eventsMetrics(o.registry, table);
  return new SqlEventsTable(schema, config, metrics);
}

interface TableConfig {
  readonly lookupLimit: number;
  readonly pollIntervalMs: number;
  readonly cacheSize: number;
  readonly includeNoops: boolean;
  readonly fillDelayMs: number;
  readonly maxFillRows: number;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly notifier: EventsNotifier | undefined;
  readonly dialect: DialectName | undefined;
}

class SqlEventsTable implements EventsTable {
  readonly name: string;
  readonly schema: EventsSchema;
  readonly #config: TableConfig;
  readonly #metrics: EventsMetrics;
  readonly #counters = new EventsCounters();
  readonly #statements = new Map<Dialect, EventsStatements>();
  readonly #loaders = new Map<object, Loader>();
  readonly #notify: NotifyFunc;
  readonly #publisher: HintPublisher | undefined;
  #closed = false;

  constructor(schema: EventsSchema, config: TableConfig, metrics: EventsMetrics) {
    this.name = schema.table;
    this.schema = schema;
    this.#config = config;
    this.#metrics = metrics;
    this.#notify = () => this.notify();
    this.#publisher =
      config.notifier === undefined
        ? undefined
        : new HintPublisher(config.notifier, schema.table, config.logger);
  }

  /**
   * The wake-up sources of a loader on `db` (see `WakeupStarter`): the dialect's own when `notify`
   * is on (its default: SQLite's file watch on, PostgreSQL's LISTEN off), and the notifier's
   * subscription.
   */
  #wakeupsFor(dialect: Dialect, db: SqlDatabase): WakeupStarter[] {
    const starters: WakeupStarter[] = [];
    const { schema } = this;
    const { notifier, logger } = this.#config;
    if ((schema.notify ?? dialect.wakeupsByDefault === true) && dialect.wakeups !== undefined) {
      starters.push((wake) => dialect.wakeups?.(db, schema, wake, logger));
    }
    if (notifier !== undefined) {
      starters.push((wake) => notifier.subscribe(schema.table, wake, logger));
    }
    return starters;
  }

  #statementsOf(dialect: Dialect): EventsStatements {
    let s = this.#statements.get(dialect);
    if (s === undefined) {
      s = dialect.eventsStatements(this.schema);
      this.#statements.set(dialect, s);
    }
    return s;
  }

  #params(foreignId: unknown, type: EventType, options: InsertOptions | undefined): SqlValue[] {
    if (options !== undefined) checkOptionKeys(options, ['metadata'], 'insert');
    const fid = foreignIdText(foreignId);
    if (this.schema.foreignIdType === 'int' && String(parseInt64(fid)) !== fid) {
      // MySQL and PostgreSQL would refuse it as a database error; SQLite would store the text.
      throw invalidArgument(
        `foreign id must be an int64 in canonical decimal for an int foreign id column, got ${JSON.stringify(fid)}`,
      );
    }
    const t = eventTypeInt(type);
    if (fid === '0' && t === 0) {
      throw invalidArgument(
        `inserting invalid noop event: foreign id "0" with type 0 is reserved for gap fills (table ${this.name})`,
      );
    }
    const params: SqlValue[] = [fid, t];
    const metadata = options?.metadata;
    if (this.schema.metadata !== undefined) {
      if (metadata != null && !(metadata instanceof Uint8Array)) {
        throw invalidArgument('metadata must be a Uint8Array');
      }
      params.push(metadata ?? null);
    } else if (metadata != null) {
      throw invalidArgument(
        `metadata not enabled: events table ${this.name} has no metadataColumn`,
      );
    }
    if (this.schema.trace !== undefined) params.push(activeTrace() ?? null);
    return params;
  }

  #insertError(dialect: Dialect, err: unknown): ReflexError {
    if (dialect.classifyError(err) === 'duplicate') {
      return new ReflexError(
        RsqlErrorCode.eventIdTaken,
        `events table ${this.name}: the event's id was taken by a gap fill (the insert stalled); retry the transaction`,
        { cause: err },
      );
    }
    return databaseError(dialect, err, `events table ${this.name}: insert`);
  }

  async insert(
    tx: InsertHandle,
    foreignId: string | number | bigint,
    type: EventType,
    options?: InsertOptions,
  ): Promise<NotifyFunc> {
    const params = this.#params(foreignId, type, options);
    const { dialect, executor } = bindWriter(tx, this.#config.dialect);
    try {
      await executor.execute(this.#statementsOf(dialect).insert, params);
    } catch (err) {
      throw this.#insertError(dialect, err);
    }
    return this.#notify;
  }

  insertSync(
    tx: InsertHandle,
    foreignId: string | number | bigint,
    type: EventType,
    options?: InsertOptions,
  ): NotifyFunc {
    const params = this.#params(foreignId, type, options);
    const { dialect, executeSync, tool } = bindWriter(tx, this.#config.dialect);
    if (executeSync === undefined) {
      throw invalidArgument(
        `insertSync needs a synchronous driver (better-sqlite3, directly or through Drizzle); the ${tool ?? dialect.name} handle is asynchronous: use insert`,
      );
    }
    try {
      executeSync(this.#statementsOf(dialect).insert, params);
    } catch (err) {
      throw this.#insertError(dialect, err);
    }
    return this.#notify;
  }

  #loaderFor(db: SqlDatabase): Loader {
    if (this.#closed) {
      // Closed, not stopped: `stopped` is an expected error that runForever retries for ever.
      throw new ReflexError(ErrorCode.closed, `events table ${this.name} is closed`);
    }
    const { dialect } = bindHandle(db);
    const key = db as object;
    let loader = this.#loaders.get(key);
    if (loader === undefined) {
      const c = this.#config;
      loader = new Loader({
        dialect,
        handle: db,
        schema: this.schema,
        statements: this.#statementsOf(dialect),
        gaps: dialect.gapStrategy({ fillDelayMs: c.fillDelayMs, maxFillRows: c.maxFillRows }),
        lookupLimit: c.lookupLimit,
        pollIntervalMs: c.pollIntervalMs,
        cacheSize: c.cacheSize,
        includeNoops: c.includeNoops,
        clock: c.clock,
        logger: c.logger,
        metrics: this.#metrics,
        counters: this.#counters,
        wakeups: this.#wakeupsFor(dialect, db),
      });
      this.#loaders.set(key, loader);
    }
    return loader;
  }

  toStream(db: SqlDatabase, defaults?: StreamCallOptions): StreamFunc {
    const base = validateStreamCall('', defaults);
    bindHandle(db); // validates the handle now
    return async (after: string, options?: StreamCallOptions): Promise<SqlStreamClient> => {
      const merged = validateStreamCall(after, { ...base, ...options });
      const loader = this.#loaderFor(db);
      let prev: number;
      if (merged.fromHead === true) {
        // Resolved when the stream opens: nothing written after this point is skipped.
        prev = await loader.maxId();
      } else {
        const n = parseIntCursor(after);
        if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
          throw new ReflexError(ErrorCode.invalidCursor, `cursor ${after} is beyond 2^53-1`);
        }
        prev = Number(n);
      }
      merged.signal?.throwIfAborted();
      return new SqlStreamClient(loader, prev, merged, this.#config.clock);
    };
  }

  async createTable(db: SqlDatabase, options?: CreateTableOptions): Promise<void> {
    checkOptionKeys(options, ['durability'], 'createTable');
    const durability = options?.durability ?? 'full';
    if (durability !== 'full' && durability !== 'normal') {
      throw invalidArgument(`durability must be 'full' or 'normal'`);
    }
    const { dialect, executor } = bindHandle(db);
    try {
      for (const sql of dialect.durabilityStatements(durability)) await executor.execute(sql);
      for (const sql of this.#statementsOf(dialect).createTable) await executor.execute(sql);
    } catch (err) {
      throw databaseError(dialect, err, `events table ${this.name}: create table`);
    }
  }

  notify(): void {
    for (const loader of this.#loaders.values()) loader.notify();
    this.#publisher?.hint();
  }

  stats(): EventsTableStats {
    let blocking = 0;
    let oldest = 0;
    const now = this.#config.clock.now();
    for (const loader of this.#loaders.values()) {
      const gap = loader.headGap;
      if (gap !== undefined) {
        blocking = 1;
        oldest = Math.max(oldest, now - gap.firstSeenMs);
      }
    }
    return { ...this.#counters, blockingGaps: blocking, oldestBlockingGapMs: oldest };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#publisher?.close();
    const loaders = [...this.#loaders.values()];
    this.#loaders.clear();
    await Promise.all(loaders.map((loader) => loader.stop()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
