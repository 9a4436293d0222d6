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
  decodeTimestamp(value: unknown): Date {
    if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value));
    if (typeof value === 'string') {
      // TEXT timestamps of existing tables: ISO 8601, or SQLite's 'YYYY-MM-DD HH:MM:SS[.SSS]' (UTC).
      return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`);
    }
    return new Date(Number.NaN);
  },
  classifyError: classifySqliteError,
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
