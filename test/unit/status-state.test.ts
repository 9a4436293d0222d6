import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketRates, consumerState, recentRate } from '../../src/status/state.js';

const base = {
  now: 100_000,
  lastMovedAt: null,
  firstSeenAt: 0,
  lastErrorAt: null,
  stalledAfterMs: 30_000,
  errorWindowMs: 60_000,
};

describe('status: consumer state', () => {
  it('is caught up when no event waits, whenever it last moved', () => {
    assert.deepEqual(consumerState({ ...base, oldestUnconsumedAt: null }), {
      state: 'caught-up',
      since: null,
    });
  });

  it('is stalled since the later of its last move and the first event waiting for it', () => {
    // Idle for long, the first event came 40 s ago: stalled since that event, not since it moved.
    assert.deepEqual(consumerState({ ...base, lastMovedAt: 10_000, oldestUnconsumedAt: 60_000 }), {
      state: 'stalled',
      since: 60_000,
    });
    // Moved 40 s ago with an event waiting since long before: stalled since the move.
    assert.deepEqual(consumerState({ ...base, lastMovedAt: 60_000, oldestUnconsumedAt: 1_000 }), {
      state: 'stalled',
      since: 60_000,
    });
  });

  it('is moving while its cursor moved or the event came within stalledAfterMs', () => {
    assert.equal(
      consumerState({ ...base, lastMovedAt: 90_000, oldestUnconsumedAt: 1_000 }).state,
      'moving',
    );
    assert.equal(
      consumerState({ ...base, lastMovedAt: 0, oldestUnconsumedAt: 95_000 }).state,
      'moving',
    );
    // Unknown move time: not stalled before stalledAfterMs of watching it.
    assert.equal(
      consumerState({ ...base, firstSeenAt: 80_000, oldestUnconsumedAt: 1_000 }).state,
      'moving',
    );
  });

  it('is erroring within errorWindowMs of its last recorded error, even when caught up', () => {
    assert.deepEqual(consumerState({ ...base, oldestUnconsumedAt: null, lastErrorAt: 50_000 }), {
      state: 'erroring',
      since: 50_000,
    });
    assert.equal(
      consumerState({ ...base, oldestUnconsumedAt: null, lastErrorAt: 10_000 }).state,
      'caught-up',
    );
  });
});

describe('status: throughput', () => {
  const samples = [
    { t: 0, v: 0 },
    { t: 1000, v: 10 },
    { t: 2000, v: 30 },
    { t: 3000, v: 30 },
    { t: 4000, v: 70 },
  ];

  it('charts per-second rates per bucket, oldest first, 0 before the first sample', () => {
    assert.deepEqual(bucketRates(samples, 4000, 1000, 6), [0, 0, 10, 20, 0, 40]);
    assert.deepEqual(bucketRates(samples, 4000, 2000, 2), [15, 20]);
  });

  it('counts a cursor that went back (reset) as 0, not negative', () => {
    assert.deepEqual(
      bucketRates(
        [
          { t: 0, v: 50 },
          { t: 1000, v: 0 },
        ],
        1000,
        1000,
        1,
      ),
      [0],
    );
  });

  it('gives the recent rate over the window, null with one sample', () => {
    assert.equal(recentRate(samples, 2000), 20);
    assert.equal(recentRate([{ t: 0, v: 1 }], 2000), null);
  });
});
