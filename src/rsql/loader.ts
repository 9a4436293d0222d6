import { type Clock, ErrorCode, type Event, type Logger, ReflexError } from '../core/index.js';
import { Waker } from '../internal/abort.js';
import type {
  Dialect,
  EventsSchema,
  EventsStatements,
  Executor,
  Gap,
  GapContext,
  GapStrategy,
  WakeupSource,
} from './dialect.js';
import { databaseError } from './handles.js';
import type { EventsCounters, EventsMetrics } from './metrics.js';

/**
 * A run of resolved ids (after, end]: every id in it is either one of `events` (in id order) or
 * will never be an event (a noop, a rolled-back id). Immutable once built.
 */
export interface Chunk {
  readonly after: number;
  readonly end: number;
  readonly events: readonly Event[];
}

/** Loader settings, from the events table options. */
export interface LoaderConfig {
  readonly dialect: Dialect;
  readonly handle: unknown;
  readonly schema: EventsSchema;
  readonly statements: EventsStatements;
  readonly gaps: GapStrategy;
  readonly lookupLimit: number;
  readonly pollIntervalMs: number;
  readonly cacheSize: number;
  readonly includeNoops: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: EventsMetrics;
  readonly counters: EventsCounters;
}

interface LoadResult {
  readonly chunk: Chunk;
  /** The gap the load stopped at, when it did. */
  readonly gap: Gap | undefined;
  /** True when fewer rows than the limit came back (nothing more beyond, for now). */
  readonly short: boolean;
}

/**
 * Read-ahead pages kept per loader, one per stream catching up at its own position (see `#ahead`);
 * beyond it the oldest go (a closed stream's page, or one of a ninth stream, loaded again).
 */
const aheadKept = 8;

const noWakeups: WakeupSource = Object.freeze({ close() {} });

const emptyEvents: readonly Event[] = Object.freeze([]);

/** A position a stream reads from: the chunk and the index of its first event after the cursor. */
export interface ReadPosition {
  readonly chunk: Chunk;
  readonly index: number;
}

/**
 * The one loader of an events table for one database handle in this process, shared by all the
 * streams opened on that handle. It keeps a bounded window of the newest resolved events (the
 * head cache), polls the head only while some stream waits there (one query per poll interval
 * whatever the number of streams), coalesces identical loads (singleflight), and resolves gaps
 * with the dialect's strategy before anything after a gap is delivered.
 */
export class Loader {
  readonly #c: LoaderConfig;
  readonly #ex: Executor;
  readonly #stop = new AbortController();
  readonly #waker = new Waker();
  /** The head cache: contiguous chunks (chunks[i].end === chunks[i+1].after). */
  #chunks: Chunk[] = [];
  #cachedEvents = 0;
  /** True once a head load came back short or blocked: wait for a poll before loading again. */
  #atDbHead = false;
  /** The gap blocking the head, if any. */
  #headGap: Gap | undefined;
  /** First time a gap after a given id was seen. */
  readonly #gapSeen = new Map<number, number>();
  readonly #catchUp = new Map<number, Promise<LoadResult>>();
  /**
   * Read-ahead of catch-ups behind the head cache, by position: the next page loads while a stream
   * reads the current one. Taken once (a page kept after its reader took it was promoted by the GC
   * with every event in it, halving the catch-up rate); beyond `aheadKept` the oldest go. A failed
   * read-ahead is undefined: the reader loads again.
   */
  readonly #ahead = new Map<number, Promise<LoadResult | undefined>>();
  /** The gap resolution in progress (see `#resolve`). */
  #resolving: Promise<unknown> = Promise.resolve();
  #headLoad: Promise<void> | undefined;
  #pollAgain = false;
  #timer: NodeJS.Timeout | undefined;
  #waiting = 0;
  /** Counts finished polls; a failed poll is kept with its number so waiters can fail fast. */
  #polls = 0;
  #pollFailure: { readonly n: number; readonly err: unknown } | undefined;
  #gapCtx: GapContext;
  #wakeups: WakeupSource | undefined;

  constructor(config: LoaderConfig) {
    this.#c = config;
    this.#ex = config.dialect.executor(config.handle);
    // Gap checks and fills count as queries of the table too.
    const counters = config.counters;
    const ex = this.#ex;
    const dialect = config.dialect;
    this.#gapCtx = {
      dialect: {
        ...dialect,
        transaction: (handle, fn, options) => {
          counters.queries++;
          return dialect.transaction(handle, fn, options);
        },
      },
      handle: config.handle,
      executor: {
        query: (sql, params) => {
          counters.queries++;
          return ex.query(sql, params);
        },
        execute: (sql, params) => {
          counters.queries++;
          return ex.execute(sql, params);
        },
      },
      schema: config.schema,
      statements: config.statements,
      logger: config.logger,
      now: () => config.clock.now(),
      filled: (n) => {
        config.counters.gapsFilled += n;
        config.metrics.gapFilled(n);
      },
      signal: this.#stop.signal,
    };
  }

  /** The gap now blocking the head, if any. */
  get headGap(): Gap | undefined {
    return this.#headGap;
  }

  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  /**
   * Stops polling and gap resolution; pending reads reject with `ERR_REFLEX_STOPPED`. Settles
   * once the wake-up source (a LISTEN connection) is closed too.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.#stop.abort(
      new ReflexError(ErrorCode.stopped, `events table ${this.#c.schema.table} stopped`),
    );
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const wakeups = this.#wakeups;
    this.#waker.wake();
    this.#chunks = [];
    this.#cachedEvents = 0;
    this.#ahead.clear();
    await wakeups?.close();
  }

  /** Wakes the streams waiting at the head: polls now (called by `insert`'s notify). */
  notify(): void {
    if (this.#waiting > 0 && !this.stopped) this.#pollSoon(0);
  }

  /** MAX(id) now (0 for an empty table). */
  async maxId(): Promise<number> {
    this.#c.counters.queries++;
    const rows = await this.#query(this.#c.statements.maxId, []);
    const v = rows[0]?.[0];
    return v === null || v === undefined ? 0 : this.#c.dialect.decodeId(v);
  }

  /**
   * The events after `after`: a chunk and the index of its first event with a greater id (the
   * index may equal the chunk's length when the rest of it is noops: continue from `chunk.end`).
   * Waits at the head. With `toHead`, rejects with `ERR_REFLEX_HEAD_REACHED` when nothing is
   * left and no gap is pending.
   */
  async next(after: number, signal: AbortSignal, toHead: boolean): Promise<ReadPosition> {
    const c = this.#c;
    c.counters.polls++;
    c.metrics.poll();
    let refreshed = false;
    for (;;) {
      this.#throwIfStopped();
      signal.throwIfAborted();
      const first = this.#chunks[0];
      const last = this.#chunks[this.#chunks.length - 1];
      if (first !== undefined && last !== undefined && after >= first.after) {
        if (after < last.end) {
          c.counters.cacheHits++;
          c.metrics.cacheHit();
          const pos = this.#fromCache(after);
          // Read ahead: a reader in the newest chunk gets the next batch loading meanwhile.
          if (pos.chunk === last && !this.#atDbHead && this.#headLoad === undefined) {
            this.#loadHead().catch(() => {});
            await this.#dispatch();
          }
          return pos;
        }
        // At or beyond the cached head. Beyond it, the cache is stale (the stream saw newer ids,
        // or opened from head): refresh once now rather than after a poll interval.
        if (!this.#atDbHead || (after > last.end && !refreshed)) {
          refreshed = after > last.end;
          // A load in flight (the read-ahead) brings what comes next: wait for it alone. Asking
          // for one more (#loadHead's poll-again) would make a catch-up wait for two pages.
          await (this.#headLoad ?? this.#loadHead());
          continue;
        }
        if (toHead) {
          // The head is what the database holds now: poll once more, then decide.
          await this.#loadHead();
          const tail = this.#chunks[this.#chunks.length - 1];
          if (tail !== undefined && after < tail.end) continue;
          if (this.#headGap === undefined && this.#atDbHead) {
            throw new ReflexError(ErrorCode.headReached, 'head reached');
          }
        }
        await this.#waitForPoll(signal);
        continue;
      }
      // Behind the cache (or no cache yet): a catch-up load, coalesced by position.
      c.counters.cacheMisses++;
      c.metrics.cacheMiss();
      const result = await this.#catchUpLoad(after);
      const { chunk } = result;
      if (this.#chunks.length === 0 || (chunk.end === after && this.#cachedEvents === 0)) {
        // Start (or rebase an empty) head cache here.
        this.#setCache(chunk, result);
      } else if (!result.short && result.gap === undefined && chunk.end < this.#cacheStart()) {
        // Still behind the cache after this page: load the next one meanwhile.
        this.#readAhead(chunk.end);
        await this.#dispatch();
      }
      if (chunk.end > after) return { chunk, index: 0 };
      // Nothing after `after` yet: blocked by a gap, or at the head.
      if (result.gap === undefined && this.#chunks[0]?.after === after) continue;
      if (toHead && result.gap === undefined) {
        throw new ReflexError(ErrorCode.headReached, 'head reached');
      }
      await this.#waitForPoll(signal);
    }
  }

  #throwIfStopped(): void {
    if (this.stopped) throw this.#stop.signal.reason;
  }

  #fromCache(after: number): ReadPosition {
    // Binary search the chunk with chunk.after <= after < chunk.end.
    const chunks = this.#chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((chunks[mid] as Chunk).after <= after) lo = mid;
      else hi = mid - 1;
    }
    const chunk = chunks[lo] as Chunk;
    const events = chunk.events;
    let a = 0;
    let b = events.length;
    while (a < b) {
      const m = (a + b) >> 1;
      // Ids are safe integers in canonical decimal (checked at load): exact as numbers.
      if (Number((events[m] as Event).id) <= after) a = m + 1;
      else b = m;
    }
    return { chunk, index: a };
  }

  #setCache(chunk: Chunk, result: LoadResult): void {
    this.#chunks = [chunk];
    this.#cachedEvents = chunk.events.length;
    this.#atDbHead = result.short || result.gap !== undefined;
    this.#setHeadGap(result.gap);
  }

  /** Appends a loaded chunk; `atDbHead` when the load reached what the database holds now. */
  #append(chunk: Chunk, atDbHead: boolean): void {
    if (chunk.end === chunk.after) return;
    this.#chunks.push(chunk);
    this.#cachedEvents += chunk.events.length;
    // Behind the head (a catch-up reading ahead), only the last two pages stay: enough for
    // streams reading side by side, and events die young instead of being promoted by the GC
    // (a full window there tripled the GC time of a catch-up). The full window is for the head.
    const c = this.#c;
    const limit = atDbHead ? c.cacheSize : Math.min(c.cacheSize, 2 * c.lookupLimit);
    // Trim whole chunks from the front; the newest chunk always stays.
    while (this.#chunks.length > 1 && this.#cachedEvents > limit) {
      const dropped = this.#chunks.shift() as Chunk;
      this.#cachedEvents -= dropped.events.length;
    }
  }

  #setHeadGap(gap: Gap | undefined): void {
    this.#headGap = gap;
    const age = gap === undefined ? 0 : (this.#c.clock.now() - gap.firstSeenMs) / 1000;
    this.#c.metrics.blockingGap(gap !== undefined, age);
  }

  /** Loads after the cached head once (coalesced), appends, wakes the waiters. */
  #loadHead(): Promise<void> {
    if (this.#headLoad === undefined) {
      this.#headLoad = (async () => {
        try {
          do {
            this.#pollAgain = false;
            const last = this.#chunks[this.#chunks.length - 1];
            if (last === undefined) return;
            const result = await this.#load(last.end);
            if (this.stopped) return;
            // The cache may have been rebased meanwhile; append only when still contiguous.
            const tail = this.#chunks[this.#chunks.length - 1];
            if (tail !== undefined && tail.end === result.chunk.after) {
              this.#atDbHead = result.short || result.gap !== undefined;
              this.#append(result.chunk, this.#atDbHead);
              this.#setHeadGap(result.gap);
            }
          } while (this.#pollAgain && !this.stopped);
          this.#polls++;
        } catch (err) {
          // Recorded before the waiters wake, so each of them sees it.
          this.#polls++;
          this.#pollFailure = { n: this.#polls, err };
          throw err;
        } finally {
          this.#headLoad = undefined;
          this.#waker.wake();
        }
      })();
    } else {
      this.#pollAgain = true;
    }
    return this.#headLoad;
  }

  /**
   * Lets a read-ahead's query leave now. Drivers send it from a process.nextTick (mysql2's and
   * pg's pools), and a reader taking buffered events in place holds the microtask queue until
   * its page is done: the query would only leave when the page it was meant to overlap with is
   * consumed. A synchronous driver has already run it.
   */
  #dispatch(): Promise<void> | undefined {
    if (this.#c.dialect.executeSync !== undefined) return undefined;
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Where the head cache starts (Infinity when empty). */
  #cacheStart(): number {
    return this.#chunks[0]?.after ?? Number.POSITIVE_INFINITY;
  }

  #catchUpLoad(after: number): Promise<LoadResult> {
    const ahead = this.#ahead.get(after);
    if (ahead === undefined) return this.#coalescedLoad(after);
    this.#ahead.delete(after);
    return ahead.then((result) => result ?? this.#coalescedLoad(after));
  }

  #readAhead(after: number): void {
    if (this.#ahead.has(after) || this.stopped) return;
    this.#ahead.set(
      after,
      this.#coalescedLoad(after).then(
        (r) => r,
        () => undefined,
      ),
    );
    for (const key of this.#ahead.keys()) {
      if (this.#ahead.size <= aheadKept) break;
      this.#ahead.delete(key);
    }
  }

  #coalescedLoad(after: number): Promise<LoadResult> {
    let p = this.#catchUp.get(after);
    if (p === undefined) {
      p = this.#load(after).finally(() => this.#catchUp.delete(after));
      this.#catchUp.set(after, p);
    }
    return p;
  }

  /** Starts the dialect's cross-process wake-ups (NOTIFY) once, when a stream first waits. */
  #startWakeups(): void {
    if (this.#wakeups !== undefined || this.stopped) return;
    const c = this.#c;
    this.#wakeups =
      (c.schema.notify === true
        ? c.dialect.wakeups?.(c.handle, c.schema, () => this.notify(), c.logger)
        : undefined) ?? noWakeups;
  }

  /** Waits for the next poll (or a notify), polling on a timer while someone waits. */
  async #waitForPoll(signal: AbortSignal): Promise<void> {
    this.#startWakeups();
    const seen = this.#polls;
    this.#waiting++;
    try {
      this.#pollSoon(this.#c.pollIntervalMs);
      await this.#waker.wait(signal);
    } finally {
      this.#waiting--;
    }
    this.#throwIfStopped();
    // Fail fast (like the original's streams): a poll that failed while we waited ends the read.
    const failure = this.#pollFailure;
    if (failure !== undefined && failure.n > seen) throw failure.err;
  }

  #pollSoon(ms: number): void {
    if (this.stopped) return;
    if (ms === 0) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#poll();
      return;
    }
    if (this.#timer !== undefined || this.#headLoad !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#poll();
    }, ms);
  }

  #poll(): void {
    const run = this.#chunks.length > 0 ? this.#loadHead() : Promise.resolve(this.#waker.wake());
    run.then(
      () => {
        if (this.#waiting > 0) this.#pollSoon(this.#c.pollIntervalMs);
      },
      (err: unknown) => {
        this.#c.logger.warn('events poll failed', { table: this.#c.schema.table, error: err });
        if (this.#waiting > 0) this.#pollSoon(this.#c.pollIntervalMs);
      },
    );
  }

  async #query(sql: string, params: readonly (number | string)[]): Promise<unknown[][]> {
    try {
      return await this.#ex.query(sql, params);
    } catch (err) {
      throw databaseError(this.#c.dialect, err, `events table ${this.#c.schema.table}: load`);
    }
  }

  /**
   * Reads the rows after `after`, walks their ids and stops at the first unresolved gap. Gaps are
   * put to the dialect's strategy: `'skip'` streams past, `'reload'` reads again, `'wait'` stops.
   */
  async #load(after: number): Promise<LoadResult> {
    const c = this.#c;
    const limit = c.lookupLimit;
    const dialect = c.dialect;
    const optional = c.schema.metadata !== undefined || c.schema.trace !== undefined;
    let events: Event[] = [];
    let end = after;
    for (let reloads = 0; ; ) {
      this.#throwIfStopped();
      const t0 = performance.now();
      c.counters.queries++;
      const rows = await this.#query(c.statements.selectAfter, [end, limit]);
      const t1 = performance.now();
      c.counters.rowsLoaded += rows.length;
      let gap: Gap | undefined;
      let reload = false;
      let verdicts: Map<number, 'wait' | 'skip' | 'reload'> | undefined;
      // Events replace their rows in the driver's array (slot `kept` <= the row read): a page
      // costs no second array, and nothing grows while a catch-up decodes a million rows.
      const page = rows as unknown[];
      let kept = 0;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i] as unknown[];
        const rawId = row[0];
        const id = typeof rawId === 'number' ? rawId : dialect.decodeId(rawId);
        if (id !== end + 1) {
          if (!Number.isSafeInteger(id) || id <= end) {
            throw new ReflexError(
              ErrorCode.consecEvent,
              `events table ${c.schema.table}: id ${String(row[0])} after ${end} is not a safe increasing integer`,
            );
          }
          if (verdicts === undefined) {
            // Every hole of the batch is judged at once, so their waits overlap.
            const holes = this.#holes(rows, i, end);
            verdicts = reloads >= 3 ? new Map() : await this.#resolve(holes);
          }
          gap = { after: end, before: id, firstSeenMs: this.#gapSeen.get(end) ?? c.clock.now() };
          const verdict = verdicts.get(end) ?? 'wait';
          if (verdict === 'wait') break;
          this.#gapSeen.delete(gap.after);
          gap = undefined;
          if (verdict === 'reload') {
            reloads++;
            reload = true;
            break;
          }
          // 'skip': the hole is final; this row is next.
        }
        end = id;
        const type = Number(row[3]);
        const foreignId = String(row[1]);
        if (!c.includeNoops && type === 0 && foreignId === '0') continue;
        const timestamp = dialect.decodeTimestamp(row[2]);
        page[kept++] = optional
          ? withOptional(String(id), type, foreignId, timestamp, row[4], row[5])
          : { id: String(id), type, foreignId, timestamp };
      }
      page.length = kept;
      if (events.length === 0) events = page as Event[];
      else for (let i = 0; i < kept; i++) events.push(page[i] as Event);
      c.metrics.loaded(
        rows.length,
        (performance.now() - t0) / 1000,
        (performance.now() - t1) / 1000,
      );
      if (reload && events.length < limit) continue;
      for (const k of this.#gapSeen.keys()) if (k >= after && k < end) this.#gapSeen.delete(k);
      const chunk = this.#chunk(after, end, events);
      if (gap !== undefined) return { chunk, gap, short: true };
      return { chunk, gap: undefined, short: !reload && rows.length < limit };
    }
  }

  /** The holes in `rows` from index `i` on (the previous id being `end`), counted and timed. */
  #holes(rows: unknown[][], i: number, end: number): Gap[] {
    const c = this.#c;
    const now = c.clock.now();
    const holes: Gap[] = [];
    let prev = end;
    for (let j = i; j < rows.length; j++) {
      const id = c.dialect.decodeId((rows[j] as unknown[])[0]);
      if (id > prev + 1) {
        const firstSeenMs = this.#gapSeen.get(prev) ?? now;
        this.#gapSeen.set(prev, firstSeenMs);
        holes.push({ after: prev, before: id, firstSeenMs });
        c.counters.gapsDetected++;
        c.metrics.gapDetected();
      }
      prev = id;
    }
    return holes;
  }

  /**
   * Judges holes one batch at a time: the head load, catch-ups and read-aheads can each meet a
   * gap at once, and a strategy keeps state between calls (PostgreSQL's wait set), which the
   * dialect contract says is never used concurrently.
   */
  #resolve(holes: readonly Gap[]): Promise<Map<number, 'wait' | 'skip' | 'reload'>> {
    const next = this.#resolving.then(() => this.#resolveNow(holes));
    this.#resolving = next.catch(() => {});
    return next;
  }

  async #resolveNow(holes: readonly Gap[]): Promise<Map<number, 'wait' | 'skip' | 'reload'>> {
    const out = new Map<number, 'wait' | 'skip' | 'reload'>();
    const strategy = this.#c.gaps;
    try {
      if (strategy.resolveMany !== undefined) {
        const verdicts = await strategy.resolveMany(holes, this.#gapCtx);
        holes.forEach((g, k) => {
          out.set(g.after, verdicts[k] ?? 'wait');
        });
      } else {
        for (const g of holes) {
          const v = await strategy.resolve(g, this.#gapCtx);
          out.set(g.after, v);
          // The load stops at the first hole that is not skipped: judging later ones is wasted.
          if (v !== 'skip') break;
        }
      }
    } catch (err) {
      this.#throwIfStopped();
      // A ReflexError is the strategy refusing (e.g. a PostgreSQL table whose schema makes gap
      // resolution unsafe): surface it to the streams instead of waiting forever.
      if (err instanceof ReflexError) throw err;
      this.#c.logger.warn('gap resolution failed; retrying at the next poll', {
        table: this.#c.schema.table,
        after: holes[0]?.after,
        error: err,
      });
    }
    return out;
  }

  #chunk(after: number, end: number, events: Event[]): Chunk {
    return { after, end, events: events.length === 0 ? emptyEvents : events };
  }
}

/** An event with its metadata and trace columns (only read when the table has them). */
function withOptional(
  id: string,
  type: number,
  foreignId: string,
  timestamp: Date,
  metadata: unknown,
  trace: unknown,
): Event {
  if (metadata == null && trace == null) return { id, type, foreignId, timestamp };
  const e: { -readonly [K in keyof Event]: Event[K] } = { id, type, foreignId, timestamp };
  if (metadata instanceof Uint8Array) e.metadata = metadata;
  if (trace instanceof Uint8Array && trace.length > 0) e.trace = trace;
  return e;
}
