import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CursorStore,
  newConsumer,
  run,
  type StreamCallOptions,
  type StreamFunc,
} from '../../../src/core/index.js';
import { newBootstrapSpec } from '../../../src/rpatterns/index.js';
import { MemCursorStore, newMemoryEventLog } from '../../../src/testing/index.js';

describe('bootstrap spec', () => {
  it('with no cursor the stream starts at the head; with a cursor it resumes', async () => {
    const log = newMemoryEventLog();
    for (let i = 0; i < 5; i++) log.insert('old', 1);
    const calls: { after: string; fromHead: boolean }[] = [];
    const stream: StreamFunc = (after, options?: StreamCallOptions) => {
      calls.push({ after, fromHead: options?.fromHead === true });
      return log.stream(after, options);
    };
    const store = new MemCursorStore();
    const seen: string[] = [];
    const ac = new AbortController();
    const consumer = newConsumer('boot', (e) => {
      seen.push(e.id);
      ac.abort();
    });
    const spec = newBootstrapSpec(stream, store, consumer);
    const first = run(spec, { signal: ac.signal });
    // The stream is open at the head: only new events arrive.
    while (calls.length === 0) await new Promise((r) => setImmediate(r));
    log.insert('new', 1);
    await assert.rejects(first, { name: 'AbortError' });
    assert.deepEqual(seen, ['6']);
    assert.equal(await store.getCursor('boot'), '6');

    for (let i = 0; i < 3; i++) log.insert('while down', 1);
    const ac2 = new AbortController();
    const consumer2 = newConsumer('boot', (e) => {
      seen.push(e.id);
      if (e.id === '9') ac2.abort();
    });
    await assert.rejects(run(newBootstrapSpec(stream, store, consumer2), { signal: ac2.signal }), {
      name: 'AbortError',
    });
    assert.deepEqual(seen, ['6', '7', '8', '9']);
    assert.deepEqual(calls, [
      { after: '', fromHead: true },
      { after: '6', fromHead: false },
    ]);
  });

  it('a failing getCursor is a get cursor error', async () => {
    const store: CursorStore = {
      getCursor: () => Promise.reject(new Error('db down')),
      setCursor: () => Promise.resolve(),
      flush: () => Promise.resolve(),
    };
    const spec = newBootstrapSpec(
      newMemoryEventLog().stream,
      store,
      newConsumer('b', () => {}),
    );
    await assert.rejects(run(spec), {
      code: 'ERR_REFLEX_GET_CURSOR',
      message: 'get cursor error: db down',
    });
  });

  it('keeps the other stream options', () => {
    const spec = newBootstrapSpec(
      newMemoryEventLog().stream,
      new MemCursorStore(),
      newConsumer('b', () => {}),
      {
        lag: 1000,
      },
    );
    assert.deepEqual({ ...spec.options }, { lag: 1000, fromHead: true });
  });
});
