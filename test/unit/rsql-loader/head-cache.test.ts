import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Event } from '../../../src/core/index.js';
import { type Chunk, chunkOf } from '../../../src/rsql/loader/chunk.js';
import { HeadCache } from '../../../src/rsql/loader/head-cache.js';

/** A chunk (after, end] holding the events of `ids` (the others are noops). */
function chunk(after: number, end: number, ids: readonly number[] = range(after + 1, end)): Chunk {
  const events: Event[] = ids.map((id) => ({
    id: String(id),
    type: 1,
    foreignId: `f${id}`,
    timestamp: new Date(0),
  }));
  return chunkOf(after, end, events);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

describe('HeadCache', () => {
  it('is empty until reset: no chunk, starts at infinity', () => {
    const cache = new HeadCache({ atHead: 100, behindHead: 10 });
    assert.equal(cache.isEmpty, true);
    assert.equal(cache.first, undefined);
    assert.equal(cache.last, undefined);
    assert.equal(cache.start, Number.POSITIVE_INFINITY);
    assert.equal(cache.events, 0);
  });

  it('finds the chunk holding a cursor and the index of its first later event', () => {
    const cache = new HeadCache({ atHead: 100, behindHead: 100 });
    const a = chunk(10, 20);
    const b = chunk(20, 30, [22, 25, 29]); // 21, 23, 24, 26-28 and 30 are noops
    const c = chunk(30, 40);
    cache.reset(a);
    cache.append(b, true);
    cache.append(c, true);
    assert.equal(cache.start, 10);
    assert.deepEqual(cache.find(10), { chunk: a, index: 0 });
    assert.deepEqual(cache.find(15), { chunk: a, index: 5 });
    assert.deepEqual(cache.find(20), { chunk: b, index: 0 });
    assert.deepEqual(cache.find(23), { chunk: b, index: 1 });
    assert.deepEqual(cache.find(25), { chunk: b, index: 2 });
    // Only noops left in the chunk: the index is its length, the reader continues at its end.
    assert.deepEqual(cache.find(29), { chunk: b, index: 3 });
    assert.deepEqual(cache.find(39), { chunk: c, index: 9 });
  });

  it('trims whole chunks from the oldest beyond the window; the newest always stays', () => {
    const cache = new HeadCache({ atHead: 25, behindHead: 25 });
    cache.reset(chunk(0, 10));
    cache.append(chunk(10, 20), true);
    cache.append(chunk(20, 30), true);
    assert.equal(cache.events, 20, 'the oldest chunk went');
    assert.equal(cache.start, 10);
    cache.append(chunk(30, 70), true);
    assert.equal(cache.chunks, 1, 'a chunk larger than the window stays alone');
    assert.equal(cache.events, 40);
    assert.equal(cache.start, 30);
  });

  it('keeps the smaller window while the newest chunk is behind the database head', () => {
    const cache = new HeadCache({ atHead: 100, behindHead: 20 });
    cache.reset(chunk(0, 10));
    cache.append(chunk(10, 20), false);
    cache.append(chunk(20, 30), false);
    assert.equal(cache.start, 10, 'two pages behind the head');
    cache.append(chunk(30, 40), true);
    assert.equal(cache.start, 10, 'the full window at the head');
    assert.equal(cache.events, 30);
  });

  it('ignores an empty range, counts noops as no events, and clears', () => {
    const cache = new HeadCache({ atHead: 100, behindHead: 100 });
    cache.reset(chunk(0, 5, []));
    cache.append(chunk(5, 5, []), true);
    assert.equal(cache.chunks, 1);
    assert.equal(cache.events, 0);
    assert.equal(cache.last?.end, 5);
    cache.clear();
    assert.equal(cache.isEmpty, true);
  });
});
