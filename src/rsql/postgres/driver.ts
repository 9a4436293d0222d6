import type { DriverErrorKind, Executor, SqlValue, TransactionOptions } from '../dialect.js';
import { oneAtATime } from '../one-at-a-time.js';

/** A pg query config (the subset reflex-events passes). */
export interface PgQueryConfig {
  readonly text: string;
  readonly values?: unknown[];
  readonly rowMode?: 'array';
  readonly types?: { getTypeParser(oid: number, format?: string): (value: string) => unknown };
}

/** What a pg query resolves to (the subset used). */
export interface PgQueryResult {
  readonly rows: unknown[];
  readonly rowCount: number | null;
}

/** What reflex-events uses of a pg `Pool`, `PoolClient` or `Client`. */
export interface PgQueryable {
  query(config: PgQueryConfig): Promise<PgQueryResult>;
}

/** A pg `Pool` (structural): `connect()` lends a client that must be released. */
export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>;
  readonly options: object;
}

/** A pg `PoolClient` (structural). */
export interface PgPoolClient extends PgQueryable {
  release(destroy?: boolean | Error): void;
}

/** A pg `Client` (structural): one connection the user opened. */
export interface PgClient extends PgQueryable {
  readonly connectionParameters?: object;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function isPgQueryable(h: Record<string, unknown>): boolean {
  // mysql2 handles have `execute`, better-sqlite3 has `prepare`: pg has neither.
  return (
    typeof h.query === 'function' &&
    typeof h.execute !== 'function' &&
    typeof h.prepare !== 'function'
  );
}

export function isPgPool(h: unknown): h is PgPool {
  return isObject(h) && isPgQueryable(h) && typeof h.connect === 'function' && isObject(h.options);
}

function isPgClient(h: unknown): h is PgClient {
  return isObject(h) && isPgQueryable(h) && isObject(h.connectionParameters);
}

/** True for a pg Pool, PoolClient or Client. */
export function acceptsPg(h: unknown): boolean {
  return isPgPool(h) || isPgClient(h);
}

/** The connection settings of a handle (for the LISTEN connection), when pg exposes them. */
export function poolOptions(h: unknown): object | undefined {
  if (isPgPool(h)) return h.options;
  return undefined;
}

/** An error that says the pool is closed, classified 'closed'. */
export class PgClosedError extends Error {
  readonly code = 'POOL_CLOSED';
  constructor() {
    super('pg pool is closed');
  }
}

function closedPool(h: PgQueryable): boolean {
  // pg reports a closed pool by message only; `ending`/`ended` are its structured flags.
  const p = h as { ending?: unknown; ended?: unknown };
  return p.ending === true || p.ended === true;
}

const TWO = 2;
/**
 * Column parsers: pg's defaults turn int8 into strings anyway but parse timestamptz into Dates
 * through a slow generic parser (about a third of a scan's time). Ids, timestamps and every other
 * text value stay strings here and are decoded once by the dialect; int2/int4 become numbers and
 * bytea a Buffer.
 */
function identity(v: string): string {
  return v;
}
function int(v: string): number {
  return Number.parseInt(v, 10);
}
function bool(v: string): boolean {
  return v === 't';
}
function bytea(v: string): Buffer {
  // text format of bytea with bytea_output = hex (the default since 9.0): \x0a0b…
  if (v.length >= TWO && v.charCodeAt(0) === 92 && v.charCodeAt(1) === 120)
    return Buffer.from(v.slice(TWO), 'hex');
  return Buffer.from(unescapeBytea(v), 'binary');
}
function unescapeBytea(v: string): string {
  // bytea_output = escape: \\ and \ooo octal escapes.
  return v.replace(/\\(\\|[0-7]{3})/g, (_m, g: string) =>
    g === '\\' ? '\\' : String.fromCharCode(Number.parseInt(g, 8)),
  );
}

const parsers: Record<number, (v: string) => unknown> = {
  16: bool,
  17: bytea,
  21: int,
  23: int,
};

/** The per-query type parsers of reflex-events (pg's `types` option). */
export const pgTypes = Object.freeze({
  getTypeParser(oid: number): (value: string) => unknown {
    return parsers[oid] ?? identity;
  },
});

function params(values: readonly SqlValue[] | undefined): unknown[] {
  if (values === undefined) return [];
  return values.map((v) => (typeof v === 'bigint' ? v.toString() : v));
}

/** An Executor over a pg pool, pool client or client. */
export function pgExecutor(h: PgQueryable): Executor {
  const run = (sql: string, values?: readonly SqlValue[]): Promise<PgQueryResult> => {
    if (closedPool(h)) return Promise.reject(new PgClosedError());
    return h.query({ text: sql, values: params(values), rowMode: 'array', types: pgTypes });
  };
  return {
    async query(sql, values) {
      return (await run(sql, values)).rows as unknown[][];
    },
    async execute(sql, values) {
      return { affectedRows: (await run(sql, values)).rowCount ?? 0 };
    },
  };
}

/** Runs fn in a transaction on one connection of h (a client from the pool, or the client given). */
export async function pgTransaction<T>(
  handle: unknown,
  fn: (ex: Executor) => Promise<T>,
  _options?: TransactionOptions,
): Promise<T> {
  const h = handle as PgQueryable;
  if (closedPool(h)) throw new PgClosedError();
  // A pool lends a client per transaction; a single client takes them one at a time.
  if (!isPgPool(h)) return oneAtATime(h, () => inTransaction(h, h, fn));
  return inTransaction(h, await h.connect(), fn);
}

async function inTransaction<T>(
  h: PgQueryable,
  conn: PgQueryable,
  fn: (ex: Executor) => Promise<T>,
): Promise<T> {
  let broken: unknown;
  try {
    const ex = pgExecutor(conn);
    await ex.execute('BEGIN');
    try {
      const out = await fn(ex);
      await ex.execute('COMMIT');
      return out;
    } catch (err) {
      await ex.execute('ROLLBACK').catch((e: unknown) => {
        broken = e;
      });
      if (classifyPgError(err) === 'closed') broken = err;
      throw err;
    }
  } finally {
    // A connection that failed to roll back is destroyed, not returned to the pool mid-transaction.
    if (conn !== h)
      (conn as PgPoolClient).release(broken instanceof Error ? broken : broken !== undefined);
  }
}

const closedStates = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  '08007',
  '08P01',
  'POOL_CLOSED',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const busyStates = new Set(['40001', '40P01', '55P03', '57014']);
const schemaStates = new Set(['42P01', '42703', '3F000']);
/** invalid text representation, string too long, numeric out of range, datatype mismatch. */
const dataStates = new Set(['22P02', '22001', '22003', '42804']);

/**
 * pg reports a connection lost mid-statement (the server killed or restarted) and a client left
 * unusable by it with a plain Error and no code: these messages are its only mark.
 */
const lostConnection =
  /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end on the pool)/;

/** Classifies a pg error by its SQLSTATE (or Node's socket error code, or a lost connection). */
export function classifyPgError(err: unknown): DriverErrorKind | undefined {
  const code = isObject(err) && typeof err.code === 'string' ? err.code : undefined;
  if (code === undefined) {
    return err instanceof Error && lostConnection.test(err.message) ? 'closed' : undefined;
  }
  if (code === '23505') return 'duplicate';
  if (closedStates.has(code)) return 'closed';
  if (busyStates.has(code)) return 'busy';
  if (schemaStates.has(code)) return 'schema';
  if (dataStates.has(code)) return 'data';
  return undefined;
}
