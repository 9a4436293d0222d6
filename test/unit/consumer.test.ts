import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import {
  ErrorCode,
  type Event,
  encodeTrace,
  isFilterErr,
  newConsumer,
  ReflexError,
} from '../../src/core/index.js';
import { makeEvents } from '../support/events.js';
import { FakeClock } from '../support/fake-clock.js';
import { TestContextManager } from '../support/otel-context.js';

const signal = new AbortController().signal;

async function metricValue(
  reg: Registry,
  name: string,
  consumer: string,
): Promise<number | undefined> {
  const m = await reg.getSingleMetric(name)?.get();
  return m?.values.find((v) => v.labels.consumer_name === consumer && !('le' in v.labels))?.value;
}

async function consumeAll(c: ReturnType<typeof newConsumer>, events: Event[]): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const e of events) {
    try {
      await c.consume(e, signal);
    } catch (err) {
      errors.push(err);
    }
  }
  return errors;
}

describe('newConsumer', () => {
  const manager = new TestContextManager();
  before(() => {
    context.setGlobalContextManager(manager.enable());
  });
  after(() => {
    context.disable();
  });

  it('works without run, on a fresh consumer', async () => {
    const seen: string[] = [];
    const c = newConsumer('fresh', (e) => {
      seen.push(e.id);
    });
    await c.consume(makeEvents(1)[0] as Event, signal);
    assert.deepEqual(seen, ['1']);
  });

  it('consume settles, never throws: synchronous failures of the function or filter reject', async () => {
    const e = makeEvents(1)[0] as Event;
    const cases = [
      newConsumer('sync-throw', () => {
        throw new Error('boom');
      }),
      newConsumer('filter-throw', () => {}, {
        filter: () => {
          throw new Error('bad filter');
        },
      }),
    ];
    for (const c of cases) {
      let p: Promise<void> | undefined;
      assert.doesNotThrow(() => {
        p = c.consume(e, signal);
      });
      await assert.rejects(p as Promise<void>);
    }
    const done = newConsumer('in-place', () => {}).consume(e, signal);
    assert.ok(done instanceof Promise);
    assert.equal(await done, undefined);
  });

  it('no filter, empty type list: every event consumed, nothing skipped', async () => {
    for (const options of [{}, { includeTypes: [] }]) {
      const reg = new Registry();
      const seen: string[] = [];
      const c = newConsumer('all', (e) => void seen.push(e.id), { ...options, registry: reg });
      await consumeAll(c, makeEvents(3));
      assert.deepEqual(seen, ['1', '2', '3']);
      assert.equal(
        await metricValue(reg, 'reflex_consumer_skipped_events_count', 'all'),
        undefined,
      );
    }
  });

  it('type filter, event filter and both: skipped events counted', async () => {
    const cases = [
      { options: { includeTypes: [1, 2] }, consumed: ['1', '2'], skipped: 1 },
      { options: { filter: (e: Event) => e.id !== '3' }, consumed: ['1', '2'], skipped: 1 },
      {
        options: { includeTypes: [1, 2], filter: (e: Event) => e.id !== '2' },
        consumed: ['1'],
        skipped: 2,
      },
    ];
    for (const { options, consumed, skipped } of cases) {
      const reg = new Registry();
      const seen: string[] = [];
      const c = newConsumer('f', (e) => void seen.push(e.id), { ...options, registry: reg });
      await consumeAll(c, makeEvents(3));
      assert.deepEqual(seen, consumed);
      assert.equal(await metricValue(reg, 'reflex_consumer_skipped_events_count', 'f'), skipped);
    }
  });

  it('a failing filter gives a filter error for that event and does not call fn', async () => {
    const seen: string[] = [];
    const c = newConsumer('ferr', (e) => void seen.push(e.id), {
      filter: (e) => {
        if (e.id === '2') throw new Error('bad filter');
        return true;
      },
    });
    const errors = await consumeAll(c, makeEvents(3));
    assert.deepEqual(seen, ['1', '3']);
    assert.equal(errors.length, 1);
    assert.equal(isFilterErr(errors[0]), true);
    assert.match(String(errors[0]), /event filter failed on event 2: bad filter/);
  });

  it('recovery: same error kept and counted, nil swallows, new error replaces', async () => {
    const boom = new Error('boom');
    const reg = new Registry();
    let calls = 0;
    const keep = newConsumer(
      'keep',
      () => {
        throw boom;
      },
      {
        registry: reg,
        recover: (err) => {
          calls++;
          throw err;
        },
      },
    );
    const errors = await consumeAll(keep, makeEvents(2));
    assert.deepEqual(errors, [boom, boom]);
    assert.equal(calls, 2);
    assert.equal(await metricValue(reg, 'reflex_consumer_error_count', 'keep'), 2);

    const swallow = newConsumer(
      'swallow',
      () => {
        throw boom;
      },
      { registry: reg, recover: () => {} },
    );
    assert.deepEqual(await consumeAll(swallow, makeEvents(2)), []);
    assert.equal(await metricValue(reg, 'reflex_consumer_error_count', 'swallow'), undefined);

    const other = new Error('other');
    const replace = newConsumer(
      'replace',
      () => {
        throw boom;
      },
      {
        recover: () => {
          throw other;
        },
      },
    );
    assert.deepEqual(await consumeAll(replace, makeEvents(1)), [other]);
  });

  it('recovery is not called for expected errors, which are returned unchanged and not counted', async () => {
    const reg = new Registry();
    const ac = new AbortController();
    ac.abort();
    let calls = 0;
    const c = newConsumer(
      'expected',
      () => {
        throw ac.signal.reason;
      },
      {
        registry: reg,
        recover: () => {
          calls++;
        },
      },
    );
    const errors = await consumeAll(c, makeEvents(1));
    assert.equal(errors[0], ac.signal.reason);
    assert.equal(calls, 0);
    assert.equal(await metricValue(reg, 'reflex_consumer_error_count', 'expected'), undefined);
    const stopped = new ReflexError(ErrorCode.stopped, 'stopped');
    const c2 = newConsumer(
      'expected2',
      () => {
        throw stopped;
      },
      { recover: () => void calls++ },
    );
    assert.deepEqual(await consumeAll(c2, makeEvents(1)), [stopped]);
    assert.equal(calls, 0);
  });

  it('lag, alert and age metrics from the event timestamp; one lag series; stop removes it', async () => {
    const clock = new FakeClock();
    const reg = new Registry();
    const c = newConsumer('lagging', () => {}, { registry: reg, clock, lagAlertMs: 60_000 });
    await c.consume(
      { id: '1', type: 1, foreignId: 'a', timestamp: new Date(clock.nowMs - 120_000) },
      signal,
    );
    assert.equal(await metricValue(reg, 'reflex_consumer_lag_seconds', 'lagging'), 120);
    assert.equal(await metricValue(reg, 'reflex_consumer_lag_alert', 'lagging'), 1);
    await c.consume(
      { id: '2', type: 1, foreignId: 'a', timestamp: new Date(clock.nowMs - 1000) },
      signal,
    );
    assert.equal(await metricValue(reg, 'reflex_consumer_lag_alert', 'lagging'), 0);
    const lag = await reg.getSingleMetric('reflex_consumer_lag_seconds')?.get();
    assert.equal(lag?.values.filter((v) => v.labels.consumer_name === 'lagging').length, 1);
    const age = await reg.getSingleMetric('reflex_consumer_event_age_seconds')?.get();
    const count = age?.values.find(
      (v) =>
        (v as { metricName?: string }).metricName?.endsWith('_count') &&
        v.labels.consumer_name === 'lagging',
    );
    assert.equal(count?.value, 2);
    await c.stop?.();
    assert.equal(await metricValue(reg, 'reflex_consumer_lag_seconds', 'lagging'), undefined);
  });

  it('lagAlertMs null: the alert stays 0', async () => {
    const clock = new FakeClock();
    const reg = new Registry();
    const c = newConsumer('noalert', () => {}, { registry: reg, clock, lagAlertMs: null });
    await c.consume({ id: '1', type: 1, foreignId: 'a', timestamp: new Date(0) }, signal);
    assert.equal(await metricValue(reg, 'reflex_consumer_lag_alert', 'noalert'), 0);
  });

  it('activity gauge: within ttl 1, past ttl 0, null not collected', async () => {
    const clock = new FakeClock();
    const reg = new Registry();
    newConsumer('active', () => {}, { registry: reg, clock, activityTtlMs: 60_000 });
    newConsumer('idle', () => {}, { registry: reg, clock, activityTtlMs: 1 });
    newConsumer('untracked', () => {}, { registry: reg, clock, activityTtlMs: null });
    clock.nowMs += 1000;
    assert.equal(await metricValue(reg, 'reflex_consumer_active', 'active'), 1);
    assert.equal(await metricValue(reg, 'reflex_consumer_active', 'idle'), 0);
    assert.equal(await metricValue(reg, 'reflex_consumer_active', 'untracked'), undefined);
  });

  it('activity gauge: same-named consumers each count; a stopped consumer leaves it, the name with the last', async () => {
    const clock = new FakeClock();
    const reg = new Registry();
    const busy = newConsumer('shard', () => {}, { registry: reg, clock, activityTtlMs: 60_000 });
    const idle = newConsumer('shard', () => {}, { registry: reg, clock, activityTtlMs: 60_000 });
    clock.nowMs += 120_000;
    await busy.consume(
      { id: '1', type: 1, foreignId: 'a', timestamp: new Date(clock.nowMs) },
      signal,
    );
    assert.equal(
      await metricValue(reg, 'reflex_consumer_active', 'shard'),
      1,
      'one of them is active',
    );
    await busy.stop?.();
    assert.equal(
      await metricValue(reg, 'reflex_consumer_active', 'shard'),
      0,
      'the idle one is left',
    );
    await idle.stop?.();
    assert.equal(
      await metricValue(reg, 'reflex_consumer_active', 'shard'),
      undefined,
      'no stale 0 once every consumer of the name stopped',
    );
    for (let i = 0; i < 50; i++) {
      await newConsumer(`dynamic-${i}`, () => {}, { registry: reg, clock }).stop?.();
    }
    assert.equal(await metricValue(reg, 'reflex_consumer_active', 'dynamic-0'), undefined);
  });

  it('the trace of an event becomes the parent span of the consumer function', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const spanId = 'b7ad6b7169203331';
    let seen: { traceId: string; spanId: string; isRemote?: boolean } | undefined;
    const c = newConsumer('traced', () => {
      seen = trace.getSpanContext(context.active());
    });
    const [e] = makeEvents(1);
    await c.consume({ ...(e as Event), trace: encodeTrace({ traceId, spanId }) }, signal);
    assert.equal(seen?.traceId, traceId);
    assert.equal(seen?.spanId, spanId);
    assert.equal(seen?.isRemote, true);
    seen = undefined;
    await c.consume({ ...(e as Event), trace: Uint8Array.of(0xff, 0x01) }, signal);
    assert.equal(seen, undefined, 'garbage trace bytes are ignored');
  });

  it('bad options are refused at construction', () => {
    const fn = (): void => {};
    assert.throws(() => newConsumer('', fn), /non-empty/);
    assert.throws(() => newConsumer('x', fn, { lagAlertMs: -1 }), /lagAlertMs/);
    assert.throws(() => newConsumer('x', fn, { activityTtlMs: Number.NaN }), /activityTtlMs/);
    assert.throws(
      () => newConsumer('x', fn, { nope: 1 } as never),
      /unknown consumer option "nope"/,
    );
  });
});
