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

export { ERR_REFLEX_UNSAFE_SCHEMA } from './gaps.js';

import { listenClientFactory, PgListener } from './listener.js';
import {
  notifyChannel,
  pgCursorsStatements,
  pgErrorsStatements,
  pgEventsStatements,
  quotePg,
} from './statements.js';

export type { PgClient, PgPool, PgPoolClient, PgQueryable } from './driver.js';

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

function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}

/**
 * A timestamptz in PostgreSQL's text output (`DateStyle` ISO, the default:
 * `2026-11-28 06:20:00.123456+00`, `…+05:30`, `…-03:30:45`) as a Date (milliseconds; the
 * microseconds are truncated). A hand-written parser: pg's generic one is slow.
 */
export function decodePgTimestamp(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value !== 'string') return new Date(Number.NaN);
  const s = value;
  if (s.length < 22 || s.charCodeAt(4) !== 45 || s.charCodeAt(10) !== 32) return new Date(s); // BC or other styles
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    let j = i + 1;
    while (j < s.length && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++;
    const frac = s.slice(i + 1, Math.min(j, i + 4)).padEnd(3, '0');
    ms = digits(frac, 0, 3);
    i = j;
  }
  const sign = s.charCodeAt(i) === 45 ? -1 : 1;
  let off = digits(s, i + 1, i + 3) * 3600;
  if (s.charCodeAt(i + 3) === 58) off += digits(s, i + 4, i + 6) * 60;
  if (s.charCodeAt(i + 6) === 58) off += digits(s, i + 7, i + 9);
  const utc = Date.UTC(
    digits(s, 0, 4),
    digits(s, 5, 7) - 1,
    digits(s, 8, 10),
    digits(s, 11, 13),
    digits(s, 14, 16),
    digits(s, 17, 19),
    ms,
  );
  return new Date(utc - sign * off * 1000);
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
  decodeId: decodePgId,
  decodeTimestamp: decodePgTimestamp,
  classifyError: classifyPgError,
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
