/**
 * The registry metrics are written to: a prom-client `Registry`, typed structurally so that
 * nothing here imports prom-client unless the application passes one. Its own file: the public
 * declarations reach it, and they must not import prom-client's types (an optional peer).
 */
export interface MetricsRegistry {
  getSingleMetric(name: string): unknown;
  registerMetric(metric: never): void;
}
