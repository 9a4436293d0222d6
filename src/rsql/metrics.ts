import { counter, gauge, histogram } from '../internal/metrics.js';
import type { MetricsRegistry } from '../internal/metrics-registry.js';

/**
 * Counters every events table keeps (also without a metrics registry), read with
 * `eventsTable.stats()`. Cumulative since the table was created.
 */
export interface EventsTableStats {
  /** Loader invocations by streams that reached the loader (cache lookups included). */
  readonly polls: number;
  /** Database round trips of the table's loaders: event selects, MAX(id), gap checks (one per READ UNCOMMITTED transaction) and noop fills. */
  readonly queries: number;
  /** Event rows read from the database. */
  readonly rowsLoaded: number;
  /** Stream reads served from the shared head cache. */
  readonly cacheHits: number;
  /** Stream reads that needed a database load. */
  readonly cacheMisses: number;
  /** Times a load stopped at a gap (repeats per poll while it blocks). */
  readonly gapsDetected: number;
  /** Noop rows inserted to resolve rolled-back ids. */
  readonly gapsFilled: number;
  /** 1 while the head of some loader of the table is blocked by an unresolved gap. */
  readonly blockingGaps: number;
  /** Age in ms of the oldest gap now blocking a loader (0 when none). */
  readonly oldestBlockingGapMs: number;
}

/** Mutable counters behind {@link EventsTableStats}. */
export class EventsCounters {
  polls = 0;
  queries = 0;
  rowsLoaded = 0;
  cacheHits = 0;
  cacheMisses = 0;
  gapsDetected = 0;
  gapsFilled = 0;
}

/** The Prometheus metrics of one events table (the original's names, label `table`). */
export interface EventsMetrics {
  poll(): void;
  cacheHit(): void;
  cacheMiss(): void;
  gapDetected(): void;
  gapFilled(n: number): void;
  blockingGap(blocking: boolean, ageSeconds: number): void;
  loaded(rows: number, loadSeconds: number, decodeSeconds: number): void;
}

const noop = (): void => {};

/** Metrics that record nothing (no registry). */
export const noEventsMetrics: EventsMetrics = Object.freeze({
  poll: noop,
  cacheHit: noop,
  cacheMiss: noop,
  gapDetected: noop,
  gapFilled: noop,
  blockingGap: noop,
  loaded: noop,
});

/** The events table metrics of `table` in `registry`. */
export function eventsMetrics(registry: MetricsRegistry, table: string): EventsMetrics {
  const labels = { table };
  const poll = counter(registry, {
    name: 'reflex_events_table_poll_total',
    help: 'Loader invocations by the streams of an events table.',
    labelNames: ['table'],
  }).labels(labels);
  const hits = counter(registry, {
    name: 'reflex_events_table_rcache_hits_total',
    help: 'Stream reads served from the shared head cache.',
    labelNames: ['table'],
  }).labels(labels);
  const misses = counter(registry, {
    name: 'reflex_events_table_rcache_misses_total',
    help: 'Stream reads that needed a database load.',
    labelNames: ['table'],
  }).labels(labels);
  const detected = counter(registry, {
    name: 'reflex_events_table_gap_detected_total',
    help: 'Loads that stopped at a gap in the ids (repeats per poll).',
    labelNames: ['table'],
  }).labels(labels);
  const filled = counter(registry, {
    name: 'reflex_events_table_gap_filled_total',
    help: 'Noop rows inserted to resolve rolled-back ids.',
    labelNames: ['table'],
  }).labels(labels);
  const blocking = gauge(registry, {
    name: 'reflex_events_table_blocking_gap',
    help: '1 while the head of the events table is blocked by an unresolved gap.',
    labelNames: ['table'],
  }).labels(labels);
  const age = gauge(registry, {
    name: 'reflex_events_table_blocking_gap_age_seconds',
    help: 'Age of the oldest gap blocking the head of the events table (0 when none).',
    labelNames: ['table'],
  }).labels(labels);
  // Gaps are resolved by every loader automatically: the listening gauge is always 1.
  gauge(registry, {
    name: 'reflex_events_table_gap_listening',
    help: '1 when gaps of the events table are being resolved.',
    labelNames: ['table'],
  })
    .labels(labels)
    .set(1);
  const loading = histogram(registry, {
    name: 'reflex_events_table_loading_duration_seconds',
    help: 'Time to query and decode one batch of events.',
    labelNames: ['table'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
  }).labels(labels);
  const decoding = histogram(registry, {
    name: 'reflex_events_table_deserialization_duration_seconds',
    help: 'Mean time to decode one row, observed once per batch.',
    labelNames: ['table'],
    buckets: [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 0.1, 1, 10],
  }).labels(labels);
  const deserialized = counter(registry, {
    name: 'reflex_events_table_events_deserialized_total',
    help: 'Event rows decoded.',
    labelNames: ['table'],
  }).labels(labels);
  return {
    poll: () => poll.inc(),
    cacheHit: () => hits.inc(),
    cacheMiss: () => misses.inc(),
    gapDetected: () => detected.inc(),
    gapFilled: (n) => filled.inc(n),
    blockingGap: (b, seconds) => {
      blocking.set(b ? 1 : 0);
      age.set(b ? seconds : 0);
    },
    loaded: (rows, loadSeconds, decodeSeconds) => {
      loading.observe(loadSeconds);
      if (rows > 0) {
        deserialized.inc(rows);
        decoding.observe(decodeSeconds / rows);
      }
    },
  };
}

/** Counts cursor writes: `reflex_cursors_table_set_total{table}`. */
export function cursorSetCounter(registry: MetricsRegistry, table: string): (n: number) => void {
  const c = counter(registry, {
    name: 'reflex_cursors_table_set_total',
    help: 'Cursor writes to a cursors table.',
    labelNames: ['table'],
  }).labels({ table });
  return (n) => c.inc(n);
}

/** Counts dead-lettered events: `reflex_consumer_dead_lettered_events_count{consumer_name}`. */
export function deadLetterCounter(registry: MetricsRegistry): (consumer: string) => void {
  const c = counter(registry, {
    name: 'reflex_consumer_dead_lettered_events_count',
    help: 'Consumer errors recorded in an errors table.',
    labelNames: ['consumer_name'],
  });
  return (consumer) => c.labels({ consumer_name: consumer }).inc();
}
