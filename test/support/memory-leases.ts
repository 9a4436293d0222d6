import {
  type Clock,
  type CursorStore,
  ErrorCode,
  ReflexError,
  type ShardGroupState,
  type ShardLease,
  type ShardLeaseStore,
} from '../../src/core/index.js';
import { RsqlErrorCode } from '../../src/rsql/index.js';

interface Row {
  holder: string;
  token: number;
  expiresAt: number;
}

/**
 * The rows of a leases table in memory, on an injected clock: the same rules as the SQL table
 * (a lease lives until `expiresAt`, every acquisition increments the token, cursor writes are
 * fenced), so the runner's logic can be tested on a manual clock. `down` makes every call fail
 * as a database outage would.
 */
export class MemoryLeases {
  readonly clock: Clock;
  shards: number | undefined;
  readonly rows = new Map<number, Row>();
  readonly members = new Map<string, number>();
  /** Stored cursors, by name. */
  readonly cursors = new Map<string, number>();
  /** Every accepted cursor write: [name, cursor, token]. */
  readonly writes: [string, number, number][] = [];
  /** Refused (fenced) cursor writes. */
  refused = 0;
  down = false;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  #check(): void {
    if (this.down) throw new ReflexError(RsqlErrorCode.database, 'database down');
  }

  live(row: Row | undefined): boolean {
    return row !== undefined && row.holder !== '' && row.expiresAt > this.clock.now();
  }

  holderOf(shard: number): string {
    const row = this.rows.get(shard);
    return this.live(row) ? (row?.holder ?? '') : '';
  }

  member(
    id: string,
    shards: number,
    leasePeriodMs: number,
    renewIntervalMs: number,
  ): ShardLeaseStore {
    const db = this;
    const now = (): number => this.clock.now();
    return {
      group: 'g',
      shards,
      memberId: id,
      leasePeriodMs,
      renewIntervalMs,
      async join() {
        db.#check();
        db.shards ??= shards;
        if (db.shards !== shards) {
          throw new ReflexError(ErrorCode.shardCountMismatch, 'shard count mismatch');
        }
        for (let i = 0; i < shards; i++) {
          if (!db.rows.has(i)) db.rows.set(i, { holder: '', token: 0, expiresAt: 0 });
        }
        db.members.set(id, now() + leasePeriodMs);
      },
      async renew(): Promise<ShardGroupState> {
        db.#check();
        const t = now();
        db.members.set(id, t + leasePeriodMs); // re-registers an expired member, as SQL does
        for (const row of db.rows.values()) {
          if (row.holder === id && row.expiresAt > t) row.expiresAt = t + leasePeriodMs;
        }
        const members = [...db.members].filter(([, e]) => e > t).map(([m]) => m);
        const holders: string[] = [];
        const held: ShardLease[] = [];
        for (let i = 0; i < shards; i++) {
          const row = db.rows.get(i);
          const h = db.live(row) ? (row?.holder ?? '') : '';
          holders.push(h);
          if (h === id && row !== undefined) held.push({ shard: i, token: row.token });
        }
        return { members: members.sort(), holders, held };
      },
      async acquire(list) {
        db.#check();
        const got: ShardLease[] = [];
        for (const i of list) {
          const row = db.rows.get(i);
          if (row === undefined) continue;
          if (row.holder === '' || row.expiresAt <= now()) {
            row.holder = id;
            row.token++;
            row.expiresAt = now() + leasePeriodMs;
            got.push({ shard: i, token: row.token });
          }
        }
        return got;
      },
      async release(list) {
        db.#check();
        for (const i of list) {
          const row = db.rows.get(i);
          if (row?.holder === id) Object.assign(row, { holder: '', expiresAt: 0 });
        }
      },
      async leave() {
        db.#check();
        for (const row of db.rows.values()) {
          if (row.holder === id) Object.assign(row, { holder: '', expiresAt: 0 });
        }
        db.members.delete(id);
      },
      cursorStore(lease: ShardLease): CursorStore & { close(): Promise<void> } {
        const write = (name: string, cursor: string): void => {
          db.#check();
          const row = db.rows.get(lease.shard);
          if (!(row?.holder === id && row.token === lease.token && row.expiresAt > now())) {
            db.refused++;
            throw new ReflexError(ErrorCode.leaseLost, 'lease lost');
          }
          const c = Number(cursor);
          if (c > (db.cursors.get(name) ?? 0)) db.cursors.set(name, c);
          db.writes.push([name, c, lease.token]);
        };
        return {
          getCursor: async (name) => String(db.cursors.get(name) ?? ''),
          setCursor: async (name, cursor) => write(name, cursor),
          flush: async () => {},
          close: async () => {},
        };
      },
    };
  }
}
