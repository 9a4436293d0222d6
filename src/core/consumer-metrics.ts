import type * as PromClient from 'prom-client';
import { counter, gauge, histogram } from '../internal/metrics.js';
import type { MetricsRegistry } from '../internal/metrics-registry.js';

type Label = 'consumer_name';

/** The consumer metrics of one registry, with the original's names, labels and buckets. */
export interface ConsumerMetrics {
  readonly lag: PromClient.Gauge<Label>;
  readonly lagAlert: PromClient.Gauge<Label>;
  readonly eventAge: PromClient.Histogram<Label>;
  readonly latency: PromClient.Histogram<Label>;
  readonly errors: PromClient.Counter<Label>;
  readonly skipped: PromClient.Counter<Label>;
  /**
   * Consumer name → the activity of each live consumer of that name (same-named consumers each
   * keep their own; the name is active when one of them is); read when the registry is scraped.
   * A consumer's entry goes when it stops, and the name with its last one.
   */
  readonly activity: Map<string, Map<object, ConsumerActivity>>;
}

/** When a consumer last consumed, and how long it may stay idle. */
export interface ConsumerActivity {
  lastMs: number;
  readonly ttlMs: number;
  readonly now: () => number;
}

const byRegistry = new WeakMap<MetricsRegistry, ConsumerMetrics>();

/** The consumer metrics of `registry`, registered on first use. */
export function consumerMetrics(registry: MetricsRegistry): ConsumerMetrics {
  let m = byRegistry.get(registry);
  if (m !== undefined) return m;
  const labelNames = ['consumer_name'] as const;
  const activity: ConsumerMetrics['activity'] = new Map();
  m = {
    lag: gauge(registry, {
      name: 'reflex_consumer_lag_seconds',
      help: 'Lag between now and the current event timestamp in seconds',
      labelNames,
    }),
    lagAlert: gauge(registry, {
      name: 'reflex_consumer_lag_alert',
      help: 'Whether or not the consumer lag crosses its alert threshold',
      labelNames,
    }),
    eventAge: histogram(registry, {
      name: 'reflex_consumer_event_age_seconds',
      help: 'Lag between now and the consumed event timestamp in seconds',
      labelNames,
      buckets: [0.1, 0.5, 1, 5, 10, 50, 100, 500, 1000, 10000, 50000, 100000],
    }),
    latency: histogram(registry, {
      name: 'reflex_consumer_latency_seconds',
      help: 'Event consumer latency in seconds',
      labelNames,
      buckets: [0.01, 0.1, 1, 5, 10, 60, 300],
    }),
    errors: counter(registry, {
      name: 'reflex_consumer_error_count',
      help: 'Number of errors processing events',
      labelNames,
    }),
    skipped: counter(registry, {
      name: 'reflex_consumer_skipped_events_count',
      help: 'Number of events skipped by the consumer filters',
      labelNames,
    }),
    activity,
  };
  gauge(registry, {
    name: 'reflex_consumer_active',
    help: 'Whether the consumer consumed an event within its activity TTL',
    labelNames,
    collect(this: PromClient.Gauge<Label>) {
      this.reset();
      for (const [name, consumers] of activity) {
        let active = false;
        for (const a of consumers.values()) if (a.now() - a.lastMs <= a.ttlMs) active = true;
        this.set({ consumer_name: name }, active ? 1 : 0);
      }
    },
  });
  byRegistry.set(registry, m);
  return m;
}
