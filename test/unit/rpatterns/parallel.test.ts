import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Consumer, type Event, newConsumer, newSpec, run } from '../../../src/core/index.js';
import {
  consumerShards,
  fnv1Hash32,
  newAckSpec,
  parallel,
  parallelAckConsumer,
  parallelConsumer,
  parallelSpecs,
} from '../../../src/rpatterns/index.js';
import { MemCursorStore, newMemoryEventLog, newMockStream } from '../../../src/testing/index.js';
import { makeEvents } from '../../support/events.js';
import { waitFor } from '../../support/wait.js';

function ev(id: string, foreignId = 'f', type = 1): Event {
  return { id, type, foreignId, timestamp: new Date(0) };
}

/** The 1-based shard that owns `e` among `shards`. */
function shardOf(shards: ReturnType<typeof consumerShards>, e: Event): number[] {
  return shards.filter((s) => s.owns(e)).map((s) => s.index + 1);
}

describe('parallel / sharding', () => {
  it('FNV-1 32 vectors of the Go original: event ids', () => {
    const three = consumerShards('t', 3);
    assert.deepEqual(
      ['1', '2', '3', '4', '5'].map((id) => shardOf(three, ev(id))),
      [[1], [3], [2], [1], [3]],
    );
    const four = consumerShards('t', 4);
    assert.deepEqual(
      ['0', '1', '2', '3'].map((id) => shardOf(four, ev(id))),
      [[4], [3], [2], [1]],
    );
  });

  it('FNV-1 32 vectors: foreign ids and a constant custom key', () => {
    const byFid = consumerShards('t', 3, { hash: 'foreignId' });
    assert.deepEqual(
      ['100', '200', '300'].map((fid) => shardOf(byFid, ev('1', fid))),
      [[1], [2], [2]],
    );
    const custom = consumerShards('t', 3, { hash: () => 'Hello, World' });
    assert.deepEqual(shardOf(custom, ev('9')), [2]);
  });

  it('is FNV-1, not FNV-1a (known hashes)', () => {
    assert.equal(fnv1Hash32(''), 0x811c9dc5);
    assert.equal(fnv1Hash32('a'), 0x050c5d7e); // FNV-1a would be 0xe40c292c
    assert.equal(fnv1Hash32(new TextEncoder().encode('foobar')), 0x31f0b262);
  });

  it('hashes the type as a decimal string', () => {
    const shards = consumerShards('t', 4, { hash: 'eventType' });
    const want = fnv1Hash32('12') % 4;
    assert.deepEqual(shardOf(shards, ev('1', 'x', 12)), [want + 1]);
  });

  it('names shards base_m_of_n, or with a custom formatter', () => {
    assert.deepEqual(
      consumerShards('test', 10)
        .map((s) => s.name)
        .slice(0, 3),
      ['test_1_of_10', 'test_2_of_10', 'test_3_of_10'],
    );
    const named = consumerShards('test', 2, { nameFormatter: (b, m, n) => `${b}-${n}-${m}` });
    assert.deepEqual(
      named.map((s) => s.name),
      ['test-2-0', 'test-2-1'],
    );
    assert.throws(() => consumerShards('t', 2, { nameFormatter: () => 'same' }), {
      code: 'ERR_REFLEX_INVALID_ARGUMENT',
    });
    assert.throws(() => consumerShards('t', 0), { code: 'ERR_REFLEX_INVALID_ARGUMENT' });
    assert.throws(() => consumerShards('t', 2, { bogus: 1 } as never), {
      code: 'ERR_REFLEX_INVALID_ARGUMENT',
    });
  });

  it('1000 ids spread within ±10% over 10 shards, each event in exactly one shard', () => {
    const shards = consumerShards('t', 10);
    const counts = new Array<number>(10).fill(0);
    for (let i = 1; i <= 1000; i++) {
      const owners = shards.filter((s) => s.owns(ev(String(i))));
      assert.equal(owners.length, 1, `event ${i} owned by ${owners.length} shards`);
      const m = owners[0]?.index ?? 0;
      counts[m] = (counts[m] ?? 0) + 1;
    }
    for (const c of counts) assert.ok(c >= 90 && c <= 110, `shard count ${c} outside 100 ± 10%`);
  });

  it('parallelConsumer passes only its shard to fn and consumes the rest', async () => {
    const events = makeEvents(30);
    const shards = consumerShards('p', 3);
    const seen = new Map<number, string[]>();
    const stores = new MemCursorStore();
    for (const shard of shards) {
      const ids: string[] = [];
      seen.set(shard.index, ids);
      const consumer = parallelConsumer(shard, (e) => {
        ids.push(e.id);
      });
      await assert.rejects(run(newSpec(newMockStream(events), stores, consumer)), {
        code: 'ERR_REFLEX_STREAM_ENDED',
      });
      assert.equal(await stores.getCursor(shard.name), '30');
    }
    const all = [...seen.values()].flat().sort((a, b) => Number(a) - Number(b));
    assert.deepEqual(
      all,
      events.map((e) => e.id),
    );
  });

  it('parallelAckConsumer: fn sees only its shard; only its own acks move the cursor', async () => {
    const [, , third] = consumerShards('pa', 3);
    assert.ok(third);
    const store = new MemCursorStore();
    const seen: string[] = [];
    const consumer = parallelAckConsumer(third, store, async (e) => {
      seen.push(e.id);
      await e.ack();
    });
    assert.equal(consumer.name, 'pa_3_of_3');
    await assert.rejects(run(newAckSpec(newMockStream(makeEvents(5)), consumer)));
    assert.deepEqual(seen, ['2', '5']);
    assert.equal(await store.getCursor('pa_3_of_3'), '5');
  });

  it('a throwing custom key fails the consumer on that event', async () => {
    const [shard] = consumerShards('p', 2, {
      hash: (e) => {
        if (e.id === '2') throw new Error('no key');
        return e.id;
      },
    });
    assert.ok(shard);
    const consumer = parallelConsumer(shard, () => {});
    await consumer.consume(ev('1'), new AbortController().signal);
    await assert.rejects(consumer.consume(ev('2'), new AbortController().signal), /no key/);
  });

  it('parallelSpecs: n specs sharing stream and store, every event handled once', async () => {
    const events = makeEvents(200);
    const store = new MemCursorStore();
    const handled: string[] = [];
    const perShardOptions: string[] = [];
    const specs = parallelSpecs('ps', 4, {
      stream: newMockStream(events),
      cursorStore: store,
      fn: (e) => {
        handled.push(e.id);
      },
      hash: 'foreignId',
      consumerOptions: (name) => {
        perShardOptions.push(name);
        return {};
      },
    });
    assert.deepEqual(
      specs.map((s) => s.name),
      ['ps_1_of_4', 'ps_2_of_4', 'ps_3_of_4', 'ps_4_of_4'],
    );
    assert.deepEqual(perShardOptions, ['ps_1_of_4', 'ps_2_of_4', 'ps_3_of_4', 'ps_4_of_4']);
    for (const spec of specs) {
      await assert.rejects(run(spec), { code: 'ERR_REFLEX_STREAM_ENDED' });
    }
    assert.deepEqual(
      handled.sort((a, b) => Number(a) - Number(b)),
      events.map((e) => e.id),
    );
  });

  it('parallel runs every shard under runForever until aborted, each event in its shard', async () => {
    const log = newMemoryEventLog();
    for (let i = 0; i < 100; i++) log.insert(`f${i}`, 1);
    const store = new MemCursorStore();
    const ac = new AbortController();
    const byShard = new Map<number, string[]>();
    let total = 0;
    const stops: number[] = [];
    const consumerFor = (m: number): Consumer => {
      const ids: string[] = [];
      byShard.set(m, ids);
      const inner = newConsumer(`worker_${m}`, (e) => {
        ids.push(e.id);
        total++;
        if (total === 100) ac.abort();
      });
      return {
        ...inner,
        name: inner.name,
        consume: inner.consume.bind(inner),
        stop: async () => {
          stops.push(m);
        },
      };
    };
    await parallel(3, consumerFor, { stream: log.stream, cursorStore: store, signal: ac.signal });
    assert.equal(total, 100);
    const shards = consumerShards('x', 3);
    for (const [m, ids] of byShard) {
      for (const id of ids) assert.deepEqual(shardOf(shards, ev(id)), [m + 1]);
    }
    assert.deepEqual(stops.sort(), [0, 1, 2]);
  });
});

describe('parallel options', () => {
  it('refuses missing or misplaced options with a clear error', async () => {
    const consumerFor = (m: number) => newConsumer(`p_${m}`, () => {});
    await assert.rejects(parallel(3, consumerFor, undefined as never), {
      code: 'ERR_REFLEX_INVALID_ARGUMENT',
    });
    await assert.rejects(
      parallel(3, consumerFor, {
        stream: newMockStream([]),
        cursorStore: new MemCursorStore(),
        nameFormatter: () => 'x',
      } as never),
      /unknown parallel option "nameFormatter"/,
    );
  });
});

describe('parallel with one signal per shard (role scheduling)', () => {
  it('runs a shard only while its role is held, asks again after losing it, and stops everything on the outer signal', async () => {
    const log = newMemoryEventLog();
    const store = new MemCursorStore();
    const outer = new AbortController();
    const roles = [new AbortController(), new AbortController()];
    const asked = [0, 0];
    let grant1: ((s: AbortSignal) => void) | undefined;
    const handled: [number, string][] = [];
    const done = parallel(2, (m) => newConsumer(`role_${m}`, (e) => void handled.push([m, e.id])), {
      stream: log.stream,
      cursorStore: store,
      signal: outer.signal,
      expectedErrorBackoffMs: 1,
      signalFor: (m, signal) => {
        asked[m] = (asked[m] ?? 0) + 1;
        if (m === 0) {
          const role = new AbortController();
          roles[0] = role;
          return role.signal;
        }
        // Shard 1 waits for its role (or for the outer signal).
        return new Promise<AbortSignal>((resolve, reject) => {
          grant1 = resolve;
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      },
    });
    const two = consumerShards('x', 2);
    const ids = Array.from({ length: 40 }, (_, i) => log.insert(`f${i}`, 1).id);
    const of = (m: number) => ids.filter((id) => two[m]?.owns(ev(id)));
    await waitFor('shard 0 handled its events', () => handled.length === of(0).length);
    assert.ok(
      handled.every(([m]) => m === 0),
      'shard 1 does not run without its role',
    );
    // Shard 0 loses its role: its run stops and it asks for the role again.
    roles[0]?.abort();
    await waitFor('shard 0 asked again', () => (asked[0] ?? 0) >= 2);
    grant1?.(new AbortController().signal);
    await waitFor('shard 1 handled its events', () => handled.length === ids.length);
    outer.abort();
    await done;
    assert.deepEqual(
      handled.filter(([m]) => m === 1).map(([, id]) => id),
      of(1),
    );
    log.stop();
  });
});
