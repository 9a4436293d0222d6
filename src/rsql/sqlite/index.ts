import type { Logger } from '../../core/index.js';
import type { Dialect, Durability, EventsSchema, SqlValue, WakeupSource } from '../dialect.js';
import {
  acceptsSqlite,
  classifySqliteError,
  type SqliteDatabase,
  sqliteExecuteSync,
  sqliteExecutor,
  sqliteTransaction,
} from './driver.js';
import { sqliteGapStrategy } from './gaps.js';
import { describeSqliteTable } from './schema.js';
import {
  quoteSqlite,
  sqliteCursorsStatements,
  sqliteErrorsStatements,
  sqliteEventsStatements,
  sqliteLeasesStatements,
} from './statements.js';
import { sqliteWakeups } from './watcher.js';

export type { SqliteDatabase, SqliteStatement } from './driver.js';

function decodeNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'string') return Number(value);
  return Number.NaN;
}

/**
 * The exact microseconds of a stored timestamp: INTEGER milliseconds (what the tables write) × 1000,
 * or the fraction of a TEXT timestamp to the microsecond. Undefined when it is not a time.
 */
export function decodeSqliteTimestampUs(value: unknown): bigint | undefined {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return BigInt(value) * 1000n;
    const us = Math.floor(value * 1000);
    return Number.isSafeInteger(us) ? BigInt(us) : undefined;
  }
  if (typeof value === 'bigint') return value * 1000n;
  if (typeof value === 'string') {
    const ms = decodeSqliteTimestamp(value).getTime();
    if (Number.isNaN(ms)) return undefined;
    // Digits 4 to 6 of the fraction (the Date kept three); the zone does not change them.
    const fraction = /:\d\d\.\d{3}(\d{1,3})/.exec(value)?.[1] ?? '';
    return BigInt(ms) * 1000n + BigInt(fraction.padEnd(3, '0'));
  }
  return undefined;
}

function decodeSqliteTimestamp(value: unknown): Date {
  if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value));
  if (typeof value === 'string') {
    // TEXT timestamps of existing tables: ISO 8601, or SQLite's 'YYYY-MM-DD HH:MM:SS[.SSS]' (UTC).
    return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`);
  }
  return new Date(Number.NaN);
}

/** The SQLite dialect over better-sqlite3 (synchronous; `insertSync` works in `db.transaction()`). */
export const sqliteDialect: Dialect = Object.freeze({
  name: 'sqlite',
  accepts: acceptsSqlite,
  executor: (handle: unknown) => sqliteExecutor(handle as SqliteDatabase),
  transaction: sqliteTransaction,
  executeSync: (handle: unknown, sql: string, params: readonly SqlValue[]) =>
    sqliteExecuteSync(handle as SqliteDatabase, sql, params),
  quote: quoteSqlite,
  eventsStatements: sqliteEventsStatements,
  cursorsStatements: sqliteCursorsStatements,
  errorsStatements: sqliteErrorsStatements,
  leasesStatements: sqliteLeasesStatements,
  decodeId: decodeNumber,
  decodeTimestamp: decodeSqliteTimestamp,
  decodeTimestampUs: decodeSqliteTimestampUs,
  classifyError: classifySqliteError,
  describeTable: describeSqliteTable,
  gapStrategy: () => sqliteGapStrategy,
  wakeupsByDefault: true,
  wakeups: (
    handle: unknown,
    _schema: EventsSchema,
    wake: () => void,
    logger: Logger,
  ): WakeupSource | undefined => sqliteWakeups(handle, wake, logger),
  durabilityStatements: (durability: Durability) => [
    `PRAGMA synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`,
  ],
});
