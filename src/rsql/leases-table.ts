import {
  type CursorStore,
  ErrorCode,
  ReflexError,
  type ShardGroupState,
  type ShardLease,
  type ShardLeaseStore,
} from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { defaultMemberId, leaseTiming } from '../internal/lease-timing.js';
import { checkOptionKeys, intOption } from '../internal/options.js';
import { settled } from '../internal/settled.js';
import { type CursorsTable, SqlCursorsTable } from './cursors-table.js';
import type { Dialect, LeasesSchema, LeasesStatements, SqlValue } from './dialect.js';
import { RsqlErrorCode } from './error-codes.js';
import { bindHandle, databaseError } from './handles.js';
import { validateIdentifier } from './identifiers.js';
import { groupKey, memberKey, shardKey } from './leases-sql.js';
import type { SqlDatabase } from './sql-handle.js';
import { checkRowName } from './text.js';

/** Options of {@link LeasesTable.toGroup}. */
export interface ShardGroupOptions {
  /** The consumer whose shards are leased (the group's name; shard cursors start with it). */
  readonly group: string;
  /** The number of shards, stored with the group on first use. 1 to 10,000. */
  readonly shards: number;
  /** Where the shards' cursors live: the fenced cursor writes go to this table. */
  readonly cursors: CursorsTable;
  /**
   * How long a lease lasts after its last renewal, in ms: a member that dies has its shards
   * taken over within about this (plus one renewal interval). @default 5000
   */
  readonly leasePeriodMs?: number;
  /**
   * How often a member renews its leases and rebalances, in ms; must be shorter than
   * `leasePeriodMs` (else `ERR_REFLEX_INVALID_ARGUMENT`). @default leasePeriodMs / 3, rounded down
   */
  readonly renewIntervalMs?: number;
  /**
   * The flush period of the shards' fenced cursor stores, in ms (0 = write every cursor at once).
   * A takeover may handle again what the dead member handled since its last flush.
   * @default 1000
   */
  readonly cursorFlushMs?: number;
  /** This member's id, unique per process start. @default `${hostname}:${pid}:${random}` */
  readonly memberId?: string;
}

/** A leases table: the leases of sharded consumer groups, in the cursors' database. */
export interface LeasesTable {
  readonly name: string;
  /** Creates the table when missing (idempotent). */
  createTable(db: SqlDatabase): Promise<void>;
  /**
   * This process's membership of a shard group on `db` (nothing is written until `join`): hand
   * it to `runShardGroup` (`reflex-events/rpatterns`).
   * @example
   * const group = leases.toGroup(pool, { group: 'mailer', shards: 8, cursors });
   * await runShardGroup(group, { stream: events.toStream(pool), fn: sendMail, signal });
   */
  toGroup(db: SqlDatabase, options: ShardGroupOptions): SqlShardLeases;
  /** Who holds which shard of `group` now (for status views): '' for a free shard. */
  holders(db: SqlDatabase, group: string): Promise<{ shards: number; holders: string[] }>;
  /** Every group of the table with who holds which shard now (one query), by group name. */
  list(db: SqlDatabase): Promise<ShardGroupHolders[]>;
}

/** Who holds which shard of a group (see {@link LeasesTable.list}). */
export interface ShardGroupHolders {
  readonly group: string;
  readonly shards: number;
  /** Per shard: the member holding a live lease, or '' when the shard is free. */
  readonly holders: readonly string[];
}

/** A {@link ShardLeaseStore} over a leases table. */
export interface SqlShardLeases extends ShardLeaseStore {
  /** The fencing cursor flush period, in ms. */
  readonly cursorFlushMs: number;
}

/**
 * Defines a leases table (the name is validated; nothing is queried until used). Its rows: one
 * per group (the shard count), one per shard (holder, fencing token, expiry on the database's
 * clock) and one per live member. See docs/scaling.md.
 */
export function newLeasesTable(name: string, options?: Record<string, never>): LeasesTable {
  checkOptionKeys(options, [], 'leases table');
  return new SqlLeasesTable({ table: validateIdentifier(name, 'table name', true) });
}

class SqlLeasesTable implements LeasesTable {
  readonly name: string;
  readonly schema: LeasesSchema;
  readonly #statements = new Map<Dialect, LeasesStatements>();

  constructor(schema: LeasesSchema) {
    this.name = schema.table;
    this.schema = schema;
  }

  statementsOf(dialect: Dialect): LeasesStatements {
    let s = this.#statements.get(dialect);
    if (s === undefined) {
      s = dialect.leasesStatements(this.schema);
      this.#statements.set(dialect, s);
    }
    return s;
  }

  async createTable(db: SqlDatabase): Promise<void> {
    const { dialect, executor } = bindHandle(db);
    try {
      for (const sql of this.statementsOf(dialect).createTable) await executor.execute(sql);
    } catch (err) {
      throw databaseError(dialect, err, `leases table ${this.name}: create table`);
    }
  }

  toGroup(db: SqlDatabase, options: ShardGroupOptions): SqlShardLeases {
    checkOptionKeys(
      options,
      [
        'group',
        'shards',
        'cursors',
        'leasePeriodMs',
        'renewIntervalMs',
        'cursorFlushMs',
        'memberId',
      ],
      'shard group',
    );
    if (options === undefined) throw invalidArgument('shard group options are required');
    const group = checkRowName(options.group, 'shard group name');
    if (options.shards === undefined) throw invalidArgument('shard group shards is required');
    const shards = intOption(options.shards, 'shards', 1, 1, 10_000);
    if (!(options.cursors instanceof SqlCursorsTable)) {
      throw invalidArgument('shard group cursors must be a table of newCursorsTable');
    }
    const { leasePeriodMs, renewIntervalMs } = leaseTiming(options);
    const cursorFlushMs = intOption(options.cursorFlushMs, 'cursorFlushMs', 1000, 0, 3_600_000);
    const memberId =
      options.memberId === undefined
        ? defaultMemberId()
        : checkRowName(options.memberId, 'memberId');
    if (memberId.length > 200) throw invalidArgument('memberId must be at most 200 characters');
    bindHandle(db); // validates the handle now
    return new SqlGroup(this, db, options.cursors, {
      group,
      shards,
      leasePeriodMs,
      renewIntervalMs,
      cursorFlushMs,
      memberId,
    });
  }

  async holders(db: SqlDatabase, group: string): Promise<{ shards: number; holders: string[] }> {
    checkRowName(group, 'shard group name');
    const { dialect, executor } = bindHandle(db);
    const s = this.statementsOf(dialect);
    try {
      const count = Number((await executor.query(s.selectShardCount, [group]))[0]?.[0] ?? 0);
      const holders: string[] = Array.from({ length: count }, () => '');
      for (const [key, holder, , live] of await executor.query(s.selectGroup, [group])) {
        const shard = shardOf(key);
        if (shard !== undefined && shard < count && Number(live) === 1) {
          holders[shard] = String(holder);
        }
      }
      return { shards: count, holders };
    } catch (err) {
      throw databaseError(dialect, err, `leases table ${this.name}: read group ${group}`);
    }
  }

  async list(db: SqlDatabase): Promise<ShardGroupHolders[]> {
    const { dialect, executor } = bindHandle(db);
    try {
      return groupsOf(await executor.query(this.statementsOf(dialect).selectAll));
    } catch (err) {
      throw databaseError(dialect, err, `leases table ${this.name}: list`);
    }
  }
}

/** Every group and its holders from the rows of `selectAll`. */
function groupsOf(rows: unknown[][]): ShardGroupHolders[] {
  const groups = new Map<string, { shards: number; holders: string[] }>();
  const get = (name: string) => {
    let g = groups.get(name);
    if (g === undefined) {
      g = { shards: 0, holders: [] };
      groups.set(name, g);
    }
    return g;
  };
  for (const [group, key, holder, live, count] of rows) {
    const g = get(String(group));
    if (key === groupKey) {
      g.shards = Number(count);
      continue;
    }
    const shard = shardOf(key);
    if (shard === undefined) continue;
    while (g.holders.length <= shard) g.holders.push('');
    if (Number(live) === 1) g.holders[shard] = String(holder);
  }
  return [...groups]
    .map(([group, g]) => ({
      group,
      shards: g.shards,
      holders: Array.from({ length: g.shards }, (_, i) => g.holders[i] ?? ''),
    }))
    .sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

function shardOf(key: unknown): number | undefined {
  if (typeof key !== 'string' || !key.startsWith('shard:')) return undefined;
  const n = Number(key.slice(6));
  return Number.isSafeInteger(n) ? n : undefined;
}

interface GroupConfig {
  readonly group: string;
  readonly shards: number;
  readonly leasePeriodMs: number;
  readonly renewIntervalMs: number;
  readonly cursorFlushMs: number;
  readonly memberId: string;
}

const maxRowsPerStatement = 500;
/** Member rows expired for longer than this many lease periods are deleted by a renewal. */
const purgeAfterPeriods = 10;
/** One renewal in this many also purges long-expired member rows. */
const purgeEvery = 20;

class SqlGroup implements SqlShardLeases {
  readonly group: string;
  readonly shards: number;
  readonly memberId: string;
  readonly leasePeriodMs: number;
  readonly renewIntervalMs: number;
  readonly cursorFlushMs: number;
  readonly #table: SqlLeasesTable;
  readonly #db: SqlDatabase;
  readonly #cursors: SqlCursorsTable;
  #rounds = 0;

  constructor(table: SqlLeasesTable, db: SqlDatabase, cursors: SqlCursorsTable, c: GroupConfig) {
    this.#table = table;
    this.#db = db;
    this.#cursors = cursors;
    this.group = c.group;
    this.shards = c.shards;
    this.memberId = c.memberId;
    this.leasePeriodMs = c.leasePeriodMs;
    this.renewIntervalMs = c.renewIntervalMs;
    this.cursorFlushMs = c.cursorFlushMs;
  }

  async #run<T>(
    what: string,
    fn: (s: LeasesStatements, ex: ReturnType<typeof bindHandle>['executor']) => Promise<T>,
  ): Promise<T> {
    const { dialect, executor } = bindHandle(this.#db);
    try {
      return await fn(this.#table.statementsOf(dialect), executor);
    } catch (err) {
      throw databaseError(dialect, err, `leases table ${this.#table.name}: ${what} ${this.group}`);
    }
  }

  join(): Promise<void> {
    return this.#run('join', async (s, ex) => {
      await ex.execute(s.insertAbsent(1), [this.group, groupKey, this.shards]);
      const stored = Number((await ex.query(s.selectShardCount, [this.group]))[0]?.[0]);
      if (stored !== this.shards) {
        throw new ReflexError(
          ErrorCode.shardCountMismatch,
          `shard group ${this.group} has ${stored} shards stored, this member was started with ${this.shards}: run every member with the same count, or use a new group name`,
        );
      }
      for (let i = 0; i < this.shards; i += maxRowsPerStatement) {
        const n = Math.min(maxRowsPerStatement, this.shards - i);
        const params: SqlValue[] = [];
        for (let j = i; j < i + n; j++) params.push(this.group, shardKey(j), 0);
        await ex.execute(s.insertAbsent(n), params);
      }
      await ex.execute(s.upsertMember, [
        this.group,
        memberKey(this.memberId),
        this.memberId,
        this.leasePeriodMs,
      ]);
    });
  }

  renew(): Promise<ShardGroupState> {
    return this.#run('renew', async (s, ex) => {
      await ex.execute(s.renew, [this.leasePeriodMs, this.group, this.memberId]);
      if (++this.#rounds % purgeEvery === 0) {
        await ex.execute(s.purgeMembers, [this.group, purgeAfterPeriods * this.leasePeriodMs]);
      }
      let rows = await ex.query(s.selectGroup, [this.group]);
      const me = memberKey(this.memberId);
      if (!rows.some(([key, , , live]) => key === me && Number(live) === 1)) {
        // Our registration expired (a paused process): register again, keep no stale lease.
        await ex.execute(s.upsertMember, [this.group, me, this.memberId, this.leasePeriodMs]);
        rows = await ex.query(s.selectGroup, [this.group]);
      }
      return this.#state(rows);
    });
  }

  #state(rows: unknown[][]): ShardGroupState {
    const members: string[] = [];
    const holders: string[] = Array.from({ length: this.shards }, () => '');
    const held: ShardLease[] = [];
    for (const [key, holder, token, live] of rows) {
      if (Number(live) !== 1) continue;
      if (typeof key === 'string' && key.startsWith('member:')) {
        members.push(String(holder));
        continue;
      }
      const shard = shardOf(key);
      if (shard === undefined || shard >= this.shards) continue;
      holders[shard] = String(holder);
      if (holder === this.memberId) held.push({ shard, token: Number(token) });
    }
    members.sort();
    held.sort((a, b) => a.shard - b.shard);
    return { members, holders, held };
  }

  acquire(shards: readonly number[]): Promise<ShardLease[]> {
    const wanted = this.#check(shards);
    if (wanted.length === 0) return Promise.resolve([]);
    return this.#run('acquire', async (s, ex) => {
      await ex.execute(s.acquire(wanted.length), [
        this.memberId,
        this.leasePeriodMs,
        this.group,
        ...wanted.map(shardKey),
      ]);
      const got: ShardLease[] = [];
      for (const [key, token] of await ex.query(s.selectHeld, [this.group, this.memberId])) {
        const shard = shardOf(key);
        if (shard !== undefined && wanted.includes(shard))
          got.push({ shard, token: Number(token) });
      }
      return got.sort((a, b) => a.shard - b.shard);
    });
  }

  release(shards: readonly number[]): Promise<void> {
    const list = this.#check(shards);
    if (list.length === 0) return Promise.resolve();
    return this.#run('release', async (s, ex) => {
      await ex.execute(s.release(list.length), [this.group, this.memberId, ...list.map(shardKey)]);
    });
  }

  leave(): Promise<void> {
    return this.#run('leave', async (s, ex) => {
      await ex.execute(s.releaseAll, [this.group, this.memberId]);
    });
  }

  #check(shards: readonly number[]): number[] {
    if (!Array.isArray(shards)) throw invalidArgument('shards must be an array of shard indexes');
    const list = [...new Set(shards)];
    for (const n of list) {
      if (!Number.isSafeInteger(n) || n < 0 || n >= this.shards) {
        throw invalidArgument(`shard ${String(n)} is not in [0, ${this.shards})`);
      }
    }
    if (list.length > maxRowsPerStatement) {
      throw invalidArgument(`at most ${maxRowsPerStatement} shards per call`);
    }
    return list;
  }

  cursorStore(lease: ShardLease): CursorStore & { close(): Promise<void> } {
    if (
      typeof lease !== 'object' ||
      lease === null ||
      !Number.isSafeInteger(lease.shard) ||
      !Number.isSafeInteger(lease.token)
    ) {
      throw invalidArgument('lease must be a { shard, token } returned by acquire or renew');
    }
    return new FencedCursorStore(this, lease);
  }

  /** Writes one cursor fenced by `lease`: true when written or not greater, false when lost. */
  async writeFenced(lease: ShardLease, name: string, cursor: string): Promise<boolean> {
    const { dialect, executor } = bindHandle(this.#db);
    const s = this.#table.statementsOf(dialect);
    const key = shardKey(lease.shard);
    const c = this.#cursors;
    try {
      const r = await executor.execute(s.fencedUpsert(c.schema), [
        name,
        c.bindValue(cursor),
        this.group,
        key,
        this.memberId,
        lease.token,
      ]);
      if (r.affectedRows > 0) {
        c.countSets(1);
        return true;
      }
      // Nothing written: either the cursor was not greater, or the lease moved on.
      const live = await executor.query(s.leaseLive, [this.group, key, this.memberId, lease.token]);
      return live.length > 0;
    } catch (err) {
      throw databaseError(dialect, err, `cursors table ${c.name}: fenced set ${name}`);
    }
  }

  getCursor(name: string): Promise<string> {
    return this.#cursors.getCursor(this.#db, name);
  }

  parse(cursor: string): string {
    return this.#cursors.parse(cursor);
  }

  compare(x: string, y: string): number {
    if (this.#cursors.intCursors && x.length !== y.length) return x.length > y.length ? 1 : -1;
    return x > y ? 1 : x < y ? -1 : 0;
  }
}

/**
 * The cursor store of one lease: writes fenced by its token, buffered for `cursorFlushMs` (last
 * write wins per name) like the cursors table's own store.
 */
class FencedCursorStore implements CursorStore {
  readonly #group: SqlGroup;
  readonly #lease: ShardLease;
  readonly #slots = new Map<string, { last: string; pending: boolean }>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #lost: ReflexError | undefined;
  #closed = false;

  constructor(group: SqlGroup, lease: ShardLease) {
    this.#group = group;
    this.#lease = lease;
  }

  #lostError(): ReflexError {
    this.#lost ??= new ReflexError(
      ErrorCode.leaseLost,
      `shard ${this.#lease.shard} of group ${this.#group.group}: the lease (token ${this.#lease.token}) moved on; cursor write refused`,
    );
    return this.#lost;
  }

  getCursor(name: string): Promise<string> {
    const slot = this.#slots.get(name);
    if (slot?.pending === true) return Promise.resolve(slot.last);
    return this.#group.getCursor(name);
  }

  setCursor(name: string, cursor: string): Promise<void> {
    try {
      checkRowName(name, 'consumer name');
      if (this.#lost !== undefined) throw this.#lost;
      if (this.#closed) throw new ReflexError(ErrorCode.closed, 'fenced cursor store is closed');
      const c = this.#group.parse(cursor);
      const slot = this.#slots.get(name);
      if (slot !== undefined) {
        const cmp = this.#group.compare(c, slot.last);
        if (cmp === 0) return settled;
        if (cmp < 0) {
          throw new ReflexError(
            RsqlErrorCode.cursorNotIncreasing,
            `attempted to set cursor ${c} of ${name} below ${slot.last}`,
          );
        }
        slot.last = c;
        slot.pending = true;
      } else {
        this.#slots.set(name, { last: c, pending: true });
      }
      if (this.#group.cursorFlushMs === 0) return this.flush();
      this.#arm();
      return settled;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#closed || this.#lost !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A failed flush keeps its cursors (re-armed by the next set); a lost lease drops them.
      this.flush().then(
        () => {},
        () => {
          if (this.#lost === undefined && [...this.#slots.values()].some((s) => s.pending)) {
            this.#arm();
          }
        },
      );
    }, this.#group.cursorFlushMs);
  }

  flush(): Promise<void> {
    const previous = this.#flushing ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.#flushNow());
    this.#flushing = next;
    return next.finally(() => {
      if (this.#flushing === next) this.#flushing = undefined;
    });
  }

  async #flushNow(): Promise<void> {
    if (this.#lost !== undefined) throw this.#lost;
    for (const [name, slot] of this.#slots) {
      if (!slot.pending) continue;
      slot.pending = false;
      const c = slot.last;
      let ok: boolean;
      try {
        ok = await this.#group.writeFenced(this.#lease, name, c);
      } catch (err) {
        slot.pending = true;
        throw err;
      }
      if (!ok) {
        // Never written, never retried: the new holder replays from the stored cursor.
        this.#slots.clear();
        if (this.#timer !== undefined) clearTimeout(this.#timer);
        this.#timer = undefined;
        throw this.#lostError();
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}
