// The public types of the JetStream leases, apart from their implementation: the declarations a
// user's compiler reads must not reach the `nats` package's types (an optional peer).
import type { ShardLeaseStore } from '../core/index.js';

/** Options of {@link JetStreamClient.leases}. */
export interface JetStreamLeasesOptions {
  /** The consumer group (the sharded consumer's name). Required. */
  readonly group: string;
  /** The number of shards, the same for every member. Required. */
  readonly shards: number;
  /** The key-value bucket, created (history 1, file storage) when missing. @default 'reflex_leases' */
  readonly bucket?: string;
  /** How long a lease lives after its last renewal, by the NATS server's clock. @default 5000 */
  readonly leasePeriodMs?: number;
  /** How often the runner renews; shorter than `leasePeriodMs`. @default leasePeriodMs / 3 */
  readonly renewIntervalMs?: number;
  /** This member's id. @default host:pid:random */
  readonly memberId?: string;
}

/** Leases of one group on JetStream's key-value store (see {@link JetStreamClient.leases}). */
export interface JetStreamShardLeases extends ShardLeaseStore {
  readonly bucket: string;
  /** The group's shard count and each shard's live holder ('' = free), as the status view shows. */
  holders(): Promise<{ shards: number; holders: string[] }>;
}
