import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CatchUpLoads } from '../../../src/rsql/loader/catch-up-loads.js';
import { chunkOf, type LoadResult } from '../../../src/rsql/loader/chunk.js';

/** The layer below, recording every position it is asked for; each load settles when released. */
function lowerLayer() {
  const calls: number[] = [];
  const pending: { after: number; settle: (fail?: Error) => void }[] = [];
  const load = (after: number): Promise<LoadResult> => {
    calls.push(after);
    return new Promise((resolve, reject) => {
      pending.push({
        after,
        settle: (fail) =>
          fail === undefined
            ? resolve({ chunk: chunkOf(after, after + 10, []), gap: undefined, short: false })
            : reject(fail),
      });
    });
  };
  const release = (fail?: Error): void => {
    for (const p of pending.splice(0)) p.settle(fail);
  };
  return { calls, load, release };
}

describe('CatchUpLoads', () => {
  it('coalesces the loads of one position while one is in flight', async () => {
    const lower = lowerLayer();
    const loads = new CatchUpLoads(lower.load, new AbortController().signal);
    const a = loads.load(5);
    const b = loads.load(5);
    const c = loads.load(7);
    lower.release();
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    assert.equal(ra, rb, 'one result for both readers');
    assert.equal(rc.chunk.after, 7);
    assert.deepEqual(lower.calls, [5, 7]);
    // Settled: a later read of the same position queries again.
    const again = loads.load(5);
    lower.release();
    await again;
    assert.deepEqual(lower.calls, [5, 7, 5]);
  });

  it('hands a read-ahead page to its reader once', async () => {
    const lower = lowerLayer();
    const loads = new CatchUpLoads(lower.load, new AbortController().signal);
    loads.readAhead(10);
    loads.readAhead(10);
    assert.deepEqual(lower.calls, [10], 'started once');
    assert.equal(loads.pending, 1);
    const taken = loads.load(10);
    assert.equal(loads.pending, 0, 'taken: not kept for another reader');
    lower.release();
    assert.equal((await taken).chunk.after, 10);
    assert.deepEqual(lower.calls, [10]);
  });

  it('a failed read-ahead makes its reader load again', async () => {
    const lower = lowerLayer();
    const loads = new CatchUpLoads(lower.load, new AbortController().signal);
    loads.readAhead(10);
    lower.release(new Error('connection lost'));
    const taken = loads.load(10);
    await new Promise<void>((r) => setImmediate(r));
    lower.release();
    assert.equal((await taken).chunk.after, 10);
    assert.deepEqual(lower.calls, [10, 10]);
  });

  it('keeps the newest read-aheads only, and starts none once stopped', async () => {
    const lower = lowerLayer();
    const stop = new AbortController();
    const loads = new CatchUpLoads(lower.load, stop.signal, 2);
    loads.readAhead(1);
    loads.readAhead(2);
    loads.readAhead(3);
    assert.equal(loads.pending, 2);
    lower.release();
    await new Promise<void>((r) => setImmediate(r)); // the loads settle: none in flight
    const first = loads.load(1);
    lower.release();
    await first;
    assert.deepEqual(lower.calls, [1, 2, 3, 1], 'the oldest read-ahead was dropped');
    stop.abort();
    loads.readAhead(4);
    assert.equal(loads.pending, 2);
    loads.clear();
    assert.equal(loads.pending, 0);
    assert.deepEqual(lower.calls, [1, 2, 3, 1]);
  });
});
