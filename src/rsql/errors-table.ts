import type { ErrorInsertFunc, Logger, MetricsRegistry } from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { boolOption, checkOptionKeys } from '../internal/options.js';
import { toWellFormed } from '../internal/well-formed.js';
import type { Dialect, ErrorsSchema, ErrorsStatements, EventsSchema, Executor } from './dialect.js';
import { dialectOption, type EventsTable, newEventsTable } from './events-table.js';
import { TableGuard } from './exact-schema.js';
import { bindHandle, bindWriter, databaseError, insertIfAbsent } from './handles.js';
import { validateIdentifier } from './identifiers.js';
import { deadLetterCounter } from './metrics.js';
import type { DialectName, OrmHandle } from './orm/index.js';
import type { SqlDatabase } from './sql-handle.js';
import { checkRowName } from './text.js';

export type { ErrorInsertFunc } from '../core/index.js';

/** Status of a recorded consumer error (the type of its error event). */
export const ErrorStatus = Object.freeze({ unknown: 0, recorded: 1 } as const);

/** Options of {@link newErrorsTable}. */
export interface ErrorsTableOptions {
  /** @default 'consumer_errors' */
  readonly table?: string;
  /** @default 'id' */
  readonly idColumn?: string;
  /** @default 'consumer' */
  readonly consumerColumn?: string;
  /** @default 'event_id' */
  readonly eventIdColumn?: string;
  /** @default 'error_msg' */
  readonly messageColumn?: string;
  /** @default 'created_at' */
  readonly createdAtColumn?: string;
  /** @default 'updated_at' */
  readonly updatedAtColumn?: string;
  /** @default 'error_status' */
  readonly statusColumn?: string;
  /** The events table of error events (metadata column `metadata`). @default `<table>_events` */
  readonly eventsTable?: string;
  /** Record the error row only, no error event. @default false */
  readonly recordOnly?: boolean;
  /** Prometheus registry for `reflex_consumer_dead_lettered_events_count`. @default undefined */
  readonly registry?: MetricsRegistry;
  /** @default noopLogger */
  readonly logger?: Logger;
  /**
   * The database of handles whose shape does not tell it (a Prisma client), for
   * `toErrorInsertFunc`. @default undefined (known from the handle)
   */
  readonly dialect?: DialectName;
}

/** A consumer errors table (dead letters) and its error events table. */
export interface ErrorsTable {
  readonly name: string;
  readonly schema: ErrorsSchema;
  /** The error events table: stream it to react to recorded errors. */
  readonly events: EventsTable;
  /**
   * A function recording `(consumerName, eventId, errMsg)` in one transaction on `db`: the error
   * row (status recorded) and an error event (foreign id = the row's id, type 1, metadata = the
   * consumer name). Idempotent per (consumer, event): recording the same pair again writes nothing.
   * `db` is a driver's pool/database, or a query builder's/ORM's database object (Kysely, knex,
   * Drizzle on mysql2/pg, TypeORM, Prisma: the transaction is the tool's), see docs/orms.md.
   * @example
   * const record = errors.toErrorInsertFunc(pool);
   * await record('billing', '42', 'card declined');
   */
  toErrorInsertFunc(db: SqlDatabase | OrmHandle): ErrorInsertFunc;
  /** Creates the errors table and its events table when missing (idempotent). */
  createTable(db: SqlDatabase): Promise<void>;
}

const encoder = new TextEncoder();

const errorsTableKeys = [
  'table',
  'idColumn',
  'consumerColumn',
  'eventIdColumn',
  'messageColumn',
  'createdAtColumn',
  'updatedAtColumn',
  'statusColumn',
  'eventsTable',
  'recordOnly',
  'registry',
  'logger',
  'dialect',
];

/** The table and column names of the options, validated. */
function errorsSchemaOf(o: ErrorsTableOptions): ErrorsSchema {
  const col = (v: string | undefined, d: string, what: string): string =>
    validateIdentifier(v ?? d, what);
  return Object.freeze({
    table: validateIdentifier(o.table ?? 'consumer_errors', 'table', true),
    id: col(o.idColumn, 'id', 'idColumn'),
    consumer: col(o.consumerColumn, 'consumer', 'consumerColumn'),
    eventId: col(o.eventIdColumn, 'event_id', 'eventIdColumn'),
    message: col(o.messageColumn, 'error_msg', 'messageColumn'),
    createdAt: col(o.createdAtColumn, 'created_at', 'createdAtColumn'),
    updatedAt: col(o.updatedAtColumn, 'updated_at', 'updatedAtColumn'),
    status: col(o.statusColumn, 'error_status', 'statusColumn'),
  });
}

/**
 * The message as stored. A message is diagnostics, not a key: a lone surrogate is stored as
 * U+FFFD rather than losing the dead letter (names and ids are refused instead). One longer than
 * its column is refused whole rather than cut: strict mode would refuse it too, less clearly.
 */
function storableMessage(
  errMsg: string,
  maxBytes: number | undefined,
  what: () => string,
  column: string,
): string {
  const message = toWellFormed(errMsg);
  const bytes = Buffer.byteLength(message);
  if (maxBytes !== undefined && bytes > maxBytes) {
    throw invalidArgument(
      `${what()} is ${bytes} bytes, more than its column ${column} holds (${maxBytes})`,
    );
  }
  return message;
}

interface DeadLetter {
  readonly dialect: Dialect;
  readonly statements: ErrorsStatements;
  /** The error events table's insert. */
  readonly insertEvent: string;
  readonly recordOnly: boolean;
  readonly consumerName: string;
  readonly eventId: string;
  readonly message: string;
}

/**
 * Records a dead letter in the caller's transaction: the error row, unless that consumer's event
 * is already recorded (idempotent), then its error event. True when a row was inserted.
 */
async function recordIn(ex: Executor, r: DeadLetter): Promise<boolean> {
  const { statements: s, consumerName, eventId } = r;
  const inserted = await insertIfAbsent(r.dialect, () =>
    ex.execute(s.insertIfAbsent, [consumerName, eventId, r.message, ErrorStatus.recorded]),
  );
  if (!inserted) return false;
  if (r.recordOnly) return true;
  const id = (await ex.query(s.selectId, [consumerName, eventId]))[0]?.[0];
  await ex.execute(r.insertEvent, [String(id), ErrorStatus.recorded, encoder.encode(consumerName)]);
  return true;
}

/** Defines a consumer errors table (names validated; nothing is queried until used). */
export function newErrorsTable(options?: ErrorsTableOptions): ErrorsTable {
  checkOptionKeys(options, errorsTableKeys, 'errors table');
  const o = options ?? {};
  const schema = errorsSchemaOf(o);
  const table = schema.table;
  const dialect = dialectOption(o.dialect);
  const events = newEventsTable(o.eventsTable ?? `${table}_events`, {
    metadataColumn: 'metadata',
    foreignIdType: 'int',
    ...(o.logger === undefined ? {} : { logger: o.logger }),
    ...(dialect === undefined ? {} : { dialect }),
  });
  const recordOnly = boolOption(o.recordOnly, 'recordOnly', false);
  const counted = o.registry === undefined ? () => {} : deadLetterCounter(o.registry);
  const statements = new Map<Dialect, ErrorsStatements>();
  const statementsOf = (d: Dialect): ErrorsStatements => {
    let s = statements.get(d);
    if (s === undefined) {
      s = d.errorsStatements(schema);
      statements.set(d, s);
    }
    return s;
  };
  const eventsSchema: EventsSchema = events.schema;
  const guard = new TableGuard(
    `errors table ${table}`,
    table,
    [
      { name: schema.consumer, role: 'name' },
      { name: schema.eventId, role: 'name' },
      { name: schema.message, role: 'text' },
    ],
    `\`reflex migrate <db-url> --errors ${table}\``,
  );
  return {
    name: table,
    schema,
    events,
    toErrorInsertFunc(db: SqlDatabase | OrmHandle): ErrorInsertFunc {
      const writer = bindWriter(db, dialect);
      const { transaction } = writer;
      if (transaction === undefined) {
        throw invalidArgument(
          `errors table ${table}: toErrorInsertFunc needs a handle that can open a transaction; a ${writer.tool ?? writer.dialect.name} handle cannot (Drizzle over better-sqlite3: give the better-sqlite3 Database)`,
        );
      }
      const s = statementsOf(writer.dialect);
      const insertEvent = writer.dialect.eventsStatements(eventsSchema).insert;
      return async (consumerName: string, eventId: string, errMsg: string): Promise<void> => {
        checkRowName(consumerName, 'consumer name');
        checkRowName(eventId, 'event id');
        if (typeof errMsg !== 'string') throw invalidArgument('error message must be a string');
        const columns = await guard.check(db, writer);
        const message = storableMessage(
          errMsg,
          columns?.get(schema.message.toLowerCase())?.maxBytes,
          () => `errors table ${table}: the error message of ${consumerName}/${eventId}`,
          schema.message,
        );
        let recorded: boolean;
        try {
          recorded = await transaction((ex) =>
            recordIn(ex, {
              dialect: writer.dialect,
              statements: s,
              insertEvent,
              recordOnly,
              consumerName,
              eventId,
              message,
            }),
          );
        } catch (err) {
          throw databaseError(
            writer.dialect,
            err,
            `errors table ${table}: record ${consumerName}/${eventId}`,
          );
        }
        if (recorded) {
          counted(consumerName);
          events.notify();
        }
      };
    },
    async createTable(db: SqlDatabase): Promise<void> {
      const { dialect, executor } = bindHandle(db);
      try {
        for (const sql of statementsOf(dialect).createTable) await executor.execute(sql);
        // An existing table of an older version: names made exact, messages MEDIUMTEXT.
        await guard.convert(db);
      } catch (err) {
        throw databaseError(dialect, err, `errors table ${table}: create table`);
      }
      await events.createTable(db);
    },
  };
}
