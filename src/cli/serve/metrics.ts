import { createRequire } from 'node:module';
import type { MetricsRegistry } from '../../core/index.js';
import { runtimeError } from '../errors.js';

/** The part of a prom-client registry `reflex serve` uses. */
export interface PromRegistry extends MetricsRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
}
interface Prom {
  Registry: new () => PromRegistry;
  Gauge: new (config: object) => unknown;
  Counter: new (config: object) => { inc(n: number): void };
  collectDefaultMetrics(config: { register: PromRegistry }): void;
}

/** What the server's own gauges read. */
export interface ServedCounts {
  readonly openStreams: number;
  readonly sentEvents: number;
}

/** The metrics of `reflex serve`: prom-client, loaded only when metrics are on. */
export interface ServeMetrics {
  readonly registry: PromRegistry;
  /** Registers the gauges of the running gRPC server. */
  watchServer(server: ServedCounts): void;
}

/** A registry with Node's default metrics; prom-client is an optional peer, so its absence is a clear error. */
export function openServeMetrics(): ServeMetrics {
  let prom: Prom;
  try {
    prom = createRequire(import.meta.url)('prom-client') as Prom;
  } catch {
    throw runtimeError(
      'metrics need the prom-client package: npm install prom-client (or pass --no-metrics)',
    );
  }
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry });
  return {
    registry,
    watchServer(s) {
      new prom.Gauge({
        name: 'reflex_serve_open_streams',
        help: 'Streams being served now.',
        registers: [registry],
        collect(this: { set(n: number): void }) {
          this.set(s.openStreams);
        },
      });
      let reported = 0;
      const sent = new prom.Counter({
        name: 'reflex_serve_sent_events_total',
        help: 'Events handed to gRPC since the start.',
        registers: [registry],
        collect() {
          sent.inc(s.sentEvents - reported);
          reported = s.sentEvents;
        },
      });
    },
  };
}
