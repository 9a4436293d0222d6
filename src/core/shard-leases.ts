import type { CursorStore } from './cursor-store.js';

/**
 * A lease this member holds on one shard of a group. The fencing `token` grows by one on every
 * acquisition of the shard (by any member), so a write carrying an older token is recognisably
 * stale.
 */
export interface ShardLease {
  /** 0-based shard index. */
  readonly shard: number;
  /** The fencing token of this acquisition. */
  readonly token: number;
}

/** What one renewal round saw of a group. */
export interface ShardGroupState {
  /** The live members (this one included once it has joined), sorted. */
  readonly members: readonly string[];
  /**
   * Per shard (index = shard): the member holding a live lease on it, or '' when the shard is
   * free (never taken, released, or its lease expired).
   */
  readonly holders: readonly string[];
  /** The leases this member holds after the round (all renewed by it), by shard. */
  readonly held: readonly ShardLease[];
}

/**
 * Leases on the `shards` shards of one consumer group, shared by every member (process) running
 * it: the contract between a lease backend (`newLeasesTable` of `reflex-events/rsql`) and the
 * runner that spreads the shards (`runShardGroup` of `reflex-events/rpatterns`).
 *
 * A lease lasts `leasePeriodMs` from its last renewal, measured by the backend's own clock (the
 * database's), so members on several machines need no synchronised clocks. Calls of one store are
 * made one at a time by its runner (no concurrent calls).
 */
export interface ShardLeaseStore {
  /** The group: the consumer whose shards are leased (the shards' cursor names start with it). */
  readonly group: string;
  /** The number of shards; stored with the group, the same for every member. */
  readonly shards: number;
  /** This member's id, unique per process start (host, pid and a random part). */
  readonly memberId: string;
  readonly leasePeriodMs: number;
  /** How often the runner renews; always shorter than `leasePeriodMs`. */
  readonly renewIntervalMs: number;
  /**
   * Creates the group when missing, checks its shard count (`ERR_REFLEX_SHARD_COUNT_MISMATCH`
   * when the stored one differs) and registers this member as live. Idempotent: a member whose
   * registration expired (a paused process) joins again.
   */
  join(): Promise<void>;
  /** Renews this member and every lease it holds (one statement), then reads the group. */
  renew(): Promise<ShardGroupState>;
  /** Takes the listed shards that are free; resolves with the leases it got (maybe none). */
  acquire(shards: readonly number[]): Promise<ShardLease[]>;
  /** Gives up the listed shards this member holds, so another member can take them at once. */
  release(shards: readonly number[]): Promise<void>;
  /** Releases every lease of this member and unregisters it. */
  leave(): Promise<void>;
  /**
   * A cursor store whose every write carries `lease`'s token and is refused with
   * `ERR_REFLEX_LEASE_LOST` once the lease has moved on (expired or taken over), in the same
   * statement as the write: a stale holder can move no cursor, back or forward. Once refused,
   * the store drops what it buffered and refuses every later write. `close` flushes and stops
   * its timer.
   */
  cursorStore(lease: ShardLease): CursorStore & { close(): Promise<void> };
}
