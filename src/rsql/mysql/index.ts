import type { Dialect } from '../dialect.js';
import {
  acceptsMysql,
  classifyMysqlError,
  mysqlExecutor,
  mysqlTransaction,
  promiseHandle,
} from './driver.js';
import { mysqlGapStrategy } from './gaps.js';
import { describeMysqlTable, mysqlExactColumnsStatements, mysqlSessionProblem } from './schema.js';
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
 * The timestamp as `selectAfter` selects it, microseconds since the epoch: a number (exact below
 * 2^53), or a string with mysql2's bigNumberStrings. Undefined for anything else.
 */
export function decodeMysqlTimestampUs(value: unknown): bigint | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) return BigInt(value);
  return undefined;
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
    // Microseconds since the epoch (BIGINT: a number, or a string with bigNumberStrings).
    return new Date(Math.floor(decodeNumber(value) / 1000));
  },
  decodeTimestampUs: decodeMysqlTimestampUs,
  describeTable: describeMysqlTable,
  exactColumnsStatements: mysqlExactColumnsStatements,
  sessionProblem: mysqlSessionProblem,
  classifyError: classifyMysqlError,
  gapStrategy: mysqlGapStrategy,
  durabilityStatements: () => [],
});
