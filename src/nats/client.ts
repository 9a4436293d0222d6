import { type Clock, type CursorStore, type StreamFunc, systemClock } from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { checkRequiredOptionKeys } from '../internal/options.js';
import { Connection } from './connection.js';
import { kvLeases } from './leases.js';
import type { JetStreamLeasesOptions, JetStreamShardLeases } from './leases-options.js';
import { Relay } from './relay.js';
import {
  checkStreamName,
  type JetStreamRelay,
  type JetStreamRelayOptions,
  relaySettings,
} from './relay-options.js';
import { sourceFunc, sourceSettings } from './source.js';
import type { JetStreamSourceOptions } from './source-options.js';
import { checkFilterSubject } from './subjects.js';

/**
 * A connection of the `nats` package (`NatsConnection`, v2) that you made yourself. Typed
 * structurally so that the public API compiles without the package.
 */
export interface NatsConnectionLike {
  jetstream(options?: object): unknown;
  jetstreamManager(options?: object): Promise<unknown>;
  isClosed(): boolean;
  close(): Promise<void>;
}

/** Options of {@link newJetStreamClient}. */
export interface JetStreamClientOptions {
  /** The NATS servers to connect to (any node of a cluster; the client learns the others). @default 'nats://127.0.0.1:4222' */
  readonly servers?: string | readonly string[];
  /**
   * Your own connection instead (then `servers`, `name` and `maxReconnectAttempts` must be left
   * out, and `close()` leaves it open). @default a connection made from the options
   */
  readonly connection?: NatsConnectionLike;
  /** The connection's name, shown by the server. @default none */
  readonly name?: string;
  /** How long to wait to connect, for a JetStream API answer and for each publish's acknowledgement, in ms. @default 5000 */
  readonly timeoutMs?: number;
  /**
   * Reconnections tried after the connection is lost (every 2 s) before the client gives up and
   * open streams fail with `ERR_REFLEX_UNAVAILABLE`; -1 tries forever. @default 10
   */
  readonly maxReconnectAttempts?: number;
  /** The time source of the sources' `lag`. @default the system clock */
  readonly clock?: Clock;
}

/** A connection to NATS JetStream: the JetStream bridge's sources and relays share it. */
export interface JetStreamClient extends AsyncDisposable {
  /**
   * The JetStream stream `stream` as a reflex stream: every consumer, pattern, cursor store and
   * the gRPC server work on it. The cursor is the stream sequence (a decimal string; '' = from
   * the start). Each stream opened is an ordered consumer of JetStream (ephemeral, in memory,
   * recreated by the client at the right sequence after a hiccup, deleted by `close()`),
   * reading ahead at most `bufferSize` messages.
   *
   * Events come from the relay's headers (`relayHeaders`): `id` = the stream sequence, `type`,
   * `foreignId`, `timestamp`, `trace`; the payload is the metadata (none when empty). A message
   * written by another publisher is type 0, foreign id '', at JetStream's timestamp.
   *
   * Stream options: `fromHead` starts after the stream's last sequence when the stream opens;
   * `toHead` ends with `ERR_REFLEX_HEAD_REACHED` once the message at the sequence that was last
   * when the stream opened is delivered (or the stream holds no later one for this filter); `lag`
   * holds each event until its timestamp is that old (`run` applies lag itself).
   *
   * Errors: a missing stream is `ERR_REFLEX_NATS_STREAM_NOT_FOUND`; an unreachable server, or a
   * connection lost for good (after `maxReconnectAttempts`), `ERR_REFLEX_UNAVAILABLE`; a bad
   * cursor `ERR_REFLEX_INVALID_CURSOR`; a malformed reflex header `ERR_REFLEX_DESERIALIZATION`.
   *
   * @example
   * const js = newJetStreamClient({ servers: 'nats://nats-1:4222,nats://nats-2:4222' });
   * await run(newSpec(js.source('ORDERS'), cursors, consumer), { signal });
   */
  source(stream: string, options?: JetStreamSourceOptions): StreamFunc;
  /**
   * A relay that publishes a reflex stream (an events table's `toStream`, say) into the
   * JetStream stream `options.stream`: each event goes to `<subjectPrefix>.<type>` (or
   * `options.subject(event)`) with its id as `Nats-Msg-Id` (JetStream de-duplicates it within
   * the stream's duplicate window, 2 min by default), its foreign id, type, timestamp and trace
   * as headers (`relayHeaders`) and its metadata as the payload.
   *
   * Up to `maxInFlight` publishes await their acknowledgement at once; the acknowledgements are
   * taken in order and the cursor (in `store`, under `options.name`) moves only past
   * acknowledged events. After a crash the events after the cursor are published again, and
   * JetStream drops the ones it already holds: within the duplicate window no event is lost or
   * doubled. With `ordered` (the default) each publish also expects the previous one's sequence,
   * so the stream holds the events in their order even when a publish fails mid-flight.
   *
   * Run it with {@link newJetStreamRelaySpec} and `run` or `runForever` (a failed publish ends
   * the run: `runForever` starts again from the cursor). Errors: a missing stream is
   * `ERR_REFLEX_NATS_STREAM_NOT_FOUND` (at the start of a run); a subject that is malformed or
   * not captured by the stream `ERR_REFLEX_NATS_SUBJECT` (the cursor stays before that event);
   * an unreachable server, a lost connection or an acknowledgement that timed out
   * `ERR_REFLEX_UNAVAILABLE`; a refused publish `ERR_REFLEX_NATS_PUBLISH`.
   *
   * @example
   * const relay = js.relay(cursors.toStore(db), { name: 'orders-relay', stream: 'ORDERS' });
   * await runForever(newJetStreamRelaySpec(events.toStream(db), relay), { signal });
   */
  relay(store: CursorStore, options: JetStreamRelayOptions): JetStreamRelay;
  /**
   * Shard leases of the group `options.group` on JetStream's key-value store (bucket
   * `options.bucket`, created when missing), for `runShardGroup` without SQL: the same contract
   * as the SQL leases table. The shard's cursors live in its lease key, and every write of that
   * key (renewal, cursor) is a compare-and-set on the revision this member wrote last, so once
   * another member took the shard a stale holder's cursor write is refused
   * (`ERR_REFLEX_LEASE_LOST`); a holder that did not renew within the lease period (a paused
   * process) refuses its own writes. Leases expire by the server's clock (the time of the key's
   * last write). A stored shard count other than `options.shards` is
   * `ERR_REFLEX_SHARD_COUNT_MISMATCH` at `join`.
   *
   * @example
   * const leases = js.leases({ group: 'mailer', shards: 8 });
   * await runShardGroup(leases, { stream, fn: sendMail, signal });
   */
  leases(options: JetStreamLeasesOptions): JetStreamShardLeases;
  /** Closes the connection it made (not one you gave); open streams then fail. Idempotent. */
  close(): Promise<void>;
}

const clientKeys = ['servers', 'connection', 'name', 'timeoutMs', 'maxReconnectAttempts', 'clock'];

/**
 * Makes a client of NATS JetStream for the bridge (`source`, `relay`). It connects at the first
 * use, loading the optional peer dependency `nats` (v2) then; a failed connection is
 * `ERR_REFLEX_UNAVAILABLE` and the next use tries again.
 *
 * @example
 * const js = newJetStreamClient({ servers: 'nats://127.0.0.1:4222' });
 * const stream = js.source('ORDERS');
 * // …
 * await js.close();
 */
export function newJetStreamClient(options: JetStreamClientOptions = {}): JetStreamClient {
  checkRequiredOptionKeys(options, clientKeys, 'JetStream client');
  const own = options.connection;
  if (own !== undefined) {
    if (
      typeof own !== 'object' ||
      own === null ||
      typeof own.jetstream !== 'function' ||
      typeof own.jetstreamManager !== 'function'
    ) {
      throw invalidArgument(
        'JetStream client connection must be a NatsConnection of the nats package',
      );
    }
    if (
      options.servers !== undefined ||
      options.name !== undefined ||
      options.maxReconnectAttempts !== undefined
    ) {
      throw invalidArgument(
        'JetStream client: give either connection or servers/name/maxReconnectAttempts, not both',
      );
    }
  }
  const serversOption = options.servers ?? 'nats://127.0.0.1:4222';
  const servers = (
    typeof serversOption === 'string' ? serversOption.split(',') : [...serversOption]
  ).map((s) => (typeof s === 'string' ? s.trim() : s));
  if (servers.length === 0 || servers.some((s) => typeof s !== 'string' || s === '')) {
    throw invalidArgument('JetStream client servers must be non-empty URLs (nats://host:port)');
  }
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalidArgument(
      `JetStream client timeoutMs must be a number of ms > 0, got ${timeoutMs}`,
    );
  }
  const maxReconnectAttempts = options.maxReconnectAttempts ?? 10;
  if (!Number.isSafeInteger(maxReconnectAttempts) || maxReconnectAttempts < -1) {
    throw invalidArgument('JetStream client maxReconnectAttempts must be an integer ≥ -1');
  }
  if (options.name !== undefined && typeof options.name !== 'string') {
    throw invalidArgument('JetStream client name must be a string');
  }
  const clock = options.clock ?? systemClock;
  const conn = new Connection({
    servers,
    timeoutMs,
    maxReconnectAttempts,
    name: options.name,
    connection: own,
  });
  const close = (): Promise<void> => conn.close();
  return Object.freeze({
    source: (stream: string, sourceOptions: JetStreamSourceOptions = {}) => {
      checkStreamName(stream, 'JetStream source stream');
      checkRequiredOptionKeys(
        sourceOptions,
        ['filterSubject', 'bufferSize', 'clock'],
        'JetStream source',
      );
      const settings = sourceSettings(
        stream,
        sourceOptions,
        (f) => checkFilterSubject(f, 'JetStream source filterSubject'),
        clock,
      );
      return sourceFunc(conn, settings);
    },
    relay: (store: CursorStore, relayOptions: JetStreamRelayOptions) =>
      new Relay(conn, store, relaySettings(relayOptions)),
    leases: (leasesOptions: JetStreamLeasesOptions) => kvLeases(conn, leasesOptions),
    close,
    [Symbol.asyncDispose]: close,
  });
}
