import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CursorStore,
  ErrorCode,
  type Event,
  hasCode,
  isExpected,
  type Logger,
  newConsumer,
  newSpec,
  ReflexError,
  run,
  type StreamClient,
  type StreamFunc,
} from '../../src/core/index.js';
import { MemCursorStore, newMemoryEventLog } from '../../src/testing/index.js';

/** A logger that keeps what it was given. */
function recordingLogger(): Logger & {
  entries: { level: string; message: string; fields: Record<string, unknown> }[];
} {
  const entries: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, fields: Readonly<Record<string, unknown>> = {}): void => {
      entries.push({ level, message, fields: { ...fields } });
    };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const never = <T>(): Promise<T> => new Promise<T>(() => {});

/** A log of `n` events and its stream. */
function logOf(n: number): StreamFunc {
  const log = newMemoryEventLog();
  for (let i = 0; i < n; i++) log.insert(String(i), 1);
  return log.stream;
}

/** A stream client over fixed values, as a stream function might hand out (typed loosely). */
function clientOf(values: unknown[]): StreamClient {
  let i = 0;
  return {
    recv: () => (i < values.length ? Promise.resolve(values[i++] as Event) : never<Event>()),
    close: () => Promise.resolve(),
    [Symbol.asyncIterator]: () => {
      throw new Error('not used');
    },
  };
}

/** Resolves once `check()` holds (a bounded wait on a condition, not a sleep). */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('run: a stuck store or stream does not hold an abort, and the end is bounded', () => {
  it('abort while setCursor hangs: run rejects with the reason; the hung final flush is bounded and logged with the last cursor', async () => {
    const mem = new MemCursorStore();
    let sets = 0;
    const store: CursorStore = {
      getCursor: (n) => mem.getCursor(n),
      setCursor: (n, c) => (++sets === 3 ? never<void>() : mem.setCursor(n, c)),
      flush: () => never<void>(),
    };
    const logger = recordingLogger();
    const ac = new AbortController();
    const p = run(
      newSpec(
        logOf(5),
        store,
        newConsumer('stuck', () => {}),
      ),
      {
        signal: ac.signal,
        logger,
        flushTimeoutMs: 30,
      },
    );
    await until(() => sets === 3, 'the third setCursor');
    ac.abort();
    await assert.rejects(p, (err) => err === ac.signal.reason);
    const flushLog = logger.entries.find((e) => /final cursor flush timed out/.test(e.message));
    assert.ok(flushLog, `logged: ${JSON.stringify(logger.entries)}`);
    assert.equal(flushLog.level, 'error');
    assert.equal(flushLog.fields.consumer, 'stuck');
    assert.equal(
      flushLog.fields.cursor,
      '2',
      'the last cursor set, which the flush may not have written',
    );
  });

  it('abort while setCursor is in flight: run returns only once that write has landed', async () => {
    const mem = new MemCursorStore();
    let sets = 0;
    let release: () => void = () => {};
    const store: CursorStore = {
      getCursor: (n) => mem.getCursor(n),
      setCursor: (n, c) => {
        if (++sets !== 3) return mem.setCursor(n, c);
        return new Promise<void>((resolve) => {
          release = () => resolve(mem.setCursor(n, c));
        });
      },
      flush: () => Promise.resolve(),
    };
    const ac = new AbortController();
    let ended = false;
    const p = run(
      newSpec(
        logOf(5),
        store,
        newConsumer('in-flight', () => {}),
      ),
      {
        signal: ac.signal,
        flushTimeoutMs: 60_000,
      },
    ).finally(() => {
      ended = true;
    });
    await until(() => sets === 3, 'the third setCursor');
    ac.abort();
    // Several turns of the event loop: an abandoned write would have let the run end by now.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(ended, false, 'the run waits for the interrupted write');
    release();
    await assert.rejects(p, (err) => err === ac.signal.reason);
    assert.equal(await mem.getCursor('in-flight'), '3', 'the write landed before run returned');
  });

  it('abort while the stream function hangs: run rejects with the reason; a client arriving late is closed', async () => {
    let closed = 0;
    let release: (c: StreamClient) => void = () => {};
    const stream: StreamFunc = () =>
      new Promise<StreamClient>((resolve) => {
        release = resolve;
      });
    const ac = new AbortController();
    let opened = false;
    const p = run(
      newSpec(
        (after, o) => {
          opened = true;
          return stream(after, o);
        },
        new MemCursorStore(),
        newConsumer('slow-open', () => {}),
      ),
      { signal: ac.signal },
    );
    await until(() => opened, 'the stream call');
    ac.abort();
    await assert.rejects(p, (err) => err === ac.signal.reason);
    const late = clientOf([]);
    late.close = () => {
      closed++;
      return Promise.resolve();
    };
    release(late);
    await until(() => closed === 1, 'the late client to be closed');
  });

  it('abort while getCursor hangs ends the run', async () => {
    const ac = new AbortController();
    let asked = false;
    const store: CursorStore = {
      getCursor: () => {
        asked = true;
        return never<string>();
      },
      setCursor: () => Promise.resolve(),
      flush: () => Promise.resolve(),
    };
    const p = run(
      newSpec(
        logOf(1),
        store,
        newConsumer('c', () => {}),
      ),
      { signal: ac.signal },
    );
    await until(() => asked, 'getCursor');
    ac.abort();
    await assert.rejects(p, (err) => err === ac.signal.reason);
  });

  it('a failing close and a failing final flush are logged with their error, not dropped', async () => {
    const logger = recordingLogger();
    const closeErr = new ReflexError(ErrorCode.unavailable, 'close broke');
    const flushErr = new Error('flush broke');
    const stream: StreamFunc = async () => {
      const c = clientOf([]);
      c.recv = () => Promise.reject(new Error('gone'));
      c.close = () => Promise.reject(closeErr);
      return c;
    };
    const mem = new MemCursorStore();
    const store: CursorStore = {
      getCursor: (n) => mem.getCursor(n),
      setCursor: (n, c) => mem.setCursor(n, c),
      flush: () => Promise.reject(flushErr),
    };
    await assert.rejects(
      run(
        newSpec(
          stream,
          store,
          newConsumer('c', () => {}),
        ),
        { logger },
      ),
      /recv error: gone/,
    );
    const close = logger.entries.find((e) => e.message === 'reflex stream close failed');
    assert.equal(close?.fields.error, closeErr);
    assert.equal(close?.fields.code, ErrorCode.unavailable);
    const flush = logger.entries.find((e) => /final cursor flush failed/.test(e.message));
    assert.equal(flush?.fields.error, flushErr);
    assert.equal(flush?.fields.cursor, null, 'no cursor was set by this run');
  });

  it('flushTimeoutMs and the option keys are validated', async () => {
    const spec = newSpec(
      logOf(1),
      new MemCursorStore(),
      newConsumer('c', () => {}),
    );
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5']) {
      await assert.rejects(
        run(spec, { flushTimeoutMs: bad as number }),
        (err) => hasCode(err, ErrorCode.invalidArgument) && /flushTimeoutMs/.test(String(err)),
      );
    }
    await assert.rejects(
      run(spec, { flushTimeout: 5 } as never),
      (err) =>
        hasCode(err, ErrorCode.invalidArgument) &&
        /unknown run option "flushTimeout"/.test(String(err)),
    );
  });
});

describe('run: loosely written stores and odd throws become coded errors, never a crash', () => {
  it('getCursor and flush returning plain values are accepted; an abort afterwards ends the run cleanly', async () => {
    const mem = new MemCursorStore({ plain: '1' });
    const store = {
      getCursor: () => '1', // a plain string, not a promise
      setCursor: (n: string, c: string) => mem.setCursor(n, c),
      flush: () => undefined,
    } as unknown as CursorStore;
    const ac = new AbortController();
    const seen: string[] = [];
    const p = run(
      newSpec(
        logOf(4),
        store,
        newConsumer('plain', (e) => {
          seen.push(e.id);
          if (seen.length === 3) ac.abort();
        }),
      ),
      { signal: ac.signal },
    );
    await assert.rejects(p, (err) => err === ac.signal.reason && isExpected(err));
    assert.deepEqual(seen, ['2', '3', '4']);
    assert.equal(mem.snapshot().plain, '4');
  });

  it('a getCursor that answers a non-string is ERR_REFLEX_GET_CURSOR', async () => {
    const store = {
      getCursor: () => 7,
      setCursor: () => Promise.resolve(),
      flush: () => Promise.resolve(),
    } as unknown as CursorStore;
    await assert.rejects(
      run(
        newSpec(
          logOf(1),
          store,
          newConsumer('c', () => {}),
        ),
      ),
      (err) =>
        err instanceof ReflexError &&
        err.code === ErrorCode.getCursor &&
        /number/.test(err.message),
    );
  });

  const odd: [string, () => unknown][] = [
    ['a null-prototype object', () => Object.create(null)],
    [
      'an error whose message getter throws',
      () => {
        const e = new Error('x');
        Object.defineProperty(e, 'message', {
          get() {
            throw new Error('no message for you');
          },
        });
        return e;
      },
    ],
    ['undefined', () => undefined],
    ['a symbol', () => Symbol('s')],
  ];
  for (const [what, make] of odd) {
    it(`a consumer throwing ${what} rejects run with ERR_REFLEX_CONSUME, the value as cause`, async () => {
      const thrown = make();
      await assert.rejects(
        run(
          newSpec(
            logOf(1),
            new MemCursorStore(),
            newConsumer('c', () => {
              throw thrown;
            }),
          ),
        ),
        (err) =>
          err instanceof ReflexError &&
          err.code === ErrorCode.consume &&
          /^consume error: /.test(err.message) &&
          err.cause === thrown,
      );
    });
    it(`a stream function throwing ${what} rejects run with a ReflexError, the value as cause`, async () => {
      const thrown = make();
      await assert.rejects(
        run(
          newSpec(
            () => {
              throw thrown;
            },
            new MemCursorStore(),
            newConsumer('c', () => {}),
          ),
        ),
        (err) => err instanceof ReflexError && err.code === ErrorCode.recv && err.cause === thrown,
      );
    });
  }

  for (const [what, value] of [
    ['null', null],
    ['a number', 5],
    ['an event without an id', { type: 1, timestamp: new Date() }],
  ] as [string, unknown][]) {
    it(`a stream handing out ${what} rejects run with ERR_REFLEX_RECV`, async () => {
      let consumed = 0;
      await assert.rejects(
        run(
          newSpec(
            async () => clientOf([value]),
            new MemCursorStore(),
            newConsumer('c', () => {
              consumed++;
            }),
          ),
        ),
        (err) =>
          err instanceof ReflexError &&
          err.code === ErrorCode.recv &&
          /malformed event/.test(err.message),
      );
      assert.equal(consumed, 0);
    });
  }

  it('an event without a Date timestamp under lag is ERR_REFLEX_RECV, not a TypeError', async () => {
    await assert.rejects(
      run(
        newSpec(
          async () => clientOf([{ id: '1', type: 1, foreignId: 'f', timestamp: 'yesterday' }]),
          new MemCursorStore(),
          newConsumer('c', () => {}),
          { lag: 1000 },
        ),
      ),
      (err) =>
        err instanceof ReflexError && err.code === ErrorCode.recv && /timestamp/.test(err.message),
    );
  });

  it('a stream function returning no client is ERR_REFLEX_RECV', async () => {
    await assert.rejects(
      run(
        newSpec(
          (async () => ({})) as unknown as StreamFunc,
          new MemCursorStore(),
          newConsumer('c', () => {}),
        ),
      ),
      (err) =>
        err instanceof ReflexError &&
        err.code === ErrorCode.recv &&
        /no stream client/.test(err.message),
    );
  });
});
