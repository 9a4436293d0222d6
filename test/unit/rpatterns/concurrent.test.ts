import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Event, newConsumer, run } from '../../../src/core/index.js';
import { newConcurrentConsumer, newConcurrentSpec } from '../../../src/rpatterns/index.js';
import { MemCursorStore, newMockStream } from '../../../src/testing/index.js';
import { makeEvents } from '../../support/events.js';
import { settle } from '../../support/manual-clock.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('concurrent consumer', () => {
  it('1000 events with 100 in flight end at cursor 1000; the window is bounded', async () => {
    const store = new MemCursorStore();
    let inFlight = 0;
    let maxSeen = 0;
    const handled = new Set<string>();
    const inner = newConsumer('conc', async (e) => {
      inFlight++;
      maxSeen = Math.max(maxSeen, inFlight);
      // Finish out of order: later ids often finish first.
      const turns = (Number(e.id) * 7919) % 13;
      for (let i = 0; i < turns; i++) await tick();
      handled.add(e.id);
      inFlight--;
    });
    const consumer = newConcurrentConsumer(store, inner, 100);
    const spec = newConcurrentSpec(newMockStream(makeEvents(1000)), consumer);
    await assert.rejects(run(spec), { code: 'ERR_REFLEX_STREAM_ENDED' });
    await spec.stop();
    assert.equal(handled.size, 1000);
    assert.equal(maxSeen, 100, 'at most 100 in flight, and the window was used');
    assert.equal(await store.getCursor('conc'), '1000');
  });

  it('a failure on event 2: cursor stays at 1, the next consume throws it, reset clears it', async () => {
    const store = new MemCursorStore();
    let fail = true;
    const inner = newConsumer('conc', (e) => {
      if (fail && e.id === '2') throw new Error('cannot handle 2');
    });
    const consumer = newConcurrentConsumer(store, inner, 10);
    const signal = new AbortController().signal;
    const events = makeEvents(5) as [Event, Event, Event, Event, Event];
    await consumer.reset(signal);
    await consumer.consume(events[0], signal);
    await consumer.consume(events[1], signal);
    await settle();
    await assert.rejects(consumer.consume(events[2], signal), (err: Error) => {
      assert.equal((err as { code?: string }).code, 'ERR_REFLEX_CONCURRENT_CONSUME');
      assert.match(err.message, /failed on event 2: cannot handle 2/);
      return true;
    });
    await consumer.stop();
    assert.equal(await store.getCursor('conc'), '1');

    fail = false;
    await consumer.reset(signal);
    for (const e of events.slice(1)) await consumer.consume(e, signal);
    await consumer.stop();
    assert.equal(await store.getCursor('conc'), '5');
  });

  it('a failing cursor write with a logger that throws: stop still settles, nothing rejects unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown): void => {
      unhandled.push(err);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const store = new MemCursorStore();
      const throwing = () => {
        throw new Error('logger down');
      };
      const logger = { debug: throwing, info: throwing, warn: throwing, error: throwing };
      const consumer = newConcurrentConsumer(
        store,
        newConsumer('conc', () => {}),
        4,
        { logger },
      );
      const signal = new AbortController().signal;
      await consumer.reset(signal);
      // The store fails from now on (reset itself flushes, and must have worked).
      store.setCursor = () => Promise.reject(new Error('store down'));
      store.flush = () => Promise.reject(new Error('store down'));
      for (const e of makeEvents(3)) await consumer.consume(e, signal);
      await settle();
      await consumer.stop();
      await settle();
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('the failure fails run with the cursor before the failed event', async () => {
    const store = new MemCursorStore();
    const inner = newConsumer('conc', async (e) => {
      await tick();
      if (e.id === '40') throw new Error('boom');
    });
    const consumer = newConcurrentConsumer(store, inner, 8);
    const spec = newConcurrentSpec(newMockStream(makeEvents(200)), consumer);
    await assert.rejects(
      run(spec),
      /consume error: concurrent consumer conc failed on event 40: boom/,
    );
    await spec.stop();
    assert.equal(await store.getCursor('conc'), '39');
  });

  it('a missing id (70) does not block the cursor', async () => {
    const store = new MemCursorStore();
    const consumer = newConcurrentConsumer(store, newConsumer('conc', tick), 5);
    const events = makeEvents(100).filter((e) => e.id !== '70');
    const spec = newConcurrentSpec(newMockStream(events), consumer);
    await assert.rejects(run(spec));
    await spec.stop();
    assert.equal(await store.getCursor('conc'), '100');
  });

  it('refuses a bad window, non-integer ids, and consume before reset', async () => {
    const inner = newConsumer('c', () => {});
    assert.throws(() => newConcurrentConsumer(new MemCursorStore(), inner, 0), {
      code: 'ERR_REFLEX_INVALID_ARGUMENT',
    });
    const consumer = newConcurrentConsumer(new MemCursorStore(), inner, 2);
    const signal = new AbortController().signal;
    await assert.rejects(consumer.consume(makeEvents(1)[0] as Event, signal), {
      code: 'ERR_REFLEX_BATCH_STATE',
    });
    await consumer.reset(signal);
    await assert.rejects(
      consumer.consume({ id: 'abc', type: 1, foreignId: 'x', timestamp: new Date() }, signal),
      { code: 'ERR_REFLEX_INVALID_ARGUMENT' },
    );
    await consumer.stop();
    await consumer.stop();
  });

  it('an abort while the window is full ends consume with the abort reason', async () => {
    const ac = new AbortController();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const consumer = newConcurrentConsumer(
      new MemCursorStore(),
      newConsumer('c', () => gate),
      1,
    );
    const events = makeEvents(2) as [Event, Event];
    await consumer.reset(ac.signal);
    await consumer.consume(events[0], ac.signal);
    const blocked = consumer.consume(events[1], ac.signal);
    await tick();
    ac.abort();
    await assert.rejects(blocked, { name: 'AbortError' });
    release();
    await consumer.stop();
  });
});
