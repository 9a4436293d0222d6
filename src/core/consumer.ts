import { consumerOptionKeys } from '../internal/consumer-option-keys.js';
import type { MetricsRegistry } from '../internal/metrics-registry.js';
import { checkOptionKeys, msOption } from '../internal/options.js';
import { settled } from '../internal/settled.js';
import { type Clock, systemClock } from './clock.js';
import {
  type ConsumerActivity,
  type ConsumerMetrics,
  consumerMetrics,
} from './consumer-metrics.js';
import { ErrorCode, invalidArgument, isExpected, ReflexError } from './errors.js';
import { type Event, type EventType, typeNumber } from './event.js';
import { withTraceParent } from './tracing.js';

/**
 * Processes events. `consume` must be idempotent: delivery is at-least-once, so an event may come
 * again after a failure. `run` calls `reset` at the start of every run; `stop` is called by
 * `spec.stop()` (runForever does it between runs), never by `run`.
 */
export interface Consumer {
  /** The cursor key and the `consumer_name` metric label. */
  readonly name: string;
  /** Handles one event; a rejection stops `run` with the cursor before this event. */
  consume(event: Event, signal: AbortSignal): Promise<void>;
  reset?(signal: AbortSignal): Promise<void>;
  stop?(): Promise<void>;
}

/** Decides whether an event reaches the consumer's function; must be fast and do no I/O. Throw to fail. */
export type EventFilter = (event: Event) => boolean;

/**
 * Called with a non-expected error of the consumer's function: return to swallow the error (the
 * cursor moves on), throw to keep it or to replace it.
 */
export type RecoveryFunc = (
  err: unknown,
  event: Event,
  signal: AbortSignal,
) => void | Promise<void>;

/** The business logic of a consumer. */
export type ConsumerFunc = (event: Event, signal: AbortSignal) => Promise<void> | void;

/** Options of {@link newConsumer}. */
export interface ConsumerOptions {
  /** Only events of these types reach the function; the others are skipped. @default all types */
  readonly includeTypes?: readonly EventType[];
  /** A further filter, applied after `includeTypes`. @default none */
  readonly filter?: EventFilter;
  /** Recovery hook for non-expected errors. @default keep the error */
  readonly recover?: RecoveryFunc;
  /** The lag above which `reflex_consumer_lag_alert` is 1, in ms; `null` disables the alert. @default 1_800_000 (30 min) */
  readonly lagAlertMs?: number | null;
  /** `reflex_consumer_active` is 1 while an event was consumed this recently, in ms; `null` disables the series. @default 86_400_000 (24 h) */
  readonly activityTtlMs?: number | null;
  /** Where the consumer metrics go (a prom-client Registry). @default no metrics */
  readonly registry?: MetricsRegistry;
  /** Time source, for tests. @default the system clock */
  readonly clock?: Clock;
}

const defaults = Object.freeze({ lagAlertMs: 30 * 60_000, activityTtlMs: 24 * 3_600_000 });
/** A finite number of ms ≥ 0, or null (the feature off). */
function msOrNull(name: string, v: unknown, fallback: number): number | null {
  return v === null ? null : msOption(v, `consumer option ${name}`, fallback);
}

/**
 * Builds an instrumented consumer around `fn`: type and event filters (skipped events are
 * counted, not passed on), a recovery hook, the trace of the event installed as the parent of
 * `fn`'s spans, and the original's Prometheus metrics when a registry is given.
 *
 * @example
 * const consumer = newConsumer('mailer', async (e) => sendWelcome(e.foreignId), {
 *   includeTypes: [UserEvent.created],
 * });
 */
export function newConsumer(
  name: string,
  fn: ConsumerFunc,
  options: ConsumerOptions = {},
): Consumer {
  if (typeof name !== 'string' || name === '')
    throw invalidArgument('consumer name must be a non-empty string');
  if (typeof fn !== 'function') throw invalidArgument('consumer function must be a function');
  checkOptionKeys(options, consumerOptionKeys, 'consumer');
  const lagAlertMs = msOrNull('lagAlertMs', options.lagAlertMs, defaults.lagAlertMs);
  const activityTtlMs = msOrNull('activityTtlMs', options.activityTtlMs, defaults.activityTtlMs);
  const types =
    options.includeTypes === undefined ? undefined : new Set(options.includeTypes.map(typeNumber));
  if (options.filter !== undefined && typeof options.filter !== 'function') {
    throw invalidArgument('consumer option filter must be a function');
  }
  if (options.recover !== undefined && typeof options.recover !== 'function') {
    throw invalidArgument('consumer option recover must be a function');
  }
  const clock = options.clock ?? systemClock;
  const metrics = options.registry === undefined ? undefined : consumerMetrics(options.registry);
  return new InstrumentedConsumer(name, fn, {
    types: types === undefined || types.size === 0 ? undefined : types,
    filter: options.filter,
    recover: options.recover,
    lagAlertMs,
    activityTtlMs,
    clock,
    metrics,
  });
}

interface Resolved {
  types: Set<number> | undefined;
  filter: EventFilter | undefined;
  recover: RecoveryFunc | undefined;
  lagAlertMs: number | null;
  activityTtlMs: number | null;
  clock: Clock;
  metrics: ConsumerMetrics | undefined;
}

class InstrumentedConsumer implements Consumer {
  readonly name: string;
  readonly #fn: ConsumerFunc;
  readonly #o: Resolved;
  readonly #labels: { consumer_name: string };
  /** This consumer's entry in the activity gauge (undefined when not tracked). */
  readonly #activity: ConsumerActivity | undefined;

  constructor(name: string, fn: ConsumerFunc, o: Resolved) {
    this.name = name;
    this.#fn = fn;
    this.#o = o;
    this.#labels = { consumer_name: name };
    if (o.metrics !== undefined && o.activityTtlMs !== null) {
      // Construction counts as activity, so a consumer that just started is not reported idle.
      this.#activity = { lastMs: o.clock.now(), ttlMs: o.activityTtlMs, now: () => o.clock.now() };
      let consumers = o.metrics.activity.get(name);
      if (consumers === undefined) {
        consumers = new Map();
        o.metrics.activity.set(name, consumers);
      }
      consumers.set(this, this.#activity);
    }
    this.#resetLag();
  }

  #resetLag(): void {
    this.#o.metrics?.lag.set(this.#labels, 0);
  }

  #passes(event: Event): boolean {
    if (this.#o.types !== undefined && !this.#o.types.has(event.type)) return false;
    if (this.#o.filter === undefined) return true;
    try {
      return this.#o.filter(event);
    } catch (err) {
      throw new ReflexError(
        ErrorCode.filter,
        `event filter failed on event ${event.id}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  consume(event: Event, signal: AbortSignal): Promise<void> {
    const m = this.#o.metrics;
    const start = m === undefined ? 0 : this.#observeArrival(event, m);
    let result: Promise<void> | void;
    try {
      if (!this.#passes(event)) {
        m?.skipped.inc(this.#labels);
        return settled;
      }
      result =
        event.trace === undefined
          ? this.#fn(event, signal)
          : withTraceParent(event.trace, () => this.#fn(event, signal));
    } catch (err) {
      return this.#settle(undefined, { err }, event, signal, start);
    }
    if (result !== undefined) return this.#settle(result, undefined, event, signal, start);
    // Done in place: no promise of our own (see `settled`).
    if (m !== undefined) m.latency.observe(this.#labels, (performance.now() - start) / 1000);
    return settled;
  }

  /** Lag, age and activity metrics on arrival; returns the start of the latency measure. */
  #observeArrival(event: Event, m: ConsumerMetrics): number {
    const start = performance.now();
    const now = this.#o.clock.now();
    const lagSeconds = (now - event.timestamp.getTime()) / 1000;
    if (this.#activity !== undefined) this.#activity.lastMs = now;
    m.lag.set(this.#labels, lagSeconds);
    m.eventAge.observe(this.#labels, lagSeconds);
    const alertMs = this.#o.lagAlertMs;
    m.lagAlert.set(this.#labels, alertMs !== null && lagSeconds * 1000 > alertMs ? 1 : 0);
    return start;
  }

  /** The asynchronous end of `consume`: awaits the function, then recovery and metrics. */
  async #settle(
    pending: Promise<void> | undefined,
    thrown: { err: unknown } | undefined,
    event: Event,
    signal: AbortSignal,
    start: number,
  ): Promise<void> {
    const o = this.#o;
    const m = o.metrics;
    let failure = thrown;
    if (pending !== undefined) {
      try {
        await pending;
      } catch (err) {
        failure = { err };
      }
    }
    if (failure !== undefined && !isExpected(failure.err) && o.recover !== undefined) {
      try {
        await o.recover(failure.err, event, signal);
        failure = undefined;
      } catch (err) {
        failure = { err };
      }
    }
    if (failure !== undefined && !isExpected(failure.err)) m?.errors.inc(this.#labels);
    if (m !== undefined) m.latency.observe(this.#labels, (performance.now() - start) / 1000);
    if (failure !== undefined) throw failure.err;
  }

  reset(_signal: AbortSignal): Promise<void> {
    this.#resetLag();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    // Deleted here rather than when run ends, so the last value survives until a scrape.
    this.#o.metrics?.lag.remove(this.#labels);
    this.#forgetActivity();
    return Promise.resolve();
  }

  /** A stopped consumer leaves the activity gauge (its name too, when it was the last). */
  #forgetActivity(): void {
    const activity = this.#o.metrics?.activity;
    const consumers = activity?.get(this.name);
    if (consumers === undefined) return;
    consumers.delete(this);
    if (consumers.size === 0) activity?.delete(this.name);
  }
}
