import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ErrorCode,
  type Logger,
  newConsumer,
  newSpec,
  ReflexError,
  type StreamClient,
  type StreamFunc,
} from '../../../src/core/index.js';
import { runForever } from '../../../src/rpatterns/index.js';
import { MemCursorStore, newMemoryEventLog } from '../../../src/testing/index.js';
import { FakeClock } from '../../support/fake-clock.js';

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string, fields?: Readonly<Record<string, unknown>>) => {
    // Errors are logged as objects (code, cause and stack reach the logger): shown by message.
    const render = (_key: string, v: unknown): unknown =>
      v instanceof Error ? `${v.name}: ${v.message}` : v;
    lines.push(`${level} ${message} ${JSON.stringify(fields, render)}`);
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('runForever', () => {
  it('pauses 100 ms after an expected error and ~1 min with jitter after others, stopping the consumer between runs', async () => {
    const log = newMemoryEventLog();
    log.insert('a', 1);
    const ac = new AbortController();
    let opens = 0;
    const stream: StreamFunc = (after, options) => {
      opens++;
      if (opens === 1) return Promise.reject(new ReflexError(ErrorCode.stopped, 'server stopped'));
      if (opens === 2) return Promise.reject(new Error('db down'));
      if (opens === 3) return Promise.reject(new Error('db still down'));
      return log.stream(after, options);
    };
    const events: string[] = [];
    let stops = 0;
    const inner = newConsumer('forever', () => {
      events.push('consume');
      ac.abort();
    });
    const consumer = {
      name: 'forever',
      consume: inner.consume.bind(inner),
      stop: async () => {
        stops++;
        events.push('stop');
      },
    };
    const clock = new FakeClock();
    const randoms = [1, 0];
    const logger = recordingLogger();
    await runForever(newSpec(stream, new MemCursorStore(), consumer), {
      signal: ac.signal,
      clock,
      logger,
      random: () => randoms.shift() ?? 0.5,
    });
    assert.deepEqual(clock.sleeps, [100, 72_000, 48_000]);
    assert.equal(stops, 4, 'stopped after each of the 4 runs, including the last');
    assert.deepEqual(events, ['stop', 'stop', 'stop', 'consume', 'stop']);
    assert.equal(logger.lines.length, 3);
    assert.match(logger.lines[0] ?? '', /^debug .*server stopped.*"retryInMs":100/);
    assert.match(
      logger.lines[1] ?? '',
      /^error .*"consumer":"forever".*db down.*"retryInMs":72000/,
    );
    assert.match(logger.lines[2] ?? '', /^error .*db still down/);
  });

  it('configurable pauses; jitter 0 gives the exact back-off', async () => {
    let opens = 0;
    const ac = new AbortController();
    const stream: StreamFunc = () => {
      opens++;
      if (opens === 4) ac.abort();
      return Promise.reject(
        opens % 2 === 0 ? new Error('x') : new ReflexError(ErrorCode.canceled, 'c'),
      );
    };
    const clock = new FakeClock();
    await runForever(
      newSpec(
        stream,
        new MemCursorStore(),
        newConsumer('c', () => {}),
      ),
      {
        signal: ac.signal,
        clock,
        expectedErrorBackoffMs: 5,
        errorBackoffMs: 1_000,
        jitter: 0,
      },
    );
    assert.deepEqual(clock.sleeps, [5, 1_000, 5]);
  });

  it('an abort during the long back-off resolves at once and leaves no timer', async () => {
    const ac = new AbortController();
    const logger = recordingLogger();
    const failing: StreamFunc = () => Promise.reject(new Error('broken'));
    const base = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const done = runForever(
      newSpec(
        failing,
        new MemCursorStore(),
        newConsumer('c', () => {}),
      ),
      {
        signal: ac.signal,
        logger: {
          ...logger,
          error: (m, f) => {
            logger.error(m, f);
            // Abort once the back-off sleep has started.
            setImmediate(() => ac.abort());
          },
        },
        errorBackoffMs: 3_600_000,
      },
    );
    await done;
    assert.equal(logger.lines.length, 1);
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, base);
  });

  it('an abort during a run ends it, stops the consumer and resolves', async () => {
    const log = newMemoryEventLog();
    const ac = new AbortController();
    let stops = 0;
    const inner = newConsumer('c', () => {});
    const consumer = {
      name: 'c',
      consume: inner.consume.bind(inner),
      stop: async () => void stops++,
    };
    const store = new MemCursorStore();
    const done = runForever(newSpec(log.stream, store, consumer), { signal: ac.signal });
    log.insert('a', 1);
    while ((await store.getCursor('c')) !== '1') await new Promise((r) => setImmediate(r));
    ac.abort();
    await done;
    assert.equal(stops, 1);
  });

  it('resolves at once when already aborted; refuses bad options', async () => {
    const spec = newSpec(
      newMemoryEventLog().stream,
      new MemCursorStore(),
      newConsumer('c', () => {}),
    );
    await runForever(spec, { signal: AbortSignal.abort() });
    await assert.rejects(runForever(spec, { bogus: 1 } as never), {
      code: 'ERR_REFLEX_INVALID_ARGUMENT',
    });
    await assert.rejects(runForever(spec, { jitter: 2 }), { code: 'ERR_REFLEX_INVALID_ARGUMENT' });
    await assert.rejects(runForever(spec, { errorBackoffMs: -1 }), {
      code: 'ERR_REFLEX_INVALID_ARGUMENT',
    });
  });
});

describe('runForever: transient errors', () => {
  const lost = () =>
    new ReflexError('ERR_REFLEX_DB_CLOSED', 'recv error: database closed: connect ECONNREFUSED');

  it('retries a transient error from 100 ms doubling to a 1.25 s cap, logged at warn with the code', async () => {
    const ac = new AbortController();
    let opens = 0;
    const stream: StreamFunc = () => {
      if (++opens === 8) ac.abort();
      return Promise.reject(opens === 7 ? new ReflexError(ErrorCode.unavailable, 'down') : lost());
    };
    const clock = new FakeClock();
    const logger = recordingLogger();
    await runForever(
      newSpec(
        stream,
        new MemCursorStore(),
        newConsumer('t', () => {}),
      ),
      { signal: ac.signal, clock, logger, jitter: 0 },
    );
    assert.deepEqual(clock.sleeps, [100, 200, 400, 800, 1_250, 1_250, 1_250]);
    assert.equal(logger.lines.length, 7);
    assert.match(logger.lines[0] ?? '', /^warn .*"code":"ERR_REFLEX_DB_CLOSED".*"retryInMs":100/);
    assert.match(logger.lines[6] ?? '', /^warn .*"code":"ERR_REFLEX_UNAVAILABLE"/);
  });

  it('starts the back-off over once events flowed; a consumer error still gets the long pause; jitter spreads it; a run that delivered nothing skips its flush', async () => {
    const log = newMemoryEventLog();
    const ac = new AbortController();
    let opens = 0;
    // Down twice, then a run that delivers an event and loses the connection, then down again,
    // then a consumer failure.
    const stream: StreamFunc = async (after, options) => {
      opens++;
      if (opens === 3) {
        log.insert('a', 1);
        const inner = await log.stream(after, options);
        let n = 0;
        // The source delivers one event, then loses its connection.
        return Object.assign(Object.create(inner) as StreamClient, {
          recv: () => (n++ === 0 ? inner.recv() : Promise.reject(lost())),
          tryRecv: () => undefined,
          close: () => inner.close(),
        });
      }
      if (opens === 5) {
        log.insert('b', 2);
        return log.stream(after, options);
      }
      if (opens === 6) ac.abort();
      return Promise.reject(lost());
    };
    let consumed = 0;
    const consumer = newConsumer('t', (e) => {
      consumed++;
      if (e.foreignId === 'b') throw new Error('the consumer itself failed');
    });
    const clock = new FakeClock();
    const randoms = [0, 0, 0.5, 1, 0.5];
    const store = new MemCursorStore();
    let flushes = 0;
    const flush = store.flush.bind(store);
    store.flush = () => {
      flushes++;
      return flush();
    };
    await runForever(newSpec(stream, store, consumer), {
      signal: ac.signal,
      clock,
      random: () => randoms.shift() ?? 0.5,
    });
    assert.equal(consumed, 2);
    // 100 and 200 at −20%, then 100 again (the run delivered 'a'), then 200 at +20%, then the
    // consumer's own error: 60 s.
    assert.deepEqual(clock.sleeps, [80, 160, 100, 240, 60_000]);
    // Only the run that delivered 'a' and the last one (shut down) flushed: a retry that
    // delivered nothing does not ask the database again.
    assert.equal(flushes, 2);
  });

  it('options: custom back-off, validated', async () => {
    let opens = 0;
    const ac = new AbortController();
    const stream: StreamFunc = () => {
      if (++opens === 4) ac.abort();
      return Promise.reject(lost());
    };
    const clock = new FakeClock();
    const spec = newSpec(
      stream,
      new MemCursorStore(),
      newConsumer('c', () => {}),
    );
    await runForever(spec, {
      signal: ac.signal,
      clock,
      jitter: 0,
      transientBackoffMs: 10,
      transientBackoffMaxMs: 30,
    });
    assert.deepEqual(clock.sleeps, [10, 20, 30]);
    for (const bad of [
      { transientBackoffMs: -1 },
      { transientBackoffMs: Number.NaN },
      { transientBackoffMaxMs: 50, transientBackoffMs: 100 },
      { transientBackoffMaxMs: '1s' as unknown as number },
    ]) {
      await assert.rejects(runForever(spec, bad), { code: 'ERR_REFLEX_INVALID_ARGUMENT' });
    }
  });
});
