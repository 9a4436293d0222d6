import { type Clock, type Logger, ReflexError } from '../../core/index.js';
import type {
  Dialect,
  EventsSchema,
  EventsStatements,
  Executor,
  Gap,
  GapContext,
  GapStrategy,
  GapVerdict,
} from '../dialect.js';
import type { EventsCounters, EventsMetrics } from '../metrics.js';

/** What a gap resolver works with: the loader's settings and its stop signal. */
export interface GapResolverConfig {
  readonly dialect: Dialect;
  readonly handle: unknown;
  /** The loader's executor over `handle`. */
  readonly executor: Executor;
  readonly schema: EventsSchema;
  readonly statements: EventsStatements;
  readonly gaps: GapStrategy;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: EventsMetrics;
  readonly counters: EventsCounters;
  /** Aborts when the loader stops: strategies stop waiting. */
  readonly signal: AbortSignal;
}

/**
 * The gap layer of a loader: finds the holes in a page of ids, remembers when each was first
 * seen (the age of a blocking gap survives polls), and puts them to the dialect's strategy one
 * batch at a time. The head load, catch-ups and read-aheads can each meet a gap at once, and a
 * strategy keeps state between calls (PostgreSQL's wait set), which the dialect contract says is
 * never used concurrently.
 */
export class GapResolver {
  readonly #config: GapResolverConfig;
  readonly #context: GapContext;
  /** First time a gap after a given id was seen. */
  readonly #firstSeen = new Map<number, number>();
  /** The resolution in progress: the next one starts after it. */
  #resolving: Promise<unknown> = Promise.resolve();

  constructor(config: GapResolverConfig) {
    this.#config = config;
    this.#context = countingContext(config);
  }

  /**
   * The holes in `rows` from index `from` on, the id before it being `end` (ids in column 0),
   * counted and timed. Every hole of a page is judged at once, so their waits overlap.
   */
  detect(rows: readonly (readonly unknown[])[], from: number, end: number): Gap[] {
    const c = this.#config;
    const now = c.clock.now();
    const holes: Gap[] = [];
    let prev = end;
    for (let j = from; j < rows.length; j++) {
      const id = c.dialect.decodeId((rows[j] as readonly unknown[])[0]);
      if (id > prev + 1) {
        const firstSeenMs = this.#firstSeen.get(prev) ?? now;
        this.#firstSeen.set(prev, firstSeenMs);
        holes.push({ after: prev, before: id, firstSeenMs });
        c.counters.gapsDetected++;
        c.metrics.gapDetected();
      }
      prev = id;
    }
    return holes;
  }

  /** When the gap after `after` was first seen (now, if never). */
  firstSeen(after: number): number {
    return this.#firstSeen.get(after) ?? this.#config.clock.now();
  }

  /** The gap after `after` is behind us (skipped or filled). */
  passed(after: number): void {
    this.#firstSeen.delete(after);
  }

  /** Every gap starting in [after, end) is behind us: a load streamed past it. */
  passedRange(after: number, end: number): void {
    for (const k of this.#firstSeen.keys()) if (k >= after && k < end) this.#firstSeen.delete(k);
  }

  /**
   * The verdict on each hole, by its `after` (a hole without one waits). Serialised with every
   * other call on this resolver. A strategy failure that is not a `ReflexError` is logged and
   * leaves the holes waiting (asked again at the next poll); a `ReflexError` is the strategy
   * refusing and rejects.
   */
  resolve(holes: readonly Gap[]): Promise<Map<number, GapVerdict>> {
    const next = this.#resolving.then(() => this.#resolveNow(holes));
    this.#resolving = next.catch(() => {});
    return next;
  }

  async #resolveNow(holes: readonly Gap[]): Promise<Map<number, GapVerdict>> {
    const out = new Map<number, GapVerdict>();
    const strategy = this.#config.gaps;
    try {
      if (strategy.resolveMany !== undefined) {
        const verdicts = await strategy.resolveMany(holes, this.#context);
        holes.forEach((g, k) => {
          out.set(g.after, verdicts[k] ?? 'wait');
        });
      } else {
        for (const g of holes) {
          const v = await strategy.resolve(g, this.#context);
          out.set(g.after, v);
          // The load stops at the first hole that is not skipped: judging later ones is wasted.
          if (v !== 'skip') break;
        }
      }
    } catch (err) {
      this.#config.signal.throwIfAborted();
      // A ReflexError is the strategy refusing (e.g. a PostgreSQL table whose schema makes gap
      // resolution unsafe): surface it to the streams instead of waiting forever.
      if (err instanceof ReflexError) throw err;
      this.#config.logger.warn('gap resolution failed; retrying at the next poll', {
        table: this.#config.schema.table,
        after: holes[0]?.after,
        error: err,
      });
    }
    return out;
  }
}

/** The strategies' view of the table: gap checks and fills count as queries of the table too. */
function countingContext(config: GapResolverConfig): GapContext {
  const { counters, dialect, executor, metrics } = config;
  return {
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
        return executor.query(sql, params);
      },
      execute: (sql, params) => {
        counters.queries++;
        return executor.execute(sql, params);
      },
    },
    schema: config.schema,
    statements: config.statements,
    logger: config.logger,
    now: () => config.clock.now(),
    filled: (n) => {
      counters.gapsFilled += n;
      metrics.gapFilled(n);
    },
    signal: config.signal,
  };
}
