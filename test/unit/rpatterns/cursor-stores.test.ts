import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CursorStore } from '../../../src/core/index.js';
import { MemCursorStore, readThroughCursorStore } from '../../../src/rpatterns/index.js';

class FailingStore implements CursorStore {
  getCursor(): Promise<string> {
    return Promise.reject(new Error('get failed'));
  }
  setCursor(): Promise<void> {
    return Promise.reject(new Error('set failed'));
  }
  flush(): Promise<void> {
    return Promise.reject(new Error('flush failed'));
  }
}

describe('read-through cursor store', () => {
  it('returns the primary cursor when it has one, without reading the fallback', async () => {
    const store = readThroughCursorStore(new MemCursorStore({ c: '5' }), new FailingStore());
    assert.equal(await store.getCursor('c'), '5');
  });

  it('copies a fallback cursor into the primary, then returns it', async () => {
    const primary = new MemCursorStore();
    const store = readThroughCursorStore(primary, new MemCursorStore({ c: '7' }));
    assert.equal(await store.getCursor('c'), '7');
    assert.equal(await primary.getCursor('c'), '7');
    assert.equal(primary.flushCount, 1);
    assert.equal(await store.getCursor('none'), '');
    assert.equal(primary.setCount, 1);
  });

  it('propagates errors of either store', async () => {
    await assert.rejects(
      readThroughCursorStore(new FailingStore(), new MemCursorStore()).getCursor('c'),
      /get failed/,
    );
    await assert.rejects(
      readThroughCursorStore(new MemCursorStore(), new FailingStore()).getCursor('c'),
      /get failed/,
    );
    await assert.rejects(
      readThroughCursorStore(new FailingStore(), new MemCursorStore()).setCursor('c', '1'),
      /set failed/,
    );
  });

  it('writes and flushes go to the primary only', async () => {
    const primary = new MemCursorStore();
    const fallback = new MemCursorStore();
    const store = readThroughCursorStore(primary, fallback);
    await store.setCursor('c', '3');
    await store.flush();
    assert.deepEqual(primary.snapshot(), { c: '3' });
    assert.equal(primary.flushCount, 1);
    assert.deepEqual(fallback.snapshot(), {});
    assert.equal(fallback.flushCount, 0);
  });
});

describe('memory cursor store', () => {
  it('seeded values, overwrite, and 100 concurrent writers', async () => {
    const store = new MemCursorStore({ a: '1', b: 2, c: 3n });
    assert.deepEqual(await Promise.all(['a', 'b', 'c', 'd'].map((n) => store.getCursor(n))), [
      '1',
      '2',
      '3',
      '',
    ]);
    await store.setCursor('a', '0');
    assert.equal(await store.getCursor('a'), '0');
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.setCursor(`w${i}`, String(i))));
    for (let i = 0; i < 100; i++) assert.equal(await store.getCursor(`w${i}`), String(i));
  });
});
