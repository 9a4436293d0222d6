import { type Clock, type Event, type Logger, ReflexError } from '../../core/index.js';
import type {
  Dialect,
  EventsSchema,
  EventsStatements,
  Executor,
  Gap,
  GapVerdict,
} from '../dialect.js';
import { RsqlErrorCode } from '../error-codes.js';
import { databaseError } from '../handles.js';
import type { EventsCounters, EventsMetrics } from '../metrics.js';
import { chunkOf, type LoadResult } from './chunk.js';
import type { GapResolver } from './gap-resolver.js';
import { RowPage } from './row-page.js';

/** What a page reader works with: the loader's settings and its stop signal. */
export interface PageReaderConfig {
  readonly dialect: Dialect;
  readonly executor: Executor;
  readonly schema: EventsSchema;
  readonly statements: EventsStatements;
  readonly lookupLimit: number;
  readonly includeNoops: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: EventsMetrics;
  readonly counters: EventsCounters;
  /** Aborts when the loader stops: no further query starts. */
  readonly signal: AbortSignal;
}

/** Loads after one gap of a page are given up on after this many reloads (asked again next poll). */
const maxReloads = 3;

/**
 * The bottom layers of a loader, as the original stacks them: the SQL page query, the gap
 * detector (a page stops at the first hole the {@link GapResolver} does not let it pass) and the
 * noop filter (gap fills are not streamed unless asked). No cache, no coalescing: every call
 * queries.
 */
export class PageReader {
  readonly #config: PageReaderConfig;
  readonly #gaps: GapResolver;
  /** Whether the page has the metadata or trace column. */
  readonly #optional: boolean;

  constructor(config: PageReaderConfig, gaps: GapResolver) {
    this.#config = config;
    this.#gaps = gaps;
    this.#optional = config.schema.metadata !== undefined || config.schema.trace !== undefined;
  }

  /** MAX(id) now (0 for an empty table). */
  async maxId(): Promise<number> {
    this.#config.counters.queries++;
    const rows = await this.#query(this.#config.statements.maxId, []);
    const v = rows[0]?.[0];
    return v === null || v === undefined ? 0 : this.#config.dialect.decodeId(v);
  }

  /**
   * Reads the rows after `after`, walks their ids and stops at the first unresolved gap. Gaps are
   * put to the dialect's strategy: `'skip'` streams past, `'reload'` reads again, `'wait'` stops.
   */
  async load(after: number): Promise<LoadResult> {
    const c = this.#config;
    const limit = c.lookupLimit;
    let events: Event[] = [];
    let end = after;
    for (let reloads = 0; ; ) {
      c.signal.throwIfAborted();
      const t0 = performance.now();
      c.counters.queries++;
      const rows = await this.#query(c.statements.selectAfter, [end, limit]);
      const t1 = performance.now();
      c.counters.rowsLoaded += rows.length;
      const page = await this.#decode(rows, end, reloads >= maxReloads);
      end = page.end;
      if (events.length === 0) events = page.events;
      else for (const e of page.events) events.push(e);
      c.metrics.loaded(
        rows.length,
        (performance.now() - t0) / 1000,
        (performance.now() - t1) / 1000,
      );
      if (page.reload) {
        reloads++;
        if (events.length < limit) continue;
      }
      this.#gaps.passedRange(after, end);
      const chunk = chunkOf(after, end, events);
      if (page.gap !== undefined) return { chunk, gap: page.gap, short: true };
      return { chunk, gap: undefined, short: !page.reload && rows.length < limit };
    }
  }

  /**
   * Decodes the rows after `end` into events (in their own array, see {@link RowPage}), up to
   * the first hole not to pass. `giveUp`: every hole waits (too many reloads already).
   */
  async #decode(
    rows: unknown[][],
    end: number,
    giveUp: boolean,
  ): Promise<{ events: Event[]; end: number; gap: Gap | undefined; reload: boolean }> {
    const c = this.#config;
    const dialect = c.dialect;
    const optional = this.#optional;
    const page = new RowPage(rows);
    let gap: Gap | undefined;
    let reload = false;
    let verdicts: Map<number, GapVerdict> | undefined;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as unknown[];
      const rawId = row[0];
      const id = typeof rawId === 'number' ? rawId : dialect.decodeId(rawId);
      if (id !== end + 1) {
        if (!Number.isSafeInteger(id) || id <= end) {
          throw new ReflexError(
            RsqlErrorCode.consecEvent,
            `events table ${c.schema.table}: id ${String(row[0])} after ${end} is not a safe increasing integer`,
          );
        }
        if (verdicts === undefined) {
          // Every hole of the page is detected (counted, its age kept) and judged at once.
          const holes = this.#gaps.detect(rows, i, end);
          verdicts = giveUp ? new Map() : await this.#gaps.resolve(holes);
        }
        const verdict = verdicts.get(end) ?? 'wait';
        if (verdict === 'wait') {
          gap = { after: end, before: id, firstSeenMs: this.#gaps.firstSeen(end) };
          break;
        }
        this.#gaps.passed(end);
        if (verdict === 'reload') {
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
      const timestampUs = dialect.decodeTimestampUs?.(row[2]);
      page.put(
        optional
          ? withOptional(String(id), type, foreignId, timestamp, timestampUs, row[4], row[5])
          : timestampUs === undefined
            ? { id: String(id), type, foreignId, timestamp }
            : { id: String(id), type, foreignId, timestamp, timestampUs },
      );
    }
    return { events: page.take(), end, gap, reload };
  }

  async #query(sql: string, params: readonly (number | string)[]): Promise<unknown[][]> {
    try {
      return await this.#config.executor.query(sql, params);
    } catch (err) {
      throw databaseError(
        this.#config.dialect,
        err,
        `events table ${this.#config.schema.table}: load`,
      );
    }
  }
}

/** An event with its metadata and trace columns (only read when the table has them). */
function withOptional(
  id: string,
  type: number,
  foreignId: string,
  timestamp: Date,
  timestampUs: bigint | undefined,
  metadata: unknown,
  trace: unknown,
): Event {
  const e: { -readonly [K in keyof Event]: Event[K] } = { id, type, foreignId, timestamp };
  if (timestampUs !== undefined) e.timestampUs = timestampUs;
  if (metadata instanceof Uint8Array) e.metadata = metadata;
  if (trace instanceof Uint8Array && trace.length > 0) e.trace = trace;
  return e;
}
