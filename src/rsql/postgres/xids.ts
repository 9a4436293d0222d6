/**
 * PostgreSQL transaction-id arithmetic for the gap strategy (see docs/postgres.md).
 *
 * Transaction ids are 64-bit `xid8` values (epoch and 32-bit xid), compared as bigints, so there
 * is no wrap-around in the comparisons. Only `age(xid)` is 32-bit; {@link nextXidBound} widens it
 * against the snapshot's 64-bit xmax.
 */

/** A parsed `pg_snapshot` (`xmin:xmax:xip,…`). */
export interface PgSnapshot {
  /** Every xid below it has finished. */
  readonly xmin: bigint;
  /** One past the highest finished xid: xids at or above it are treated as running. */
  readonly xmax: bigint;
  /** The top-level xids below xmax that were running when the snapshot was taken. */
  readonly xip: readonly bigint[];
}

/** Parses the text form of a `pg_snapshot` / `txid_snapshot`. */
export function parseSnapshot(text: string): PgSnapshot {
  const parts = text.split(':');
  if (parts.length !== 3) throw new Error(`malformed pg_snapshot ${JSON.stringify(text)}`);
  const [xmin, xmax, xip] = parts as [string, string, string];
  return {
    xmin: BigInt(xmin),
    xmax: BigInt(xmax),
    xip: xip === '' ? [] : xip.split(',').map((x) => BigInt(x)),
  };
}

/** The xid that `age(xid)` is measured against in {@link GAP_CHECK_AGE_SQL}. */
const AGE_REF = 3n; // FirstNormalTransactionId: never frozen, always "normal"
/** 2^32: xids in pg_locks and snapshots' low words are modulo this. */
export const TWO32 = 1n << 32n;

/**
 * An upper bound of the next xid to be assigned when the snapshot was taken, from the statement's
 * `age('3'::xid)` (32-bit: next xid − 3, as int4) widened against the snapshot's xmax. The next
 * xid is never below xmax and never 2^31 above it.
 */
export function nextXidBound(snapshotXmax: bigint, age: number): bigint {
  const next32 = (((BigInt(age) + AGE_REF) % TWO32) + TWO32) % TWO32;
  const lo = snapshotXmax % TWO32;
  return snapshotXmax + ((next32 - lo + TWO32) % TWO32);
}

/**
 * The transactions a hole must wait for: every transaction that was running when a snapshot was
 * taken after the hole's upper row became visible. `xip` lists those below xmax; those at or above
 * xmax (assigned after the newest completed transaction) are in `[rangeFrom, rangeTo)`.
 */
export interface WaitSet {
  readonly xids: ReadonlySet<bigint>;
  readonly rangeFrom: bigint;
  /** Exclusive; equal to rangeFrom when the range is empty. */
  readonly rangeTo: bigint;
}

/** The wait set of a snapshot and the statement's next-xid bound. */
export function waitSetOf(snapshot: PgSnapshot, bound: bigint): WaitSet {
  return {
    xids: new Set(snapshot.xip),
    rangeFrom: snapshot.xmax,
    rangeTo: maxBig(bound, snapshot.xmax),
  };
}

/** True when `xid` is a member of the wait set. */
export function inWaitSet(w: WaitSet, xid: bigint): boolean {
  return w.xids.has(xid) || (xid >= w.rangeFrom && xid < w.rangeTo);
}

/** True when `xid` had finished (committed or aborted) in `snapshot`. */
export function finishedIn(snapshot: PgSnapshot, xid: bigint): boolean {
  return xid < snapshot.xmax && !snapshot.xip.includes(xid);
}

/**
 * The members of `w` still running in a later snapshot (never adds a member). Empty means every
 * transaction that could hold an id of the hole had finished when `later` was taken, so the rows
 * read with `later` are final for the hole.
 */
export function stillRunning(w: WaitSet, later: PgSnapshot): WaitSet {
  const xids = new Set<bigint>();
  for (const x of w.xids) if (!finishedIn(later, x)) xids.add(x);
  // Range members still running: those listed in later.xip, and those at or above later.xmax.
  for (const x of later.xip) if (x >= w.rangeFrom && x < w.rangeTo) xids.add(x);
  const from = maxBig(later.xmax, w.rangeFrom);
  return { xids, rangeFrom: from, rangeTo: maxBig(from, w.rangeTo) };
}

/** True when the wait set has no member. */
export function isEmptyWaitSet(w: WaitSet): boolean {
  return w.xids.size === 0 && w.rangeTo <= w.rangeFrom;
}

/** The xids of the wait set (the range enumerated), for logs and lock refinement. */
export function waitSetMembers(w: WaitSet, max = 10_000): bigint[] {
  const out = [...w.xids];
  for (let x = w.rangeFrom; x < w.rangeTo && out.length < max; x++) out.push(x);
  return out;
}

/**
 * The select-list fragment of a gap check: the statement's own snapshot and its next-xid age,
 * read in the same statement as the rows (so the rows and the snapshot agree).
 */
export const GAP_CHECK_AGE_SQL = "pg_current_snapshot()::text, age('3'::xid)";

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
