import type * as PromClient from 'prom-client';
import { invalidArgument } from './errors.js';
import type { MetricsRegistry } from './metrics-registry.js';
import { optionalRequire } from './optional-require.js';

export type { MetricsRegistry } from './metrics-registry.js';

type Prom = typeof PromClient;

let prom: Prom | undefined;

/** prom-client, loaded on first use; an application that passes a registry must have it installed. */
export function promClient(): Prom {
  prom ??= optionalRequire<Prom>('prom-client');
  if (prom === undefined) {
    throw invalidArgument('a metrics registry was given but prom-client is not installed');
  }
  return prom;
}

interface MetricSpec<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
}

function existing<T>(
  registry: MetricsRegistry,
  name: string,
  kind: new (...a: never[]) => T,
): T | undefined {
  const found = registry.getSingleMetric(name);
  if (found === undefined) return undefined;
  if (!(found instanceof kind)) {
    throw invalidArgument(`metric ${name} is already registered with another type`);
  }
  return found;
}

/** A counter of `registry`, created once and reused by every later caller. */
export function counter<L extends string>(
  registry: MetricsRegistry,
  spec: MetricSpec<L>,
): PromClient.Counter<L> {
  const { Counter } = promClient();
  return (
    existing(registry, spec.name, Counter<L>) ??
    new Counter<L>({
      ...spec,
      labelNames: [...spec.labelNames],
      registers: [registry as PromClient.Registry],
    })
  );
}

/** A gauge of `registry`, created once and reused by every later caller. */
export function gauge<L extends string>(
  registry: MetricsRegistry,
  spec: MetricSpec<L> & { collect?: (this: PromClient.Gauge<L>) => void },
): PromClient.Gauge<L> {
  const { Gauge } = promClient();
  return (
    existing(registry, spec.name, Gauge<L>) ??
    new Gauge<L>({
      ...spec,
      labelNames: [...spec.labelNames],
      registers: [registry as PromClient.Registry],
    })
  );
}

/** A histogram of `registry`, created once and reused by every later caller. */
export function histogram<L extends string>(
  registry: MetricsRegistry,
  spec: MetricSpec<L> & { buckets: readonly number[] },
): PromClient.Histogram<L> {
  const { Histogram } = promClient();
  return (
    existing(registry, spec.name, Histogram<L>) ??
    new Histogram<L>({
      ...spec,
      labelNames: [...spec.labelNames],
      buckets: [...spec.buckets],
      registers: [registry as PromClient.Registry],
    })
  );
}
