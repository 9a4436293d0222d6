import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { awaitEvent } from '../../../src/rpatterns/index.js';
import { newMemoryEventLog, newMockStream } from '../../../src/testing/index.js';
import { ManualClock, settle } from '../../support/manual-clock.js';

describe('awaitEvent', () => {
  it('resolves at the first later event of that foreign id and type', async () => {
    const log = newMemoryEventLog();
    log.insert('order-1', 2); // before the call: does not count
    let done = false;
    const waiting = awaitEvent(log.stream, 'order-1', { types: [2] }).then(() => {
      done = true;
    });
    await settle();
    assert.equal(done, false);
    log.insert('order-1', 1);
    log.insert('order-2', 2);
    await settle();
    assert.equal(done, false);
    log.insert('order-1', 2);
    await waiting;
    assert.equal(done, true);
  });

  it('a stream that ends without the event: its error', async () => {
    await assert.rejects(
      awaitEvent(newMockStream([], new Error('stream gone')), 'x'),
      /stream gone/,
    );
  });

  it('poll: true resolves; an error rejects; polled right away then every interval', async () => {
    const clock = new ManualClock();
    const log = newMemoryEventLog();
    let polls = 0;
    const waiting = awaitEvent(log.stream, 'x', {
      clock,
      pollIntervalMs: 250,
      poll: () => ++polls === 3,
    });
    await settle();
    assert.equal(polls, 1);
    await clock.advance(250);
    assert.equal(polls, 2);
    await clock.advance(250);
    await waiting;
    assert.equal(polls, 3);
    assert.equal(clock.pending, 0);

    await assert.rejects(
      awaitEvent(log.stream, 'x', { poll: () => Promise.reject(new Error('poll failed')) }),
      /poll failed/,
    );
  });

  it('an aborted signal rejects with its reason and leaves nothing waiting', async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const waiting = awaitEvent(newMemoryEventLog().stream, 'x', {
      signal: ac.signal,
      clock,
      poll: () => false,
    });
    await settle();
    ac.abort(new Error('gave up'));
    await assert.rejects(waiting, /gave up/);
    assert.equal(clock.pending, 0);
    await assert.rejects(
      awaitEvent(newMemoryEventLog().stream, 'x', { signal: AbortSignal.abort() }),
      {
        name: 'AbortError',
      },
    );
  });
});
