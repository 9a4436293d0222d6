/**
 * What a consumer is doing, worst first when several apply:
 * - `'erroring'`: it recorded an error in the errors table recently (see `errorWindowMs`);
 * - `'stalled'`: events wait for it and its cursor has not moved for `stalledAfterMs`;
 * - `'moving'`: events wait for it and its cursor moved recently;
 * - `'caught-up'`: its cursor is at the head.
 */
export type ConsumerState = 'erroring' | 'stalled' | 'moving' | 'caught-up';

/** The last error a consumer recorded in the errors table. */
export interface ConsumerError {
  readonly message: string;
  readonly eventId: string;
  /** ISO time the error row was last written. */
  readonly at: string;
}

/** One consumer (one row of a cursors table) and how far behind its stream it is. */
export interface ConsumerStatus {
  /** The events table it reads. */
  readonly stream: string;
  /** The cursors table its cursor is in. */
  readonly cursorsTable: string;
  readonly name: string;
  /** Its stored cursor ('' when it has none yet). */
  readonly cursor: string;
  /** Ids between its cursor and the head (exact unless ids have holes); null for a non-integer cursor. */
  readonly lagEvents: number | null;
  /** Age in seconds of the oldest event it has not consumed (its event timestamp); 0 when caught up. */
  readonly lagSeconds: number;
  readonly state: ConsumerState;
  /** ISO time the state began when known: stalled since, erroring since; null otherwise. */
  readonly since: string | null;
  /** ISO time its cursor row was last written, when the table records it. */
  readonly updatedAt: string | null;
  readonly lastError: ConsumerError | null;
  /** Events consumed per second lately; null until two samples were taken. */
  readonly ratePerSecond: number | null;
  /** Events consumed per second in each bucket of the history window, oldest first. */
  readonly throughput: readonly number[];
  /**
   * For a shard of a leased consumer group: the member (process) holding a live lease on it, ''
   * when none does (released, or its holder's lease expired). null for a consumer that is not a
   * leased shard, or when no leases table is watched.
   */
  readonly holder: string | null;
}

/** One events table: its head and how fast events are written. */
export interface StreamStatus {
  /** The events table. */
  readonly name: string;
  /** The greatest id ('' when the table is empty). */
  readonly head: string;
  /** ISO timestamp of the head event; null when the table is empty. */
  readonly headAt: string | null;
  /** Events written per second lately; null until two samples were taken. */
  readonly ratePerSecond: number | null;
  /** Events written per second in each bucket of the history window, oldest first. */
  readonly throughput: readonly number[];
}

/** A gRPC call being served. */
export interface GrpcClientStatus {
  /** `ip:port` of the client. */
  readonly peer: string;
  /** The method it streams, e.g. `reflexpb.Reflex/Stream`. */
  readonly method: string;
  /** ISO time the call began. */
  readonly since: string;
  /** Events sent on this call so far. */
  readonly sentEvents: number;
}

/** The gRPC server beside the page. */
export interface GrpcStatus {
  readonly address: string;
  readonly openStreams: number;
  readonly sentEvents: number;
  /** The calls being served; null when the server does not list them. */
  readonly clients: readonly GrpcClientStatus[] | null;
}

/** One sample of every stream and consumer a monitor watches: what the page and `/status.json` show. */
export interface StatusSnapshot {
  /** ISO time of the sample. */
  readonly at: string;
  /** ms between samples. */
  readonly intervalMs: number;
  /** ms covered by each `throughput` bucket. */
  readonly bucketMs: number;
  readonly streams: readonly StreamStatus[];
  /** Every consumer, by stream then name. */
  readonly consumers: readonly ConsumerStatus[];
  readonly grpc: GrpcStatus | null;
  /** What could not be read in this sample (a missing table, a lost connection), one line each. */
  readonly problems: readonly string[];
}
