import { type Clock, codeOf, type Logger, noopLogger, systemClock } from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { checkRequiredOptionKeys, intOption } from '../internal/options.js';
import {
  type CursorsTable,
  type ErrorsTable,
  type EventsTable,
  type LeasesTable,
  newCursorsTable,
  newErrorsTable,
  newEventsTable,
  newLeasesTable,
  type SqlDatabase,
} from '../rsql/index.js';
import type {
  ConsumerStatus,
  GrpcClientStatus,
  GrpcStatus,
  StatusSnapshot,
  StreamStatus,
} from './snapshot.js';
import {
  type CursorRow,
  CursorsReader,
  type ErrorRow,
  ErrorsReader,
  EventsReader,
} from './sql-reader.js';
import { bucketRates, consumerState, recentRate, type Sample } from './state.js';

/** One events table and the cursors tables of its consumers. */
export interface StatusStreamOptions {
  /** The events table, or its name (default column names). */
  readonly events: EventsTable | string;
  /**
   * The cursors tables of its consumers, or their names; `{ table, db }` for one kept in another
   * database. @default ['cursors']
   */
  readonly cursors?: readonly (CursorsTable | string | StatusCursorsSource)[];
  /** The database of the cursors tables, when the consumers keep them elsewhere. @default the monitor's db */
  readonly cursorsDb?: SqlDatabase;
}

/** A cursors table kept in another database than the events table. */
export interface StatusCursorsSource {
  readonly table: CursorsTable | string;
  readonly db: SqlDatabase;
}

/** A call served by a gRPC server, as {@link StatusGrpcSource.clients} lists it. */
export interface StatusGrpcCall {
  readonly peer: string;
  readonly method: string;
  readonly startedAt: Date;
  readonly sentEvents: number;
}

/**
 * The gRPC server to show beside the streams: a `ReflexServer` of `reflex-events/grpc` fits. Only
 * read, never stopped by the monitor.
 */
export interface StatusGrpcSource {
  readonly address: string;
  readonly openStreams: number;
  readonly sentEvents: number;
  /** The calls being served, when the server lists them. */
  clients?(): readonly StatusGrpcCall[];
}

/** Options of {@link newStatusMonitor}. */
export interface StatusMonitorOptions {
  /** The streams to watch, each with the cursors tables of its consumers. */
  readonly streams: readonly StatusStreamOptions[];
  /** The consumer errors table whose latest row per consumer is shown, or its name. @default none */
  readonly errors?: ErrorsTable | string;
  /** The database of the errors table. @default the monitor's db */
  readonly errorsDb?: SqlDatabase;
  /** The gRPC server to show (address, open streams, clients). @default none */
  readonly grpc?: StatusGrpcSource;
  /**
   * The leases table of sharded consumer groups (`newLeasesTable`), or its name: each shard
   * consumer (named `<group>_<n>_of_<count>`) shows the member holding its lease. @default none
   */
  readonly leases?: LeasesTable | string;
  /** The database of the leases table. @default the monitor's db */
  readonly leasesDb?: SqlDatabase;
  /** ms between samples; each sample runs one query per table and per distinct lagging cursor. @default 2000 */
  readonly intervalMs?: number;
  /** ms of throughput history kept and charted. @default 300000 (5 minutes) */
  readonly historyMs?: number;
  /** Buckets the history is charted in. @default 30 */
  readonly buckets?: number;
  /** A consumer with events waiting whose cursor has not moved for this long is stalled, in ms. @default 30000 */
  readonly stalledAfterMs?: number;
  /** A consumer whose last error was recorded within this many ms is erroring. @default 300000 */
  readonly errorWindowMs?: number;
  /** Where failed samples are reported (they are also in the snapshot's `problems`). @default noopLogger */
  readonly logger?: Logger;
  /** The time source (tests). @default systemClock */
  readonly clock?: Clock;
}

/**
 * Samples streams and consumers in the background and keeps the latest {@link StatusSnapshot}
 * with a throughput history. Close it to stop sampling (idempotent).
 */
export interface StatusMonitor extends AsyncDisposable {
  /** The latest snapshot; waits for the first sample when none was taken yet. */
  snapshot(): Promise<StatusSnapshot>;
  /** Takes a sample now (joins the one in flight) and returns it. */
  refresh(): Promise<StatusSnapshot>;
  /** Calls `listener` with every new snapshot until the returned function is called. */
  onUpdate(listener: (snapshot: StatusSnapshot) => void): () => void;
  /** Stops sampling; pending `snapshot()` calls settle. Idempotent. */
  close(): Promise<void>;
}

const knownOptions = [
  'streams',
  'errors',
  'errorsDb',
  'grpc',
  'leases',
  'leasesDb',
  'intervalMs',
  'historyMs',
  'buckets',
  'stalledAfterMs',
  'errorWindowMs',
  'logger',
  'clock',
];

interface WatchedStream {
  readonly events: EventsReader;
  readonly cursors: readonly CursorsReader[];
}

/** What the monitor remembers of a consumer between samples. */
/** What one sample gathers as it goes. */
interface SampleRound {
  readonly now: number;
  /** Records a table that could not be read (shown on the page, logged). */
  readonly problem: (what: string, err: unknown) => void;
  lastErrors: Map<string, ErrorRow>;
  holders: Map<string, string>;
  /** History and seen keys still alive after this sample. */
  readonly liveKeys: Set<string>;
  /** Oldest-unconsumed times found this sample, by stream and cursor. */
  readonly firstAfter: Map<string, number | null>;
}

interface Seen {
  firstSeenAt: number;
  cursor: string;
  /** When this monitor saw the cursor change. */
  changedAt: number | null;
}

/**
 * Watches streams and their consumers on `db` (a pool or database of `reflex-events/rsql`): every
 * `intervalMs` it reads each events table's head and each consumer's cursor, the age of the
 * oldest event each consumer has not consumed, the latest error of each consumer, and the gRPC
 * server's calls. Reads only; a table that is missing or unreadable is reported in `problems`.
 *
 * @example
 * const monitor = newStatusMonitor(pool, {
 *   streams: [{ events: 'user_events', cursors: ['cursors'] }],
 *   errors: 'consumer_errors',
 * });
 * http.createServer(statusHandler(monitor)).listen(8080); // http://127.0.0.1:8080/status
 * // … on shutdown:
 * await monitor.close();
 */
export function newStatusMonitor(db: SqlDatabase, options: StatusMonitorOptions): StatusMonitor {
  checkRequiredOptionKeys(options, knownOptions, 'status monitor');
  if (!Array.isArray(options.streams)) {
    throw invalidArgument('status monitor option streams must be an array');
  }
  const streams: WatchedStream[] = options.streams.map((s) => {
    const events = typeof s.events === 'string' ? newEventsTable(s.events) : s.events;
    const cursorsDb = s.cursorsDb ?? db;
    return {
      events: new EventsReader(db, events),
      cursors: (s.cursors ?? ['cursors']).map((c: CursorsTable | string | StatusCursorsSource) => {
        const source = typeof c === 'object' && 'db' in c ? c : { table: c, db: cursorsDb };
        const table = source.table;
        return new CursorsReader(
          source.db,
          typeof table === 'string' ? newCursorsTable(table) : table,
        );
      }),
    };
  });
  const errors =
    options.errors === undefined
      ? undefined
      : new ErrorsReader(
          options.errorsDb ?? db,
          typeof options.errors === 'string'
            ? newErrorsTable({ table: options.errors })
            : options.errors,
        );
  const intervalMs = intOption(options.intervalMs, 'intervalMs', 2000, 10, 3_600_000);
  const historyMs = intOption(options.historyMs, 'historyMs', 300_000, intervalMs, 86_400_000);
  const buckets = intOption(options.buckets, 'buckets', 30, 1, 1000);
  return new Monitor(streams, errors, options.grpc, {
    intervalMs,
    historyMs,
    buckets,
    stalledAfterMs: intOption(
      options.stalledAfterMs,
      'stalledAfterMs',
      30_000,
      0,
      86_400_000 * 365,
    ),
    errorWindowMs: intOption(options.errorWindowMs, 'errorWindowMs', 300_000, 0, 86_400_000 * 365),
    logger: options.logger ?? noopLogger,
    clock: options.clock ?? systemClock,
    leases:
      options.leases === undefined
        ? undefined
        : {
            table:
              typeof options.leases === 'string' ? newLeasesTable(options.leases) : options.leases,
            db: options.leasesDb ?? db,
          },
  });
}

interface MonitorConfig {
  readonly intervalMs: number;
  readonly historyMs: number;
  readonly buckets: number;
  readonly stalledAfterMs: number;
  readonly errorWindowMs: number;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly leases: { readonly table: LeasesTable; readonly db: SqlDatabase } | undefined;
}

class Monitor implements StatusMonitor {
  readonly #streams: readonly WatchedStream[];
  readonly #errors: ErrorsReader | undefined;
  readonly #grpc: StatusGrpcSource | undefined;
  readonly #config: MonitorConfig;
  readonly #abort = new AbortController();
  readonly #listeners = new Set<(s: StatusSnapshot) => void>();
  /** Counter samples per series (a stream's head, a consumer's cursor), oldest first. */
  readonly #history = new Map<string, Sample[]>();
  readonly #seen = new Map<string, Seen>();
  /** The first event after a cursor, per stream and cursor: events do not change once read. */
  #firstAfter = new Map<string, number | null>();
  #latest: StatusSnapshot | undefined;
  #inFlight: Promise<StatusSnapshot> | undefined;
  readonly #loop: Promise<void>;

  constructor(
    streams: readonly WatchedStream[],
    errors: ErrorsReader | undefined,
    grpc: StatusGrpcSource | undefined,
    config: MonitorConfig,
  ) {
    this.#streams = streams;
    this.#errors = errors;
    this.#grpc = grpc;
    this.#config = config;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      await this.refresh();
      try {
        await this.#config.clock.sleep(this.#config.intervalMs, signal);
      } catch {
        return;
      }
    }
  }

  snapshot(): Promise<StatusSnapshot> {
    return this.#latest === undefined ? this.refresh() : Promise.resolve(this.#latest);
  }

  refresh(): Promise<StatusSnapshot> {
    if (this.#inFlight !== undefined) return this.#inFlight;
    const p = this.#sample().then((s) => {
      this.#latest = s;
      for (const l of this.#listeners) {
        try {
          l(s);
        } catch (err) {
          this.#config.logger.error('status listener failed', { error: err });
        }
      }
      return s;
    });
    this.#inFlight = p;
    void p.finally(() => {
      if (this.#inFlight === p) this.#inFlight = undefined;
    });
    return p;
  }

  onUpdate(listener: (snapshot: StatusSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#abort.abort();
    this.#listeners.clear();
    await this.#loop;
    await this.#inFlight?.catch(() => undefined);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #record(key: string, t: number, v: number): Sample[] {
    let samples = this.#history.get(key);
    if (samples === undefined) {
      samples = [];
      this.#history.set(key, samples);
    }
    samples.push({ t, v });
    const cutoff = t - this.#config.historyMs - this.#config.intervalMs;
    let drop = 0;
    while (drop < samples.length - 1 && (samples[drop] as Sample).t < cutoff) drop++;
    if (drop > 0) samples.splice(0, drop);
    return samples;
  }

  #rates(samples: readonly Sample[], now: number): { rate: number | null; buckets: number[] } {
    const { historyMs, buckets, intervalMs } = this.#config;
    const bucketMs = historyMs / buckets;
    return {
      rate: recentRate(samples, Math.max(bucketMs, 2 * intervalMs)),
      buckets: bucketRates(samples, now, bucketMs, buckets),
    };
  }

  async #sample(): Promise<StatusSnapshot> {
    const { clock, logger } = this.#config;
    const now = clock.now();
    const problems: string[] = [];
    const round: SampleRound = {
      now,
      problem: (what, err) => {
        problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
        logger.warn('status sample failed', { what, code: codeOf(err), error: err });
      },
      lastErrors: new Map(),
      holders: new Map(),
      liveKeys: new Set(),
      firstAfter: new Map(),
    };
    round.lastErrors = await this.#latestErrors(round);
    round.holders = await this.#leaseHolders(round);
    const streams: StreamStatus[] = [];
    const consumers: ConsumerStatus[] = [];
    for (const s of this.#streams) {
      const stream = await this.#streamStatus(s, round);
      if (stream === undefined) continue;
      streams.push(stream);
      for (const c of s.cursors) {
        let rows: CursorRow[];
        try {
          rows = await c.list();
        } catch (err) {
          round.problem(`reading cursors table ${c.name}`, err);
          continue;
        }
        for (const row of rows) {
          consumers.push(await this.#consumerStatus(s.events, stream.head, c.name, row, round));
        }
      }
    }
    // Forget consumers and streams that are gone (a reset cursor, a dropped table).
    for (const key of this.#history.keys()) if (!round.liveKeys.has(key)) this.#history.delete(key);
    for (const key of this.#seen.keys()) if (!round.liveKeys.has(key)) this.#seen.delete(key);
    this.#firstAfter = round.firstAfter;
    return {
      at: new Date(now).toISOString(),
      intervalMs: this.#config.intervalMs,
      bucketMs: this.#config.historyMs / this.#config.buckets,
      streams,
      consumers,
      grpc: this.#grpcStatus(),
      problems,
    };
  }

  /** The latest error of every consumer (none when there is no errors table or it fails). */
  async #latestErrors(round: SampleRound): Promise<Map<string, ErrorRow>> {
    if (this.#errors === undefined) return new Map();
    try {
      return await this.#errors.latest();
    } catch (err) {
      round.problem(`reading errors table ${this.#errors.name}`, err);
      return new Map();
    }
  }

  /** Shard consumers by name (`<group>_<n>_of_<count>`) → the member holding the lease. */
  async #leaseHolders(round: SampleRound): Promise<Map<string, string>> {
    const holders = new Map<string, string>();
    const leases = this.#config.leases;
    if (leases === undefined) return holders;
    try {
      for (const g of await leases.table.list(leases.db)) {
        for (const [i, h] of g.holders.entries()) {
          holders.set(`${g.group}_${i + 1}_of_${g.shards}`, h);
        }
      }
    } catch (err) {
      round.problem(`reading leases table ${leases.table.name}`, err);
    }
    return holders;
  }

  /** A stream's head and throughput; undefined when its table cannot be read. */
  async #streamStatus(s: WatchedStream, round: SampleRound): Promise<StreamStatus | undefined> {
    const name = s.events.name;
    let head: string;
    let headAt: Date | null = null;
    try {
      head = await s.events.head();
      if (head !== '') headAt = (await s.events.firstAfter(String(BigInt(head) - 1n)))?.at ?? null;
    } catch (err) {
      round.problem(`reading events table ${name}`, err);
      return undefined;
    }
    const headKey = `s\0${name}`;
    round.liveKeys.add(headKey);
    const rates = this.#rates(
      this.#record(headKey, round.now, head === '' ? 0 : Number(head)),
      round.now,
    );
    return {
      name,
      head,
      headAt: headAt?.toISOString() ?? null,
      ratePerSecond: rates.rate,
      throughput: rates.buckets,
    };
  }

  /** One consumer's row of the snapshot. */
  async #consumerStatus(
    events: EventsReader,
    head: string,
    cursorsTable: string,
    row: CursorRow,
    round: SampleRound,
  ): Promise<ConsumerStatus> {
    const { stalledAfterMs, errorWindowMs } = this.#config;
    const { now } = round;
    const key = `c\0${events.name}\0${cursorsTable}\0${row.name}`;
    round.liveKeys.add(key);
    const lagEvents = lagOf(head, row.cursor);
    const oldest = lagEvents === 0 ? null : await this.#oldestUnconsumed(events, row.cursor, round);
    const seen = this.#seenCursor(key, row.cursor, now);
    const lastMovedAt = maxOrNull(row.updatedAt?.getTime() ?? null, seen.changedAt);
    const error = round.lastErrors.get(row.name);
    const { state, since } = consumerState({
      now,
      oldestUnconsumedAt: oldest,
      lastMovedAt,
      firstSeenAt: seen.firstSeenAt,
      lastErrorAt: error?.at?.getTime() ?? null,
      stalledAfterMs,
      errorWindowMs,
    });
    const cursorNumber = Number(row.cursor === '' ? 0 : row.cursor);
    const rates = Number.isFinite(cursorNumber)
      ? this.#rates(this.#record(key, now, cursorNumber), now)
      : { rate: null, buckets: [] };
    return {
      stream: events.name,
      cursorsTable,
      name: row.name,
      cursor: row.cursor,
      lagEvents,
      lagSeconds: oldest === null ? 0 : Math.max(0, Math.round((now - oldest) / 100) / 10),
      state,
      since: since === null ? null : new Date(since).toISOString(),
      updatedAt: row.updatedAt?.toISOString() ?? null,
      lastError:
        error === undefined
          ? null
          : { message: error.message, eventId: error.eventId, at: error.at?.toISOString() ?? '' },
      ratePerSecond: rates.rate,
      throughput: rates.buckets,
      holder: round.holders.get(row.name) ?? null,
    };
  }

  /** The time of the first event after `cursor` (ms), cached while no hole is before it. */
  async #oldestUnconsumed(
    events: EventsReader,
    cursor: string,
    round: SampleRound,
  ): Promise<number | null> {
    const cacheKey = `${events.name}\0${cursor}`;
    const cached = round.firstAfter.get(cacheKey) ?? this.#firstAfter.get(cacheKey);
    if (cached !== undefined) return cached;
    try {
      const first = await events.firstAfter(cursor);
      const oldest = first?.at?.getTime() ?? null;
      // Only when no id is missing before it: a hole could still fill with an older event.
      if (first !== undefined && isNext(cursor, first.id)) round.firstAfter.set(cacheKey, oldest);
      return oldest;
    } catch (err) {
      round.problem(`reading events table ${events.name} after ${cursor}`, err);
      return null;
    }
  }

  /** When a consumer was first seen and its cursor last seen moving. */
  #seenCursor(key: string, cursor: string, now: number): Seen {
    let seen = this.#seen.get(key);
    if (seen === undefined) {
      seen = { firstSeenAt: now, cursor, changedAt: null };
      this.#seen.set(key, seen);
    } else if (seen.cursor !== cursor) {
      seen.cursor = cursor;
      seen.changedAt = now;
    }
    return seen;
  }

  #grpcStatus(): GrpcStatus | null {
    const g = this.#grpc;
    if (g === undefined) return null;
    let clients: GrpcClientStatus[] | null = null;
    if (typeof g.clients === 'function') {
      clients = g.clients().map((c) => ({
        peer: c.peer,
        method: c.method,
        since: c.startedAt.toISOString(),
        sentEvents: c.sentEvents,
      }));
    }
    return { address: g.address, openStreams: g.openStreams, sentEvents: g.sentEvents, clients };
  }
}

/** Ids between the cursor and the head; null when either is not an integer. */
function lagOf(head: string, cursor: string): number | null {
  try {
    const h = head === '' ? 0n : BigInt(head);
    const c = cursor === '' ? 0n : BigInt(cursor);
    return h > c ? Number(h - c) : 0;
  } catch {
    return null;
  }
}

function isNext(cursor: string, id: string): boolean {
  try {
    return BigInt(id) === (cursor === '' ? 0n : BigInt(cursor)) + 1n;
  } catch {
    return false;
  }
}

function maxOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
