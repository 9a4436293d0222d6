import type { Dialect } from '../dialect.js';
import {
  acceptsMysql,
  classifyMysqlError,
  mysqlExecutor,
  mysqlTransaction,
  promiseHandle,
} from './driver.js';
import { mysqlGapStrategy } from './gaps.js';
import {
  mysqlCursorsStatements,
  mysqlErrorsStatements,
  mysqlEventsStatements,
  mysqlLeasesStatements,
  quoteMysql,
} from './statements.js';

export type {
  MysqlCallbackHandle,
  MysqlConnection,
  MysqlPool,
  MysqlPoolConnection,
} from './driver.js';

function decodeNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' || typeof value === 'bigint') return Number(value);
  return Number.NaN;
}

/**
 * The MySQL/MariaDB dialect over mysql2: promise pools, pool connections and connections, and
 * callback-API pools/connections (used through their `.promise()`).
 */
export const mysqlDialect: Dialect = Object.freeze({
  name: 'mysql',
  accepts: acceptsMysql,
  executor: (handle: unknown) => mysqlExecutor(promiseHandle(handle)),
  transaction: mysqlTransaction,
  executeSync: undefined,
  quote: quoteMysql,
  eventsStatements: mysqlEventsStatements,
  cursorsStatements: mysqlCursorsStatements,
  errorsStatements: mysqlErrorsStatements,
  leasesStatements: mysqlLeasesStatements,
  decodeId: decodeNumber,
  decodeTimestamp(value: unknown): Date {
    if (value instanceof Date) return value;
    // Milliseconds since the epoch (BIGINT: a number, or a string with bigNumberStrings).
    return new Date(decodeNumber(value));
  },
  classifyError: classifyMysqlError,
  gapStrategy: mysqlGapStrategy,
  durabilityStatements: () => [],
});
