import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Event, newConsumer, newSpec, run, type StreamFunc } from '../../src/core/index.js';
import { Waker } from '../../src/internal/abort.js';
import { setLongTimeout, sleep } from '../../src/internal/timers.js';
import { runForever } from '../../src/rpatterns/index.js';
import { MemCursorStore, newMemoryEventLog, newMockStream } from '../../src/testing/index.js';
import { assertStillPending, thirtyDaysMs } from '../support/still-pending.js';

describe('durations beyond 2^31 − 1 ms', () => {
  it('sleep waits (and still honours its signal)', async () => {
    const ac = new AbortController();
    const slept = sleep(thirtyDaysMs, ac.signal);
    await assertStillPending(slept, 'a 30-day sleep');
    ac.abort(new Error('stop'));
    await assert.rejects(slept, /stop/);
  });

  it('a long timeout does not fire early; a short one fires; clear cancels', async () => {
    let fired = 0;
    const long = setLongTimeout(() => fired++, thirtyDaysMs);
    await new Promise<void>((resolve) => setLongTimeout(resolve, 5));
    await sleep(20);
    assert.equal(fired, 0);
    long.clear();
  });

  it('a Waker wait with a 30-day bound is still woken by wake()', async () => {
    const waker = new Waker();
    const waited = waker.wait(undefined, thirtyDaysMs);
    await assertStillPending(waited, 'a 30-day waker wait');
    waker.wake();
    await waited;
  });

  it('run holds events for a 30-day lag', async () => {
    const event: Event = { id: '1', type: 1, foreignId: 'a', timestamp: new Date() };
    let consumed = 0;
    const ac = new AbortController();
    const running = run(
      newSpec(
        newMockStream([event]),
        new MemCursorStore(),
        newConsumer('lagged', () => {
          consumed++;
        }),
        { lag: thirtyDaysMs },
      ),
      { signal: ac.signal },
    );
    await assertStillPending(running, 'run with a 30-day lag');
    assert.equal(consumed, 0);
    ac.abort();
    await assert.rejects(running, { name: 'AbortError' });
  });

  it('a memory event log stream holds events for a 30-day lag', async () => {
    const log = newMemoryEventLog();
    log.insert('a', 1);
    const client = await log.stream('', { lag: thirtyDaysMs });
    await assertStillPending(client.recv(), 'recv with a 30-day lag');
    await client.close();
    log.stop();
  });

  it('runForever pauses a 30-day errorBackoffMs', async () => {
    let opens = 0;
    const stream: StreamFunc = () => {
      opens++;
      return Promise.reject(new Error('a consumer-side failure'));
    };
    const ac = new AbortController();
    const forever = runForever(
      newSpec(
        stream,
        new MemCursorStore(),
        newConsumer('paused', () => {}),
      ),
      { signal: ac.signal, errorBackoffMs: thirtyDaysMs },
    );
    await assertStillPending(forever, 'runForever');
    assert.equal(opens, 1, 'retried before its 30-day pause');
    ac.abort();
    await forever;
  });
});
