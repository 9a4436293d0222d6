import { type Clock, ErrorCode, type Logger, ReflexError } from '../core/index.js';
import type { Dialect, EventsSchema, EventsStatements, Gap, GapStrategy } from './dialect.js';
import { HintGap } from './hint-gap.js';
import { CatchUpLoads } from './loader/catch-up-loads.js';
import type { LoadResult, ReadPosition } from './loader/chunk.js';
import { GapResolver } from './loader/gap-resolver.js';
import { HeadCache } from './loader/head-cache.js';
import { HeadPoller, type WakeupStarter } from './loader/head-poller.js';
import { PageReader } from './loader/page-reader.js';
import type { EventsCounters, EventsMetrics } from './metrics.js';

export type { Chunk, ReadPosition } from './loader/chunk.js';
export type { WakeupStarter } from './loader/head-poller.js';

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
  /**
   * The wake-up sources of this loader (PostgreSQL's NOTIFY listener, …), started when a stream
   * first waits at the head and closed when it stops. Empty: the loader polls on its timer and
   * wakes on `notify()` only. See {@link WakeupStarter}.
   */
  readonly wakeups: readonly WakeupStarter[];
}

/**
 * The one loader of an events table for one database handle in this process, shared by all the
 * streams opened on that handle. Its layers, as the original stacks them (outer first):
 *
 * - this class: where a read is served from (the head cache, a catch-up, or a wait at the head);
 * - {@link HeadPoller}: streams waiting at the head, the poll timer and the wake-up sources;
 * - {@link HeadCache}: a bounded window of the newest resolved events, shared by the streams;
 * - {@link CatchUpLoads}: coalesced loads behind the cache, with read-ahead;
 * - {@link PageReader}: the SQL page query, the gap detector and the noop filter;
 * - {@link GapResolver}: the dialect's gap strategy, one batch of holes at a time.
 *
 * It polls the head only while some stream waits there (one query per poll interval whatever
 * the number of streams), coalesces identical loads (singleflight), and resolves gaps before
 * anything after a gap is delivered.
 */
export class Loader {
  readonly #config: LoaderConfig;
  readonly #stop = new AbortController();
  readonly #cache: HeadCache;
  readonly #pages: PageReader;
  readonly #catchUps: CatchUpLoads;
  readonly #poller: HeadPoller;
  /** True once a head load came back short or blocked: wait for a poll before loading again. */
  #atDbHead = false;
  /** The gap blocking the head, if any. */
  #headGap: Gap | undefined;
  #headLoad: Promise<void> | undefined;
  #pollAgain = false;

  constructor(config: LoaderConfig) {
    this.#config = config;
    const signal = this.#stop.signal;
    const executor = config.dialect.executor(config.handle);
    const gaps = new GapResolver({ ...config, executor, signal });
    this.#pages = new PageReader({ ...config, executor, signal }, gaps);
    this.#cache = new HeadCache({
      atHead: config.cacheSize,
      behindHead: Math.min(config.cacheSize, 2 * config.lookupLimit),
    });
    this.#catchUps = new CatchUpLoads((after) => this.#pages.load(after), signal);
    this.#poller = new HeadPoller({
      intervalMs: config.pollIntervalMs,
      wakeups: config.wakeups,
      logger: config.logger,
      table: config.schema.table,
      signal,
      poll: () => {
        if (!this.#cache.isEmpty) return this.#loadHead();
        this.#poller.wakeWaiters();
        return Promise.resolve();
      },
      polling: () => this.#headLoad !== undefined,
      idleHint: () => this.#hintWhileIdle(),
      hintGap: new HintGap(),
    });
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
   * once the wake-up sources (a LISTEN connection) are closed too.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.#stop.abort(
      new ReflexError(ErrorCode.stopped, `events table ${this.#config.schema.table} stopped`),
    );
    const closed = this.#poller.stop();
    this.#cache.clear();
    this.#catchUps.clear();
    await closed;
  }

  /** Wakes the streams waiting at the head: polls now (called by `insert`'s notify). */
  notify(): void {
    this.#poller.notify();
  }

  /**
   * A hint (a notify or a wake-up) came while no stream waited (the streams busy with what they
   * read): kept, so the load in flight runs once more, or the next read loads instead of waiting
   * for a poll.
   */
  #hintWhileIdle(): void {
    if (this.stopped) return;
    if (this.#headLoad !== undefined) this.#pollAgain = true;
    else this.#atDbHead = false;
  }

  /** MAX(id) now (0 for an empty table). */
  maxId(): Promise<number> {
    return this.#pages.maxId();
  }

  /**
   * The events after `after`: a chunk and the index of its first event with a greater id (the
   * index may equal the chunk's length when the rest of it is noops: continue from `chunk.end`).
   * Waits at the head. With `toHead`, rejects with `ERR_REFLEX_HEAD_REACHED` when nothing is
   * left and no gap is pending.
   */
  async next(after: number, signal: AbortSignal, toHead: boolean): Promise<ReadPosition> {
    const c = this.#config;
    const cache = this.#cache;
    c.counters.polls++;
    c.metrics.poll();
    let refreshed = false;
    for (;;) {
      this.#throwIfStopped();
      signal.throwIfAborted();
      const first = cache.first;
      const last = cache.last;
      if (first !== undefined && last !== undefined && after >= first.after) {
        if (after < last.end) {
          c.counters.cacheHits++;
          c.metrics.cacheHit();
          const pos = cache.find(after);
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
          const tail = cache.last;
          if (tail !== undefined && after < tail.end) continue;
          if (this.#headGap === undefined && this.#atDbHead) {
            throw new ReflexError(ErrorCode.headReached, 'head reached');
          }
        }
        await this.#poller.wait(signal);
        continue;
      }
      // Behind the cache (or no cache yet): a catch-up load, coalesced by position.
      c.counters.cacheMisses++;
      c.metrics.cacheMiss();
      const result = await this.#catchUps.load(after);
      const { chunk } = result;
      if (cache.isEmpty || (chunk.end === after && cache.events === 0)) {
        // Start (or rebase an empty) head cache here.
        this.#resetCache(result);
      } else if (!result.short && result.gap === undefined && chunk.end < cache.start) {
        // Still behind the cache after this page: load the next one meanwhile.
        this.#catchUps.readAhead(chunk.end);
        await this.#dispatch();
      }
      if (chunk.end > after) return { chunk, index: 0 };
      // Nothing after `after` yet: blocked by a gap, or at the head.
      if (result.gap === undefined && cache.first?.after === after) continue;
      if (toHead && result.gap === undefined) {
        throw new ReflexError(ErrorCode.headReached, 'head reached');
      }
      await this.#poller.wait(signal);
    }
  }

  #throwIfStopped(): void {
    if (this.stopped) throw this.#stop.signal.reason;
  }

  #resetCache(result: LoadResult): void {
    this.#cache.reset(result.chunk);
    this.#atDbHead = result.short || result.gap !== undefined;
    this.#setHeadGap(result.gap);
  }

  #setHeadGap(gap: Gap | undefined): void {
    this.#headGap = gap;
    const age = gap === undefined ? 0 : (this.#config.clock.now() - gap.firstSeenMs) / 1000;
    this.#config.metrics.blockingGap(gap !== undefined, age);
  }

  /** Loads after the cached head once (coalesced), appends, wakes the waiters. */
  #loadHead(): Promise<void> {
    if (this.#headLoad !== undefined) {
      this.#pollAgain = true;
      return this.#headLoad;
    }
    this.#headLoad = this.#runHeadLoad();
    return this.#headLoad;
  }

  async #runHeadLoad(): Promise<void> {
    let counted = false;
    let failure: { error: unknown } | undefined;
    try {
      // Always awaits once, so `#headLoad` is set before the `finally` clears it.
      counted = await this.#extendHead();
    } catch (err) {
      failure = { error: err };
      throw err;
    } finally {
      this.#headLoad = undefined;
      if (counted || failure !== undefined) this.#poller.polled(failure);
      else this.#poller.wakeWaiters();
    }
  }

  /** Extends the head cache until caught up (again while asked); false when nothing was read. */
  async #extendHead(): Promise<boolean> {
    do {
      this.#pollAgain = false;
      const last = this.#cache.last;
      if (last === undefined) return false;
      const result = await this.#pages.load(last.end);
      if (this.stopped) return false;
      // The cache may have been rebased meanwhile; append only when still contiguous.
      const tail = this.#cache.last;
      if (tail !== undefined && tail.end === result.chunk.after) {
        this.#atDbHead = result.short || result.gap !== undefined;
        this.#cache.append(result.chunk, this.#atDbHead);
        this.#setHeadGap(result.gap);
      }
    } while (this.#pollAgain && !this.stopped);
    return true;
  }

  /**
   * Lets a read-ahead's query leave now. Drivers send it from a process.nextTick (mysql2's and
   * pg's pools), and a reader taking buffered events in place holds the microtask queue until
   * its page is done: the query would only leave when the page it was meant to overlap with is
   * consumed. A synchronous driver has already run it.
   */
  #dispatch(): Promise<void> | undefined {
    if (this.#config.dialect.executeSync !== undefined) return undefined;
    return new Promise((resolve) => setImmediate(resolve));
  }
}
