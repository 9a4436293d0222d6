// Measuring helpers shared by every benchmark: wall time, percentiles, rate loops, RSS sampling,
// and a catch-up through `run` with a no-op consumer.
import { performance } from 'node:perf_hooks';
import {
  type CursorStore,
  type Event,
  isHeadReachedErr,
  newConsumer,
  newSpec,
  run,
  type StreamFunc,
} from '../src/core/index.js';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The q-th percentile (0..1) of `values` (nearest rank); NaN when empty. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function rssMB(): number {
  return process.memoryUsage.rss() / 2 ** 20;
}

/**
 * Runs `writers` loops of `op` for `durationMs` (after `warmupMs` not counted); returns ops/s.
 * Each loop awaits its op before starting the next one (one transaction in flight per writer).
 */
export async function rateOf(
  op: (writer: number) => Promise<void>,
  writers: number,
  durationMs: number,
  warmupMs = Math.min(300, durationMs / 4),
): Promise<number> {
  const warmEnd = performance.now() + warmupMs;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      while (performance.now() < warmEnd) await op(w);
    }),
  );
  let count = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      while (performance.now() < end) {
        await op(w);
        count++;
      }
    }),
  );
  return (count / (performance.now() - start)) * 1000;
}

/** The result of {@link catchUp}. */
export interface CatchUpResult {
  readonly events: number;
  readonly ms: number;
  readonly perSecond: number;
  /** RSS when the 10,000th event was consumed (MB). */
  readonly rssAt10k: number;
  /** Highest RSS sampled every 10,000 events until the end (MB). */
  readonly rssMax: number;
  /** Live heap after a full GC at the 10,000th and the last event (MB); NaN without --expose-gc. */
  readonly heapAt10k: number;
  readonly heapAtEnd: number;
}

/** The live heap after a full GC, in MB (NaN when node runs without --expose-gc). */
export function liveHeapMB(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return Number.NaN;
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/**
 * Streams every event through `run` (toHead, no-op consumer) and times it; samples RSS every
 * 10,000 events. The run ends with ERR_REFLEX_HEAD_REACHED; any other error is thrown.
 */
export async function catchUp(
  stream: StreamFunc,
  store: CursorStore,
  name: string,
  signal?: AbortSignal,
): Promise<CatchUpResult> {
  let events = 0;
  let rssAt10k = Number.NaN;
  let rssMax = 0;
  let heapAt10k = Number.NaN;
  const consumer = newConsumer(name, (_e: Event) => {
    events++;
    if (events % 10_000 === 0) {
      const r = rssMB();
      if (events === 10_000) {
        rssAt10k = r;
        heapAt10k = liveHeapMB();
      }
      if (r > rssMax) rssMax = r;
    }
  });
  const start = performance.now();
  try {
    await run(newSpec(stream, store, consumer, { toHead: true }), signal ? { signal } : {});
  } catch (err) {
    if (!isHeadReachedErr(err)) throw err;
  }
  const ms = performance.now() - start;
  const rssEnd = rssMB();
  const heapAtEnd = liveHeapMB();
  await store.flush();
  return {
    heapAt10k,
    heapAtEnd,
    events,
    ms,
    perSecond: (events / ms) * 1000,
    rssAt10k,
    rssMax: Math.max(rssMax, rssEnd),
  };
}

/** Times `fn`, returning its result and the elapsed ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await fn();
  return { result, ms: performance.now() - start };
}
