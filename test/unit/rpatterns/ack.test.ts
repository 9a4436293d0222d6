import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run } from '../../../src/core/index.js';
import { settled } from '../../../src/internal/settled.js';
import {
  type AckConsumer,
  type AckEvent,
  type BatchConsumer,
  type ConcurrentConsumer,
  newAckConsumer,
  newAckSpec,
  newBatchSpec,
  newConcurrentSpec,
} from '../../../src/rpatterns/index.js';
import { MemCursorStore, newMockStream } from '../../../src/testing/index.js';
import { makeEvents } from '../../support/events.js';

class RecordingStore extends MemCursorStore {
  readonly sets: string[] = [];
  override setCursor(name: string, cursor: string): Promise<void> {
    this.sets.push(cursor);
    return super.setCursor(name, cursor);
  }
}

describe('ack consumer', () => {
  it('without acks no cursor is set; run only flushes on exit', async () => {
    const store = new RecordingStore();
    const consumer = newAckConsumer('ack', store, () => {});
    await assert.rejects(run(newAckSpec(newMockStream(makeEvents(5)), consumer)), {
      code: 'ERR_REFLEX_STREAM_ENDED',
    });
    assert.deepEqual(store.sets, []);
    assert.equal(await store.getCursor('ack'), '');
    assert.equal(store.flushCount, 1);
  });

  it('acks set exactly the acked ids, each flushed (flushes = acks + 1)', async () => {
    const store = new RecordingStore();
    const consumer = newAckConsumer('ack', store, async (e) => {
      if (e.id === '2' || e.id === '4') await e.ack();
    });
    await assert.rejects(run(newAckSpec(newMockStream(makeEvents(5)), consumer)));
    assert.deepEqual(store.sets, ['2', '4']);
    assert.equal(store.flushCount, 3);
    assert.equal(await store.getCursor('ack'), '4');
  });

  it('batching in the consumer: acking every 2nd event acks 2, 4, 6', async () => {
    const store = new RecordingStore();
    const pending: AckEvent[] = [];
    const consumer = newAckConsumer('ack', store, async (e) => {
      pending.push(e);
      if (pending.length === 2) {
        await pending.at(-1)?.ack();
        pending.length = 0;
      }
    });
    await assert.rejects(run(newAckSpec(newMockStream(makeEvents(7)), consumer)));
    assert.deepEqual(store.sets, ['2', '4', '6']);
  });

  it('the event keeps its fields, ack honours an aborted signal, consumer options apply', async () => {
    const store = new RecordingStore();
    const seen: AckEvent[] = [];
    const consumer = newAckConsumer('ack', store, (e) => void seen.push(e), { includeTypes: [2] });
    const [e1, e2] = makeEvents(2);
    assert.ok(e1 && e2);
    const signal = new AbortController().signal;
    await consumer.consume(e1, signal);
    await consumer.consume(e2, signal);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.id, '2');
    assert.equal(seen[0]?.foreignId, 'f2');
    await assert.rejects(seen[0]?.ack(AbortSignal.abort()) ?? Promise.resolve(), {
      name: 'AbortError',
    });
    assert.deepEqual(store.sets, []);
    assert.equal(consumer.cursorStore, store);
  });

  it('ack, batch and concurrent specs check the consumer and its cursor store', () => {
    const stream = newMockStream([]);
    const good = newAckConsumer('ack', new MemCursorStore(), () => {});
    const invalid = { code: 'ERR_REFLEX_INVALID_ARGUMENT' };
    for (const cursorStore of [undefined, null, {}, { getCursor: () => {}, flush: () => {} }]) {
      const bad = { ...good, cursorStore } as unknown;
      assert.throws(() => newAckSpec(stream, bad as AckConsumer), {
        ...invalid,
        message: /cursorStore must implement getCursor, setCursor and flush/,
      });
      assert.throws(() => newBatchSpec(stream, bad as BatchConsumer), invalid);
      assert.throws(() => newConcurrentSpec(stream, bad as ConcurrentConsumer), invalid);
    }
    assert.throws(() => newAckSpec(stream, null as unknown as AckConsumer), invalid);
    assert.throws(() => newAckSpec(stream, undefined as unknown as AckConsumer), invalid);
  });

  it("the spec's setCursor does nothing and returns the shared settled promise (run skips it)", async () => {
    const store = new RecordingStore();
    const spec = newAckSpec(
      newMockStream([]),
      newAckConsumer('ack', store, () => {}),
    );
    assert.equal(spec.cursorStore.setCursor('ack', '9'), settled);
    await spec.cursorStore.flush();
    assert.deepEqual(store.sets, []);
    assert.equal(store.flushCount, 1);
  });
});
