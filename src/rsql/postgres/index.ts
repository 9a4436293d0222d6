import type { Logger } from '../../core/index.js';
import type { Dialect, EventsSchema, WakeupSource } from '../dialect.js';
import {
  acceptsPg,
  classifyPgError,
  type PgQueryable,
  pgExecutor,
  pgTransaction,
} from './driver.js';
import { pgGapStrategy } from './gaps.js';
import { listenClientFactory, PgListener } from './listener.js';
import { describePgTable } from './schema.js';
import {
  notifyChannel,
  pgCursorsStatements,
  pgErrorsStatements,
  pgEventsStatements,
  pgLeasesStatements,
  quotePg,
} from './statements.js';

export type { PgClient, PgPool, PgPoolClient, PgQueryable } from './driver.js';
export { type PostgresNotifierOptions, postgresNotifier } from './notifier.js';

/** An id (int8, as text from the driver) as a number; NaN unless it is a safe integer. */
export function decodePgId(value: unknown): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' || typeof value === 'bigint'
        ? Number(value)
        : Number.NaN;
  return Number.isSafeInteger(n) ? n : Number.NaN;
}

/**
 * The timestamp column as selected by `selectAfter`: microseconds since the epoch, as float8 text
 * (pg's parser for float8 is not used: see pgTypes). `Infinity` and `-Infinity` give an invalid Date.
 */
export function decodePgTimestamp(value: unknown): Date {
  if (typeof value === 'number') return new Date(Math.floor(value / 1000));
  if (typeof value === 'string' && value !== '') return new Date(Math.floor(Number(value) / 1000));
  return new Date(Number.NaN);
}

/** The exact microseconds of what `selectAfter` selects; undefined for ±infinity or NULL. */
export function decodePgTimestampUs(value: unknown): bigint | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value !== ''
        ? Number(value)
        : Number.NaN;
  return Number.isSafeInteger(n) ? BigInt(n) : undefined;
}

/**
 * The PostgreSQL dialect over pg (node-postgres): a `Pool`, a `PoolClient` or a `Client` the user
 * created. Gaps are resolved from transaction snapshots (no noop rows, no READ UNCOMMITTED): see
 * docs/postgres.md.
 */
export const postgresDialect: Dialect = Object.freeze({
  name: 'postgres',
  accepts: acceptsPg,
  executor: (handle: unknown) => pgExecutor(handle as PgQueryable),
  transaction: pgTransaction,
  executeSync: undefined,
  quote: quotePg,
  eventsStatements: pgEventsStatements,
  cursorsStatements: pgCursorsStatements,
  errorsStatements: pgErrorsStatements,
  leasesStatements: pgLeasesStatements,
  decodeId: decodePgId,
  decodeTimestamp: decodePgTimestamp,
  decodeTimestampUs: decodePgTimestampUs,
  classifyError: classifyPgError,
  describeTable: describePgTable,
  gapStrategy: pgGapStrategy,
  durabilityStatements: () => [],
  wakeups(
    handle: unknown,
    schema: EventsSchema,
    wake: () => void,
    logger: Logger,
  ): WakeupSource | undefined {
    const factory = listenClientFactory(handle);
    if (factory === undefined) return undefined;
    return new PgListener(factory, notifyChannel(schema), wake, logger);
  },
});
