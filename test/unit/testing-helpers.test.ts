import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeTrace,
  ErrorCode,
  encodeTrace,
  hasCode,
  isHeadReachedErr,
  isStoppedErr,
  newConsumer,
  newSpec,
  run,
} from '../../src/core/index.js';
import {
  awaitCursor,
  isTemptErr,
  MemCursorStore,
  newFate,
  newMemoryEventLog,
  newMockStream,
} from '../../src/testing/index.js';
import { makeEvents } from '../support/events.js';

describe('testing helpers', () => {
  it('mock stream honours the cursor; the final cursor is the last event', async () => {
    const store = new MemCursorStore({ mock: '2' });
    const seen: string[] = [];
    await assert.rejects(
      run(
        newSpec(
          newMockStream(makeEvents(3)),
          store,
          newConsumer('mock', (e) => void seen.push(e.id)),
        ),
      ),
      (err) => hasCode(err, ErrorCode.streamEnded),
    );
    assert.deepEqual(seen, ['3']);
    assert.equal(await store.getCursor('mock'), '3');
    await assert.rejects(newMockStream([])('x'), (err) => hasCode(err, ErrorCode.invalidCursor));
  });

  it('memory log: delivers the inserted events then head reached with toHead', async () => {
    const log = newMemoryEventLog();
    log.insert('a', 1);
    log.insert('b', 2, { metadata: Uint8Array.of(1, 2) });
    const ids: string[] = [];
    for await (const e of await log.stream('', { toHead: true })) ids.push(e.id);
    assert.deepEqual(ids, ['1', '2']);
    assert.deepEqual(log.events[1]?.metadata, Uint8Array.of(1, 2));
    const s = await log.stream('2', { toHead: true });
    await assert.rejects(s.recv(), (err) => isHeadReachedErr(err));
  });

  it('memory log: fromHead is resolved when the stream opens, not at the first recv', async () => {
    const log = newMemoryEventLog();
    for (let i = 0; i < 10; i++) log.insert('old', 1);
    const s = await log.stream('', { fromHead: true });
    log.insert('new', 1); // written after open, before the first recv: must be delivered
    const e = await s.recv();
    assert.equal(e.id, '11');
    assert.equal(e.foreignId, 'new');
    await s.close();
    await assert.rejects(log.stream('3', { fromHead: true }), (err) =>
      hasCode(err, ErrorCode.invalidArgument),
    );
  });

  it('memory log: a waiting recv wakes on insert, ends on close and on stop', async () => {
    const log = newMemoryEventLog();
    const s = await log.stream('');
    const pending = s.recv();
    log.insert('late', 7);
    assert.equal((await pending).type, 7);
    const waiting = s.recv();
    await s.close();
    await assert.rejects(waiting, (err) => hasCode(err, ErrorCode.closed));
    await s.close(); // idempotent
    const s2 = await log.stream('1');
    const w2 = s2.recv();
    log.stop();
    await assert.rejects(w2, (err) => isStoppedErr(err));
  });

  it('memory log: break out of for await closes the stream', async () => {
    const log = newMemoryEventLog();
    for (let i = 0; i < 5; i++) log.insert('x', 1);
    const s = await log.stream('');
    for await (const e of s) {
      if (e.id === '2') break;
    }
    await assert.rejects(s.recv(), (err) => hasCode(err, ErrorCode.closed));
  });

  it('awaitCursor unblocks once the cursor reaches the id and fails loudly on timeout', async () => {
    const log = newMemoryEventLog();
    const store = new MemCursorStore();
    const ac = new AbortController();
    const running = run(
      newSpec(
        log.stream,
        store,
        newConsumer('aw', () => {}),
      ),
      { signal: ac.signal },
    );
    for (let i = 0; i < 5; i++) log.insert('x', 1);
    await awaitCursor(store, 'aw', '5');
    await assert.rejects(
      awaitCursor(store, 'aw', '6', { timeoutMs: 30 }),
      /cursor of aw did not reach 6 within 30 ms \(last seen "5"\)/,
    );
    ac.abort();
    await assert.rejects(running);
  });

  it('fate: seeded, fails at about p, replayable', () => {
    const a = newFate({ p: 0.3, seed: 7 });
    const b = newFate({ p: 0.3, seed: 7 });
    const outcomes = (f: typeof a): boolean[] =>
      Array.from({ length: 1000 }, () => {
        try {
          f.tempt();
          return true;
        } catch (err) {
          assert.equal(isTemptErr(err), true);
          return false;
        }
      });
    const oa = outcomes(a);
    assert.deepEqual(oa, outcomes(b));
    assert.ok(a.counts.failed > 240 && a.counts.failed < 360, `failed ${a.counts.failed}`);
    const never = newFate({ p: 0 });
    for (let i = 0; i < 100; i++) never.tempt();
    assert.throws(
      () => newFate({ p: 2 }),
      (err) => hasCode(err, ErrorCode.invalidArgument),
    );
  });

  it('trace encoding round-trips and matches the protobuf bytes of the Go Trace message', () => {
    const ids = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
    const bytes = encodeTrace(ids);
    assert.equal(bytes[0], 0x0a);
    assert.equal(bytes[1], 32);
    assert.equal(bytes[34], 0x12);
    assert.equal(bytes[35], 16);
    assert.equal(bytes.length, 52);
    assert.deepEqual(decodeTrace(bytes), ids);
    assert.equal(decodeTrace(Uint8Array.of(0x0a, 0x05, 0x01)), undefined);
    assert.equal(
      decodeTrace(encodeTrace({ traceId: '0'.repeat(32), spanId: ids.spanId })),
      undefined,
    );
  });
});
