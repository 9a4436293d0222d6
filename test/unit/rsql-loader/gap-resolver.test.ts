import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, type Logger, noopLogger, ReflexError } from '../../../src/core/index.js';
import type {
  Executor,
  Gap,
  GapContext,
  GapStrategy,
  GapVerdict,
} from '../../../src/rsql/dialect.js';
import { newEventsTable } from '../../../src/rsql/index.js';
import { GapResolver } from '../../../src/rsql/loader/gap-resolver.js';
import { EventsCounters, noEventsMetrics } from '../../../src/rsql/metrics.js';
import { sqliteDialect } from '../../../src/rsql/sqlite/index.js';
import { FakeClock } from '../../support/fake-clock.js';

const schema = newEventsTable('events').schema;

function resolverWith(gaps: GapStrategy, options: { logger?: Logger; executor?: Executor } = {}) {
  const clock = new FakeClock();
  const counters = new EventsCounters();
  const stop = new AbortController();
  const resolver = new GapResolver({
    dialect: sqliteDialect,
    handle: {},
    executor: options.executor ?? {
      query: () => Promise.resolve([]),
      execute: () => Promise.resolve({ affectedRows: 0 }),
    },
    schema,
    statements: sqliteDialect.eventsStatements(schema),
    gaps,
    clock,
    logger: options.logger ?? noopLogger,
    metrics: noEventsMetrics,
    counters,
    signal: stop.signal,
  });
  return { resolver, clock, counters, stop };
}

const always = (verdict: GapVerdict): GapStrategy => ({ resolve: () => Promise.resolve(verdict) });

describe('GapResolver', () => {
  it('detects every hole of a page, counts them and keeps when each was first seen', () => {
    const { resolver, clock, counters } = resolverWith(always('wait'));
    const rows = [[5], [7], [8], [11]];
    const first = resolver.detect(rows, 0, 4);
    assert.deepEqual(
      first.map((g) => [g.after, g.before]),
      [
        [5, 7],
        [8, 11],
      ],
    );
    assert.equal(counters.gapsDetected, 2);
    clock.nowMs += 1000;
    const again = resolver.detect(rows, 1, 5);
    assert.equal(again[0]?.firstSeenMs, first[0]?.firstSeenMs, 'the age survives polls');
    assert.equal(resolver.firstSeen(5), first[0]?.firstSeenMs);
    resolver.passed(5);
    assert.equal(resolver.firstSeen(5), clock.nowMs, 'forgotten once passed');
    resolver.passedRange(0, 9);
    assert.equal(resolver.firstSeen(8), clock.nowMs);
  });

  it('without resolveMany, judges holes in order up to the first that is not skipped', async () => {
    const asked: number[] = [];
    const verdicts: Record<number, GapVerdict> = { 1: 'skip', 3: 'wait', 5: 'skip' };
    const { resolver } = resolverWith({
      resolve: (gap) => {
        asked.push(gap.after);
        return Promise.resolve(verdicts[gap.after] ?? 'wait');
      },
    });
    const holes: Gap[] = [1, 3, 5].map((after) => ({ after, before: after + 2, firstSeenMs: 0 }));
    const out = await resolver.resolve(holes);
    assert.deepEqual(
      [...out],
      [
        [1, 'skip'],
        [3, 'wait'],
      ],
    );
    assert.deepEqual(asked, [1, 3]);
  });

  it('never runs the strategy concurrently, and its queries count as the table’s', async () => {
    let running = 0;
    let most = 0;
    const strategy: GapStrategy = {
      resolve: () => Promise.resolve('wait'),
      async resolveMany(gaps: readonly Gap[], ctx: GapContext) {
        running++;
        most = Math.max(most, running);
        await ctx.executor.query('SELECT 1', []);
        await new Promise<void>((r) => setImmediate(r));
        running--;
        return gaps.map(() => 'skip' as const);
      },
    };
    const { resolver, counters } = resolverWith(strategy);
    const hole = (after: number): Gap => ({ after, before: after + 2, firstSeenMs: 0 });
    const results = await Promise.all([1, 2, 3].map((a) => resolver.resolve([hole(a)])));
    assert.equal(most, 1);
    assert.deepEqual(
      results.map((m) => [...m]),
      [[[1, 'skip']], [[2, 'skip']], [[3, 'skip']]],
    );
    assert.equal(counters.queries, 3);
  });

  it('a failing strategy leaves the holes waiting (logged); a ReflexError refuses', async () => {
    const logged: unknown[] = [];
    const broken = new Error('deadlock');
    const { resolver } = resolverWith(
      { resolve: () => Promise.reject(broken) },
      { logger: { ...noopLogger, warn: (_m, f) => logged.push(f?.error) } },
    );
    const hole: Gap = { after: 1, before: 3, firstSeenMs: 0 };
    assert.deepEqual([...(await resolver.resolve([hole]))], []);
    assert.deepEqual(logged, [broken]);

    const refusal = new ReflexError(ErrorCode.invalidArgument, 'unsafe schema');
    const refusing = resolverWith({ resolve: () => Promise.reject(refusal) }).resolver;
    await assert.rejects(refusing.resolve([hole]), (err) => err === refusal);
    // The next call still runs after a refusal.
    assert.deepEqual([...(await resolver.resolve([hole]))], []);
  });

  it('once the loader stopped, a failure rejects with the stop reason', async () => {
    const { resolver, stop } = resolverWith({
      resolve: () => Promise.reject(new Error('connection closed')),
    });
    const reason = new ReflexError(ErrorCode.stopped, 'stopped');
    stop.abort(reason);
    await assert.rejects(
      resolver.resolve([{ after: 1, before: 3, firstSeenMs: 0 }]),
      (err) => err === reason,
    );
  });
});
