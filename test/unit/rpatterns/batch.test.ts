import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ErrorCode,
  type Event,
  newSpec,
  ReflexError,
  run,
  type StreamFunc,
} from '../../../src/core/index.js';
import { BaseStreamClient } from '../../../src/internal/stream-client.js';
import { newBatchConsumer, newBatchSpec, runForever } from '../../../src/rpatterns/index.js';
import { MemCursorStore, newMemoryEventLog, newMockStream } from '../../../src/testing/index.js';
import { makeEvents } from '../../support/events.js';
import { FakeClock } from '../../support/fake-clock.js';
import { ManualClock, settle } from '../../support/manual-clock.js';

class RecordingStore extends MemCursorStore {
  readonly sets: string[] = [];
  override setCursor(name: string, cursor: string): Promise<void> {
    this.sets.push(cursor);
    return super.setCursor(name, cursor);
  }
}

/** A stream that ends with ERR_REFLEX_STOPPED after the next `counts` events of each open. */
function stoppingStream(inner: StreamFunc, counts: number[]): StreamFunc {
  return async (after, options) => {
    const client = await inner(after, options);
    let left = counts.shift() ?? Number.POSITIVE_INFINITY;
    return new (class extends BaseStreamClient {
      constructor() {
        super(options?.signal);
      }
      protected async pull(): Promise<Event> {
        if (left-- <= 0) throw new ReflexError(ErrorCode.stopped, 'stream stopped');
        return client.recv();
      }
      protected override release(): Promise<void> {
        return client.close();
      }
    })();
  };
}

function ids(batches: (readonly Event[])[]): string[] {
  return batches.flat().map((e) => e.id);
}

function range(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
}

describe('batch consumer', () => {
  for (const [maxLength, batches] of [
    [4, 5],
    [10, 2],
    [20, 1],
    [15, 1],
    [40, 0],
  ] as const) {
    it(`by length ${maxLength}: 20 events make ${batches} full batches, each acked`, async () => {
      const store = new RecordingStore();
      const seen: (readonly Event[])[] = [];
      const consumer = newBatchConsumer('b', store, (batch) => void seen.push(batch), {
        maxLength,
      });
      await assert.rejects(run(newBatchSpec(newMockStream(makeEvents(20)), consumer)), {
        code: 'ERR_REFLEX_STREAM_ENDED',
      });
      await consumer.stop();
      assert.equal(seen.length, batches);
      for (const b of seen) assert.equal(b.length, maxLength);
      assert.deepEqual(
        store.sets,
        seen.map((b) => b.at(-1)?.id),
      );
      assert.deepEqual(ids(seen), range(1, batches * maxLength));
    });
  }

  it('a stale partial batch is discarded on reset: the next run re-batches it, nothing twice', async () => {
    const store = new RecordingStore();
    const seen: (readonly Event[])[] = [];
    const consumer = newBatchConsumer('b', store, (batch) => void seen.push(batch), {
      maxLength: 5,
    });
    const events = makeEvents(12);
    await assert.rejects(run(newBatchSpec(newMockStream(events.slice(0, 7)), consumer)));
    assert.deepEqual(ids(seen), range(1, 5));
    await assert.rejects(run(newBatchSpec(newMockStream(events), consumer)));
    assert.deepEqual(ids(seen), range(1, 10));
    assert.deepEqual(store.sets, ['5', '10']);
    await consumer.stop();
  });

  it('no period and no length: ERR_REFLEX_INVALID_BATCH_CONFIG', () => {
    assert.throws(() => newBatchConsumer('b', new MemCursorStore(), () => {}), {
      code: 'ERR_REFLEX_INVALID_BATCH_CONFIG',
    });
    assert.throws(
      () => newBatchConsumer('b', new MemCursorStore(), () => {}, { periodMs: 0, maxLength: 0 }),
      { code: 'ERR_REFLEX_INVALID_BATCH_CONFIG' },
    );
    assert.throws(
      () => newBatchConsumer('b', new MemCursorStore(), () => {}, { maxLen: 3 } as never),
      {
        code: 'ERR_REFLEX_INVALID_ARGUMENT',
      },
    );
  });

  it('an error of a full batch fails the run at once, the cursor before the batch', async () => {
    const store = new RecordingStore();
    const consumer = newBatchConsumer(
      'b',
      store,
      (batch) => {
        if (batch[0]?.id === '4') throw new Error('batch failed');
      },
      { maxLength: 3 },
    );
    await assert.rejects(
      run(newBatchSpec(newMockStream(makeEvents(10)), consumer)),
      (err: Error) => {
        assert.equal(err.message, 'consume error: batch failed');
        return true;
      },
    );
    assert.deepEqual(store.sets, ['3']);
    await consumer.stop();
  });

  it('stop is safe before reset and repeatedly; consume before reset is a batch state error', async () => {
    const consumer = newBatchConsumer('b', new MemCursorStore(), () => {}, { maxLength: 2 });
    await consumer.stop();
    await consumer.stop();
    await assert.rejects(
      consumer.consume(makeEvents(1)[0] as Event, new AbortController().signal),
      {
        code: 'ERR_REFLEX_BATCH_STATE',
      },
    );
    await consumer.reset(new AbortController().signal);
    await consumer.stop();
    await consumer.stop();
  });

  it('period-only batching: every partial batch is flushed by its timer, all 50 events once', async () => {
    const clock = new ManualClock();
    const log = newMemoryEventLog({ clock });
    const store = new RecordingStore();
    const seen: (readonly Event[])[] = [];
    const consumer = newBatchConsumer('b', store, (batch) => void seen.push(batch), {
      periodMs: 1_000,
      clock,
    });
    const ac = new AbortController();
    const running = run(newBatchSpec(log.stream, consumer), { signal: ac.signal, clock });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) log.insert('x', 1);
      await settle();
      assert.equal(clock.pending, 1, 'one timer per partial batch');
      await clock.advance(999);
      assert.equal(seen.length, round, 'not flushed before the period');
      await clock.advance(1);
      assert.equal(seen.length, round + 1);
    }
    assert.deepEqual(
      seen.map((b) => b.length),
      [10, 10, 10, 10, 10],
    );
    assert.deepEqual(ids(seen), range(1, 50));
    assert.deepEqual(store.sets, ['10', '20', '30', '40', '50']);
    ac.abort();
    await assert.rejects(running, { name: 'AbortError' });
    await consumer.stop();
    assert.equal(clock.pending, 0, 'no timer left');
  });

  it('the timer is armed at event time + period − now, at least 100 ms', async () => {
    const clock = new ManualClock();
    const consumer = newBatchConsumer('b', new MemCursorStore(), () => {}, {
      periodMs: 1_000,
      clock,
    });
    const signal = new AbortController().signal;
    await consumer.reset(signal);
    const at = (msAgo: number): Event => ({
      id: '1',
      type: 1,
      foreignId: 'x',
      timestamp: new Date(clock.now() - msAgo),
    });
    await consumer.consume(at(300), signal);
    assert.deepEqual(clock.sleeps, [700]);
    await consumer.stop();
    await consumer.reset(signal);
    await consumer.consume(at(5_000), signal);
    assert.deepEqual(clock.sleeps, [700, 100]);
    await consumer.stop();
    assert.equal(clock.pending, 0);
  });

  it('length and period together: a full batch cancels the timer', async () => {
    const clock = new ManualClock();
    const log = newMemoryEventLog({ clock });
    const seen: (readonly Event[])[] = [];
    const consumer = newBatchConsumer('b', new MemCursorStore(), (b) => void seen.push(b), {
      periodMs: 1_000,
      maxLength: 4,
      clock,
    });
    const ac = new AbortController();
    const running = run(newBatchSpec(log.stream, consumer), { signal: ac.signal, clock });
    for (let i = 0; i < 6; i++) log.insert('x', 1);
    await settle();
    assert.deepEqual(
      seen.map((b) => b.length),
      [4],
    );
    assert.equal(clock.pending, 1, 'only the timer of the partial batch');
    await clock.advance(1_000);
    assert.deepEqual(
      seen.map((b) => b.length),
      [4, 2],
    );
    ac.abort();
    await assert.rejects(running);
    await consumer.stop();
    assert.equal(clock.pending, 0);
  });

  it('a failed background batch surfaces as ERR_REFLEX_BATCH_STATE; runForever recovers, all 100 once', async () => {
    const clock = new ManualClock();
    const log = newMemoryEventLog({ clock });
    const store = new RecordingStore();
    const processed: string[] = [];
    let failures = 0;
    const errors: string[] = [];
    const consumer = newBatchConsumer(
      'b',
      store,
      (batch) => {
        if (failures < 2 && batch.some((e) => e.id === '25')) {
          failures++;
          throw new Error('downstream unavailable');
        }
        for (const e of batch) processed.push(e.id);
      },
      { periodMs: 1_000, clock },
    );
    const ac = new AbortController();
    const forever = runForever(newBatchSpec(log.stream, consumer), {
      signal: ac.signal,
      clock,
      errorBackoffMs: 500,
      jitter: 0,
      logger: {
        debug() {},
        info() {},
        warn() {},
        error: (_m, f) => void errors.push(String(f?.error)),
      },
    });
    for (let tick = 0; tick < 100 && processed.length < 100; tick++) {
      if (log.events.length < 100) for (let i = 0; i < 10; i++) log.insert('x', 1);
      await clock.advance(500);
    }
    assert.deepEqual(processed, range(1, 100));
    assert.equal(failures, 2);
    assert.ok(
      errors.some((e) => /failed in the background: downstream unavailable/.test(e)),
      `a batch state error was logged by runForever: ${errors.join(' | ')}`,
    );
    ac.abort();
    await forever;
    assert.equal(clock.pending, 0, 'no timer left');
    assert.equal(await store.getCursor('b'), '100');
  });

  it('a logger that throws on a failed background batch leaves no unhandled rejection', async (t) => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    t.after(() => process.off('unhandledRejection', onUnhandled));
    const clock = new ManualClock();
    let logged = 0;
    const consumer = newBatchConsumer(
      'b',
      new MemCursorStore(),
      () => {
        throw new Error('downstream unavailable');
      },
      {
        periodMs: 1_000,
        clock,
        logger: {
          debug() {},
          info() {},
          warn() {},
          error() {
            logged++;
            throw new Error('logger broke');
          },
        },
      },
    );
    const signal = new AbortController().signal;
    await consumer.reset(signal);
    const [e1, e2] = makeEvents(2);
    await consumer.consume(e1 as Event, signal);
    await clock.advance(1_000);
    await settle();
    assert.equal(logged, 1);
    assert.deepEqual(unhandled, []);
    await assert.rejects(consumer.consume(e2 as Event, signal), {
      code: 'ERR_REFLEX_BATCH_STATE',
      message: /failed in the background: downstream unavailable/,
    });
    await consumer.stop();
    assert.deepEqual(unhandled, []);
  });

  it('under runForever with runs ending mid-batch (stream stops, cancelled batches), all 100 once', async () => {
    const log = newMemoryEventLog();
    for (let i = 0; i < 100; i++) log.insert('x', 1);
    const store = new RecordingStore();
    const processed: string[] = [];
    const ac = new AbortController();
    let attempts = 0;
    const consumer = newBatchConsumer(
      'b',
      store,
      (batch) => {
        attempts++;
        if (attempts % 3 === 0) throw new ReflexError(ErrorCode.canceled, 'cancelled mid-batch');
        for (const e of batch) processed.push(e.id);
        if (processed.length === 100) ac.abort();
      },
      { maxLength: 5 },
    );
    const stream = stoppingStream(log.stream, [3, 11, 9, 30, 2, 17, 40, 8, 25, 13, 60, 5]);
    const clock = new FakeClock();
    await runForever(newBatchSpec(stream, consumer), { signal: ac.signal, clock });
    assert.equal(processed.length, 100);
    assert.deepEqual(processed, range(1, 100), 'in order, none lost, none twice');
    assert.ok(clock.sleeps.length > 5, 'runs were restarted');
    assert.ok(
      clock.sleeps.every((ms) => ms === 100),
      'only expected errors',
    );
    assert.equal(await store.getCursor('b'), '100');
  });

  it('with the system clock: no timer is left after run ends and stop', async () => {
    const log = newMemoryEventLog();
    const consumer = newBatchConsumer('b', new MemCursorStore(), () => {}, { periodMs: 3_600_000 });
    const base = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const ac = new AbortController();
    const running = run(newSpec(log.stream, new MemCursorStore(), consumer), { signal: ac.signal });
    log.insert('x', 1);
    await settle();
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, base + 1);
    ac.abort();
    await assert.rejects(running);
    await consumer.stop();
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, base);
  });
});
