import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import {
  ErrorCode,
  type Event,
  hasCode,
  isExpected,
  isHeadReachedErr,
  newConsumer,
  newSpec,
  run,
  type StreamCallOptions,
  type StreamFunc,
} from '../../src/core/index.js';
import { BaseStreamClient } from '../../src/internal/stream-client.js';
import { MemCursorStore, newMemoryEventLog, newMockStream } from '../../src/testing/index.js';
import { assertExitsByItself } from '../support/child.js';
import { makeEvents } from '../support/events.js';
import { FakeClock } from '../support/fake-clock.js';

describe('run', () => {
  it('a consumer instance is reused across runs; the cursor resumes after the last success', async () => {
    const store = new MemCursorStore();
    let fail = true;
    const seen: string[] = [];
    const consumer = newConsumer('reuse', (e) => {
      if (e.id === '2' && fail) throw new Error('fail on 2');
      seen.push(e.id);
    });
    const spec = newSpec(newMockStream(makeEvents(2)), store, consumer);
    await assert.rejects(run(spec), /consume error: fail on 2/);
    assert.equal(await store.getCursor('reuse'), '1');
    fail = false;
    await assert.rejects(run(spec), (err) => hasCode(err, ErrorCode.streamEnded));
    assert.equal(await store.getCursor('reuse'), '2');
    assert.deepEqual(seen, ['1', '2']);
  });

  it('the stream end error surfaces as a recv error with the cursor at the last event', async () => {
    const store = new MemCursorStore();
    const spec = newSpec(
      newMockStream(makeEvents(4), new Error('end')),
      store,
      newConsumer('c', () => {}),
    );
    await assert.rejects(run(spec), (err: Error) => {
      assert.equal(err.message, 'recv error: end');
      assert.equal(hasCode(err, ErrorCode.recv), true);
      return true;
    });
    assert.equal(await store.getCursor('c'), '4');
  });

  it('a consumer error on event 4 leaves the cursor at 3; a start cursor of 2 delivers 3 and 4 only', async () => {
    const store = new MemCursorStore({ c: '2' });
    const seen: string[] = [];
    const spec = newSpec(
      newMockStream(makeEvents(5)),
      store,
      newConsumer('c', (e) => {
        if (e.id === '4') throw new Error('done');
        seen.push(e.id);
      }),
    );
    await assert.rejects(run(spec), /^ReflexError: consume error: done$|consume error: done/);
    assert.deepEqual(seen, ['3']);
    assert.equal(await store.getCursor('c'), '3');
  });

  it('lag is stripped from the stream options and applied by run: waits of lag − age', async () => {
    const cases = [
      { lag: 1000, waits: [1000, 2000, 3000] },
      { lag: 5000, waits: [3000, 4000, 5000, 6000, 7000] },
      { lag: 0, waits: [] },
    ];
    for (const { lag, waits } of cases) {
      const clock = new FakeClock();
      const ages = [2000, 1000, 0, -1000, -2000];
      const events: Event[] = ages.map((age, i) => ({
        id: String(i + 1),
        type: 1,
        foreignId: 'x',
        timestamp: new Date(clock.nowMs - age),
      }));
      const received: StreamCallOptions[] = [];
      const inner = newMockStream(events);
      const stream: StreamFunc = (after, options) => {
        received.push(options ?? {});
        return inner(after, options);
      };
      // Each sleep advances the fake clock; undo it so every event is measured from the same now.
      const consumer = newConsumer('lagged', () => {
        clock.nowMs = Date.UTC(2026, 0, 1);
      });
      clock.nowMs = Date.UTC(2026, 0, 1);
      await assert.rejects(
        run(newSpec(stream, new MemCursorStore(), consumer, { lag }), { clock }),
      );
      assert.deepEqual(clock.sleeps, waits);
      assert.equal(received.length, 1);
      assert.equal('lag' in (received[0] ?? {}), false, 'the source never sees lag');
    }
  });

  it('abort with no events rejects with the signal reason, which is expected', async () => {
    const log = newMemoryEventLog();
    const ac = new AbortController();
    const store = new MemCursorStore();
    const p = run(
      newSpec(
        log.stream,
        store,
        newConsumer('idle', () => {}),
      ),
      { signal: ac.signal },
    );
    setImmediate(() => ac.abort());
    await assert.rejects(p, (err) => {
      assert.equal(err, ac.signal.reason);
      assert.equal(isExpected(err), true);
      return true;
    });
    assert.equal(store.flushCount, 1, 'a best-effort flush on exit');
  });

  it('abort during consume: the consumer gets the signal, run waits for it, the cursor stays', async () => {
    const log = newMemoryEventLog();
    log.insert('a', 1);
    log.insert('b', 1);
    const ac = new AbortController();
    const store = new MemCursorStore();
    let finished = false;
    const consumer = newConsumer('slow', async (e, signal) => {
      if (e.id === '2') {
        ac.abort();
        await new Promise((resolve) => setImmediate(resolve));
        finished = signal.aborted;
        signal.throwIfAborted();
      }
    });
    await assert.rejects(run(newSpec(log.stream, store, consumer), { signal: ac.signal }), (err) =>
      isExpected(err),
    );
    assert.equal(finished, true);
    assert.equal(await store.getCursor('slow'), '1');
  });

  it('abort during a lag wait ends the wait at once', async () => {
    const log = newMemoryEventLog();
    log.insert('a', 1);
    const ac = new AbortController();
    let consumed = 0;
    const spec = newSpec(
      log.stream,
      new MemCursorStore(),
      newConsumer('lag', () => void consumed++),
      {
        lag: 3_600_000,
      },
    );
    const p = run(spec, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(p, (err) => isExpected(err));
    assert.equal(consumed, 0);
  });

  it('every exit closes the stream', async () => {
    let closed = 0;
    class Client extends BaseStreamClient {
      constructor(signal?: AbortSignal) {
        super(signal);
      }
      protected pull(): Promise<Event> {
        return Promise.reject(new Error('broken'));
      }
      protected override release(): Promise<void> {
        closed++;
        return Promise.resolve();
      }
    }
    const stream: StreamFunc = (_after, o) => Promise.resolve(new Client(o?.signal));
    await assert.rejects(
      run(
        newSpec(
          stream,
          new MemCursorStore(),
          newConsumer('c', () => {}),
        ),
      ),
      /recv error: broken/,
    );
    assert.equal(closed, 1);
  });

  it('fromHead applies only while there is no cursor; a stored cursor resumes', async () => {
    const log = newMemoryEventLog();
    for (let i = 0; i < 3; i++) log.insert('x', 1);
    const store = new MemCursorStore();
    const seen: string[] = [];
    const spec = newSpec(
      log.stream,
      store,
      newConsumer('boot', (e) => void seen.push(e.id)),
      {
        fromHead: true,
        toHead: true,
      },
    );
    await assert.rejects(run(spec), (err) => isHeadReachedErr(err));
    assert.deepEqual(seen, []);
    log.insert('x', 1);
    await store.setCursor('boot', '3');
    log.insert('x', 1);
    await assert.rejects(run(spec), (err) => isHeadReachedErr(err));
    assert.deepEqual(seen, ['4', '5']);
  });

  it('exactly one lag series per consumer while it runs and after run returns; stop removes it', async () => {
    const reg = new Registry();
    const series = async (): Promise<number> =>
      ((await reg.getSingleMetric('reflex_consumer_lag_seconds')?.get())?.values ?? []).filter(
        (v) => v.labels.consumer_name === 'gauged',
      ).length;
    const counts: number[] = [];
    const consumer = newConsumer(
      'gauged',
      async () => {
        counts.push(await series());
      },
      { registry: reg },
    );
    const spec = newSpec(newMockStream(makeEvents(3)), new MemCursorStore(), consumer);
    await assert.rejects(run(spec));
    await assert.rejects(run(spec));
    assert.deepEqual(counts, [1, 1, 1]);
    assert.equal(await series(), 1);
    await spec.stop();
    assert.equal(await series(), 0);
  });

  it('bad spec options are refused at newSpec', () => {
    const s = newMockStream([]);
    const store = new MemCursorStore();
    const c = newConsumer('c', () => {});
    for (const bad of [
      { lag: -1 },
      { lag: Number.POSITIVE_INFINITY },
      { lag: Number.NaN },
      { toHead: 'yes' },
      { lagg: 1 },
    ]) {
      assert.throws(
        () => newSpec(s, store, c, bad as never),
        (err) => hasCode(err, ErrorCode.invalidArgument),
        JSON.stringify(bad),
      );
    }
    assert.throws(() => newSpec(undefined as never, store, c), /StreamFunc/);
    assert.throws(() => newSpec(s, {} as never, c), /cursor store/);
    assert.throws(() => newSpec(s, store, { name: '' } as never), /consumer/);
  });

  it('a catch-up done in place still lets timers in, and an abort from a timer ends it', async () => {
    // Every event is buffered, consumed and stored synchronously: nothing but run's own yields
    // gives the event loop a turn.
    const log = newMemoryEventLog();
    const total = 200_000;
    for (let i = 0; i < total; i++) log.insert(String(i), 1);
    const ac = new AbortController();
    let consumed = 0;
    let consumedWhenTimerFired = -1;
    const timer = setTimeout(() => {
      consumedWhenTimerFired = consumed;
      ac.abort();
    }, 1);
    const consumer = newConsumer('in-place', () => {
      consumed++;
    });
    await assert.rejects(
      run(newSpec(log.stream, new MemCursorStore(), consumer), { signal: ac.signal }),
      (err) => err === ac.signal.reason,
    );
    clearTimeout(timer);
    assert.ok(consumedWhenTimerFired >= 0, 'the timer fired while run was going');
    assert.ok(consumedWhenTimerFired < total, 'before the catch-up ended');
    assert.equal(consumed, consumedWhenTimerFired, 'nothing consumed after the abort');
  });

  it('abort ends a waiting recv of a BaseStreamClient subclass that was not given the signal', async () => {
    let pulled = false;
    class Deaf extends BaseStreamClient {
      // biome-ignore lint/complexity/noUselessConstructor: public, over the base's protected one
      constructor() {
        super(); // the call's signal deliberately not passed on
      }
      protected pull(): Promise<Event> {
        pulled = true;
        return new Promise<Event>(() => {}); // never settles
      }
    }
    const ac = new AbortController();
    const p = run(
      newSpec(
        async () => new Deaf(),
        new MemCursorStore(),
        newConsumer('deaf', () => {}),
      ),
      { signal: ac.signal },
    );
    setImmediate(() => ac.abort());
    await assert.rejects(p, (err) => err === ac.signal.reason);
    assert.equal(pulled, true, 'run was waiting in recv');
  });

  it('a process whose run was aborted exits on its own: nothing is left running', () => {
    const out = assertExitsByItself('./run-then-abort.js');
    assert.match(out, /consumed 3, run rejected: expected/);
  });
});
