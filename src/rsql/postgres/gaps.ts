import { ReflexError } from '../../core/index.js';
/**
 * The code of the error a PostgreSQL stream fails with, at the first gap it would have to decide,
 * when the events table cannot be streamed safely: an id default that does not assign the
 * transaction id before `nextval()`, a sequence with CACHE > 1, or a standby server. The message
 * says which; docs/postgres.md ("Existing tables") gives the migration.
 */
import type {
  EventsSchema,
  Executor,
  Gap,
  GapContext,
  GapStrategy,
  GapStrategyOptions,
  GapVerdict,
} from '../dialect.js';
import { RsqlErrorCode } from '../error-codes.js';
import { quotePg, SAFE_DEFAULT_PATTERN } from './statements.js';
import {
  GAP_CHECK_AGE_SQL,
  isEmptyWaitSet,
  nextXidBound,
  parseSnapshot,
  stillRunning,
  TWO32,
  type WaitSet,
  waitSetMembers,
  waitSetOf,
} from './xids.js';

/** How long a hole waits on the snapshot alone before the lock refinement runs (ms). */
const LOCK_REFINE_AFTER_MS = 200;

const MAX_MEMBERS = 10_000;

/**
 * PostgreSQL gaps, without noop rows and without READ UNCOMMITTED (docs/postgres.md).
 *
 * The id default assigns the writer's transaction id (xid) before the sequence hands out the id.
 * When the loader reads a hole (after, before) below a visible row, one statement returns its own
 * snapshot, `age('3'::xid)` and whether any row of the hole is visible now. The transactions that
 * can hold an id of the hole were running when that snapshot was taken, so they are in
 * W = xip ∪ [xmax, next xid). The hole is skipped only when a later snapshot shows every member
 * of W finished and the hole still empty; a committed row of the hole is visible in that snapshot,
 * so nothing committed is skipped. Members of W that hold no lock on the events table (they never
 * inserted into it) are dropped after a short wait, so an unrelated long transaction does not hold
 * the hole; a long transaction that wrote to the table delays only the events after the hole.
 */
export class PgGapStrategy implements GapStrategy {
  /** The wait set and the id below which it is valid (computed after that row was visible). */
  #wait: WaitSet | undefined;
  #validBelow = 0;
  #checked: Promise<void> | undefined;

  async resolve(gap: Gap, ctx: GapContext): Promise<GapVerdict> {
    this.#checked ??= checkEventsTable(ctx.executor, ctx.schema).catch((err: unknown) => {
      if (!(err instanceof ReflexError)) this.#checked = undefined; // transient: check again next time
      throw err;
    });
    await this.#checked;
    const t = quotePg(ctx.schema.table);
    const id = quotePg(ctx.schema.id);
    const sql = `SELECT ${GAP_CHECK_AGE_SQL}, EXISTS (SELECT 1 FROM ${t} WHERE ${id} > $1 AND ${id} < $2)`;
    for (let round = 0; round < 2; round++) {
      const rows = await ctx.executor.query(sql, [gap.after, gap.before]);
      const row = rows[0];
      if (row === undefined) throw new Error('gap check returned no row');
      const snapshot = parseSnapshot(String(row[0]));
      if (row[2] === true) return 'reload';
      if (this.#wait === undefined || gap.before > this.#validBelow) {
        // Valid for every id below gap.before: that row was visible before this statement began.
        this.#wait = waitSetOf(snapshot, nextXidBound(snapshot.xmax, Number(row[1])));
        this.#validBelow = gap.before;
      }
      this.#wait = stillRunning(this.#wait, snapshot);
      if (isEmptyWaitSet(this.#wait)) return 'skip';
      if (round > 0 || ctx.now() - gap.firstSeenMs < LOCK_REFINE_AFTER_MS) return 'wait';
      // Drop the members that hold no lock on the events table: they never inserted into it, so
      // they hold none of its ids (an INSERT locks the table before its defaults run, until the
      // transaction ends; locks are released after the transaction leaves the proc array). When
      // none is left, decide on a snapshot taken after this check (the next round).
      const members = waitSetMembers(this.#wait, MAX_MEMBERS);
      if (members.length >= MAX_MEMBERS) return 'wait'; // too wide to enumerate: keep it whole
      const holders = await lockHolders(ctx.executor, ctx.schema);
      const kept = new Set<bigint>();
      for (const x of members) if (holders.has(x % TWO32)) kept.add(x);
      this.#wait = { xids: kept, rangeFrom: 0n, rangeTo: 0n };
      if (kept.size > 0) {
        ctx.logger.debug('events gap waits for open transactions', {
          table: ctx.schema.table,
          after: gap.after,
          before: gap.before,
          xids: [...kept].map(String),
        });
        return 'wait';
      }
    }
    return 'wait';
  }
}

/** The 32-bit xids of the transactions holding any lock on the events table (prepared ones included). */
async function lockHolders(ex: Executor, schema: EventsSchema): Promise<Set<bigint>> {
  const rows = await ex.query(
    `SELECT x.transactionid::text FROM pg_locks x WHERE x.locktype = 'transactionid' AND x.virtualtransaction IN (SELECT l.virtualtransaction FROM pg_locks l WHERE l.locktype = 'relation' AND l.relation = $1::regclass)`,
    [quotePg(schema.table)],
  );
  return new Set(rows.map((r) => BigInt(String(r[0]))));
}

/**
 * Refuses an events table the gap strategy cannot make safe: an id default that does not assign
 * the xid before `nextval` (a table created by hand), a sequence with CACHE > 1 (ids out of
 * allocation order), or a server in recovery (a standby's snapshots do not list running
 * transactions the same way).
 */
export async function checkEventsTable(ex: Executor, schema: EventsSchema): Promise<void> {
  const rows = await ex.query(
    `SELECT pg_get_expr(d.adbin, d.adrelid), pg_is_in_recovery() FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = $1::regclass AND a.attname = $2`,
    [quotePg(schema.table), schema.id],
  );
  const row = rows[0];
  const fix = `see docs/postgres.md ("Existing tables") for the ALTER statements`;
  if (row === undefined) throw unsafe(`events table ${schema.table} has no column ${schema.id}`);
  if (row[1] === true) {
    throw unsafe(
      `events table ${schema.table}: the server is a standby in recovery; stream from the primary`,
    );
  }
  const def = typeof row[0] === 'string' ? row[0] : '';
  const m = new RegExp(SAFE_DEFAULT_PATTERN).exec(def);
  if (m === null) {
    throw unsafe(
      `events table ${schema.table}: the default of ${schema.id} (${def || 'none'}) does not assign the transaction id before nextval(); ${fix}`,
    );
  }
  const seq = await ex.query(
    'SELECT seqcache::text FROM pg_sequence WHERE seqrelid = $1::regclass',
    [m[1] ?? ''],
  );
  const cache = Number(seq[0]?.[0]);
  if (cache !== 1) {
    throw unsafe(
      `events table ${schema.table}: sequence ${m[1]} has CACHE ${seq[0]?.[0] ?? '?'}; CACHE 1 is required (ids in allocation order); ${fix}`,
    );
  }
}

function unsafe(message: string): ReflexError {
  return new ReflexError(RsqlErrorCode.unsafeSchema, message);
}

/** The gap strategy of one PostgreSQL events table. */
export function pgGapStrategy(_options: GapStrategyOptions): GapStrategy {
  // Snapshots tell which holes are final: the hole-wait options of the MySQL strategy do not apply.
  return new PgGapStrategy();
}
