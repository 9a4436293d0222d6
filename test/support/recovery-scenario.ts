// The database-restart scenario of the recovery fault test and bench: a writer inserts events
// while a private database is stopped and restarted; a consumer reads them with runForever through
// rsql's stream and SQL cursor store (defaults throughout). It measures the time from the database
// answering again to the consumer handling an event written after that, and the statements the
// consumer's side sends while the database is down; it checks that every committed event was
// handled, in order.
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { type Logger, newConsumer, newSpec } from '../../src/core/index.js';
import { runForever } from '../../src/rpatterns/index.js';
import { newCursorsTable, newEventsTable, type SqlDatabase } from '../../src/rsql/index.js';
import type { PrivateDb } from './private-db.js';

/** What {@link restartScenario} measured. */
export interface RestartScenarioResult {
  /** Per restart: ms from the database answering again to the first event written since handled. */
  readonly recoveryMs: readonly number[];
  /** Statements (or connection attempts) of the consumer's stream while down, after the ramp. */
  readonly downStreamCalls: number;
  /** The same for its cursor store (reads, flushes). */
  readonly downStoreCalls: number;
  /** runForever's retries (failed runs) in that time. */
  readonly downRuns: number;
  /** The seconds those were counted over (each outage less its first `rampMs`). */
  readonly downSeconds: number;
  /** Events whose insert resolved (committed). */
  readonly committed: number;
  /** Events handled, and how many of them a second time. */
  readonly handled: number;
  readonly redelivered: number;
  /** What went wrong: a committed event not handled, an event out of order. Empty when sound. */
  readonly problems: readonly string[];
  /** The consumer's warn/error log lines' codes, in order (for the report). */
  readonly codes: readonly string[];
}

export interface RestartScenarioOptions {
  readonly db: PrivateDb;
  readonly restarts: number;
  readonly downMs: number;
  /** The writer's pace. @default 20 */
  readonly writeEveryMs?: number;
  /**
   * The start of each outage not counted in the queries per second: runForever's back-off
   * ramps up from 100 ms to its cap over the first ~1.5 s. @default 2000
   */
  readonly rampMs?: number;
  /** Progress lines. */
  readonly progress?: (line: string) => void;
}

/** A handle that counts the calls that reach the database (each one a statement or a connect). */
function counting<T extends object>(
  handle: T,
  methods: readonly string[],
): { handle: T; calls: () => number } {
  let calls = 0;
  const wrapped = new Map<PropertyKey, unknown>();
  const proxy = new Proxy(handle, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (typeof key !== 'string' || !methods.includes(key) || typeof value !== 'function') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      let fn = wrapped.get(key);
      if (fn === undefined) {
        // Called on the target: a pool's own internal calls (query → connect) count once.
        fn = (...args: unknown[]) => {
          calls++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
        wrapped.set(key, fn);
      }
      return fn;
    },
  });
  return { handle: proxy, calls: () => calls };
}

interface Pools {
  readonly writer: SqlDatabase;
  readonly consumer: SqlDatabase;
  readonly methods: readonly string[];
  end(): Promise<void>;
}

function openPools(db: PrivateDb): Pools {
  if (db.kind === 'mariadb') {
    const open = () => mysql.createPool({ uri: db.url, connectionLimit: 4, connectTimeout: 2_000 });
    const writer = open();
    const consumer = open();
    return {
      writer,
      consumer,
      methods: ['query', 'execute', 'getConnection'],
      end: async () => {
        await Promise.all([writer.end(), consumer.end()]);
      },
    };
  }
  const open = () => {
    const p = new pg.Pool({ connectionString: db.url, max: 4, connectionTimeoutMillis: 2_000 });
    // pg reports an idle client's lost connection here; unhandled, it would end the process.
    p.on('error', () => {});
    return p;
  };
  const writer = open();
  const consumer = open();
  return {
    writer,
    consumer,
    methods: ['query', 'connect'],
    end: async () => {
      await Promise.all([writer.end(), consumer.end()]);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ms: number, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Runs the scenario on a started private database; leaves it running. Every wait is bounded;
 * the writer, the consumer and the pools are stopped before it settles.
 */
export async function restartScenario(
  options: RestartScenarioOptions,
): Promise<RestartScenarioResult> {
  const { db, restarts, downMs } = options;
  const writeEveryMs = options.writeEveryMs ?? 20;
  const rampMs = options.rampMs ?? 2_000;
  const progress = options.progress ?? (() => {});
  const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const events = newEventsTable(`recovery_events_${suffix}`);
  const cursors = newCursorsTable(`recovery_cursors_${suffix}`);
  const pools = openPools(db);
  const stream = counting(pools.consumer, pools.methods);
  const store = counting(pools.consumer, pools.methods);
  const cursorStore = cursors.toStore(store.handle);
  const stop = new AbortController();
  const stopWriter = new AbortController();
  const problems: string[] = [];
  const codes: string[] = [];
  const recoveryMs: number[] = [];
  let downStreamCalls = 0;
  let downStoreCalls = 0;
  let downSeconds = 0;
  let downRuns = 0;

  // The writer: one insert per tick; a resolved insert committed (autocommit), a failed one may
  // or may not have (its acknowledgement lost with the connection).
  const committedAt = new Map<string, number>();
  const maybe = new Set<string>();
  let written = 0;
  let writer: Promise<void> | undefined;

  const handled: { id: number; fid: string; at: number }[] = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (_m, f) => void codes.push(String(f?.code)),
    error: (_m, f) => void codes.push(`error:${String(f?.code)}`),
  };
  let forever: Promise<void> | undefined;
  try {
    await events.createTable(pools.writer);
    await cursors.createTable(pools.writer);
    writer = (async () => {
      while (!stopWriter.signal.aborted) {
        const fid = `w${++written}`;
        try {
          await events.insert(pools.writer, fid, 1);
          committedAt.set(fid, performance.now());
        } catch {
          maybe.add(fid);
        }
        await sleep(writeEveryMs);
      }
    })();
    const consumer = newConsumer('recovery', (e) => {
      handled.push({ id: Number(e.id), fid: e.foreignId, at: performance.now() });
    });
    forever = runForever(newSpec(events.toStream(stream.handle), cursorStore, consumer), {
      signal: stop.signal,
      logger,
    });
    const caughtUp = async (what: string): Promise<void> => {
      const last = [...committedAt.keys()].at(-1);
      await until(`the consumer to catch up (${what})`, 20_000, () =>
        handled.some((h) => h.fid === last),
      );
    };
    await until('the first events', 20_000, () => handled.length >= 10);
    for (let i = 0; i < restarts; i++) {
      await caughtUp(`before restart ${i + 1}`);
      const how = i % 2 === 0 ? 'kill' : 'fast';
      await db.stop(how);
      const downAt = performance.now();
      await sleep(rampMs);
      const s0 = stream.calls();
      const c0 = store.calls();
      const r0 = codes.length;
      const countFrom = performance.now();
      await sleep(Math.max(0, downMs - rampMs));
      downStreamCalls += stream.calls() - s0;
      downStoreCalls += store.calls() - c0;
      downRuns += codes.length - r0;
      downSeconds += (performance.now() - countFrom) / 1000;
      await db.start();
      const upAt = performance.now();
      await until(`events to flow after restart ${i + 1}`, 20_000, () =>
        handled.some((h) => (committedAt.get(h.fid) ?? -1) >= upAt),
      );
      const first = handled.find((h) => (committedAt.get(h.fid) ?? -1) >= upAt);
      const ms = (first?.at ?? upAt) - upAt;
      recoveryMs.push(ms);
      progress(
        `restart ${i + 1}/${restarts} (${how}): down ${Math.round(upAt - downAt)} ms, events flowing ${Math.round(ms)} ms after the database answered`,
      );
    }
    // The writer stops first: an event it commits after the consumer stopped would be unhandled.
    stopWriter.abort();
    await writer;
    await caughtUp('at the end');
  } finally {
    stopWriter.abort();
    stop.abort();
    await writer;
    await forever;
    await cursorStore.close().catch(() => {});
    await events.close();
    await pools.end().catch(() => {});
  }

  // Every committed event handled; first deliveries in id order; a repeat only of an event
  // already handled (a re-delivery after a restart), never a skip.
  const seen = new Set<string>();
  let redelivered = 0;
  let maxId = 0;
  for (const h of handled) {
    if (seen.has(h.fid)) {
      redelivered++;
      continue;
    }
    if (h.id <= maxId) problems.push(`event ${h.id} (${h.fid}) handled after event ${maxId}`);
    maxId = Math.max(maxId, h.id);
    seen.add(h.fid);
  }
  for (const fid of committedAt.keys()) {
    if (!seen.has(fid)) problems.push(`committed event ${fid} never handled`);
  }
  for (const fid of seen) {
    if (!committedAt.has(fid) && !maybe.has(fid)) problems.push(`unknown event ${fid} handled`);
  }
  return {
    recoveryMs,
    downStreamCalls,
    downStoreCalls,
    downSeconds,
    downRuns,
    committed: committedAt.size,
    handled: handled.length,
    redelivered,
    problems,
    codes,
  };
}

/** The p-th percentile (nearest rank) of `xs`. */
export function percentileOf(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

/**
 * The cost of a database that stays down, per stream: at most one retry a second (runForever's
 * capped back-off), each retry one statement (a connection attempt), plus the SQL cursor store's
 * own flush of a pending cursor once per `asyncPeriodMs`.
 */
export function assertDownCosts(r: RestartScenarioResult, asyncPeriodMs: number): void {
  assert.ok(r.downRuns > 0, 'no retry counted while down');
  assert.ok(
    r.downRuns / r.downSeconds <= 1,
    `${r.downRuns} retries in ${r.downSeconds.toFixed(1)} s while down`,
  );
  const flushes = Math.ceil((r.downSeconds * 1000) / asyncPeriodMs) + r.recoveryMs.length;
  assert.ok(
    r.downStreamCalls + r.downStoreCalls <= r.downRuns + flushes,
    `${r.downStreamCalls} stream and ${r.downStoreCalls} store statements for ${r.downRuns} retries`,
  );
}
