// One interface every benchmarked backend implements. A part that is undefined has not landed
// (or does not apply): its rows are shown as absent, never faked.
import type { CursorStore, StreamFunc } from '../../src/core/index.js';
import type { WakeupName } from './wakeups.js';

/** Sizes and durations of one run. */
export interface BenchSizes {
  /** Events stored for catch-up and the RSS measure. */
  readonly events: number;
  /** Duration of each insert rate measure, ms. */
  readonly insertMs: number;
  /** Events written in each head latency probe. */
  readonly latencyCount: number;
  /** Pause between two writes of a latency probe, ms. */
  readonly latencyIntervalMs: number;
  /** Duration of each idle fan-out measure, ms. */
  readonly fanoutMs: number;
}

/** One-event transactions: the same state change with no event, a hand-written event INSERT,
 * and reflex-events' insert. `prepare` creates the tables and the writers' connections. */
export interface InsertBench {
  prepare(writers: number): Promise<void>;
  withoutEvent(writer: number): Promise<void>;
  handWritten(writer: number): Promise<void>;
  /** Undefined until the backend's events table has landed. */
  readonly reflex: ((writer: number) => Promise<void>) | undefined;
  /**
   * reflex-events' insert into a table with `wakeup` on, notifying after each commit, while a
   * stream of another table object (another connection on SQLite) waits at its head and reads.
   */
  readonly withWakeup:
    | ((wakeup: WakeupName) => Promise<{
        write(writer: number): Promise<void>;
        /** Closes the variant; resolves with the reader's queries per second while it ran. */
        close(): Promise<number>;
      }>)
    | undefined;
  cleanup(): Promise<void>;
}

/** What a head latency probe returns: one latency per event (ms), and a note. */
export interface LatencyResult {
  readonly latenciesMs: readonly number[];
  readonly note?: string;
}

/** The parts of reflex-events a backend has (all undefined when it has not landed). */
export interface ReflexParts {
  /** A stream of the catch-up table (filled by `seed`). */
  stream(): StreamFunc;
  /** The backend's own cursor store in its async (batched) mode. */
  cursorStore(): Promise<CursorStore>;
  /** COMMIT → consume, writer and consumer in this process (with the process-local notify). */
  latencySameProcess(sizes: BenchSizes): Promise<LatencyResult>;
  /** The cross-process wake-ups measured beside polling (docs/latency.md). */
  readonly wakeups: readonly WakeupName[];
  /**
   * COMMIT → consume, writer in a child process, with `wakeup` on in both processes. Undefined
   * where there is no other process.
   */
  readonly latencyOtherProcess:
    | ((sizes: BenchSizes, wakeup: WakeupName) => Promise<LatencyResult>)
    | undefined;
  /** DB queries/s made by `streams` streams waiting at the head of one idle table. */
  readonly idleQueriesPerS:
    | ((streams: number, ms: number, wakeup: WakeupName) => Promise<number>)
    | undefined;
}

export interface BenchBackend {
  readonly name: string;
  /** The server (or library) version, for the report's header. */
  readonly version: string;
  /** Why reflex-events is absent on this backend; undefined when `reflex` is set. */
  readonly absentReason: string | undefined;
  readonly reflex: ReflexParts | undefined;
  /** Undefined where transactions do not apply (the memory log). */
  readonly insert: InsertBench | undefined;
  /** Stores `n` events in a fresh catch-up table, as fast as the backend allows (bulk INSERT). */
  seed(n: number, log: (msg: string) => void): Promise<void>;
  /** The driver's own paged primary-key scan of the catch-up table; returns the rows read. */
  rawScan(pageSize: number): Promise<number>;
  /** Drops what the benchmark created and closes every connection. */
  close(): Promise<void>;
}
