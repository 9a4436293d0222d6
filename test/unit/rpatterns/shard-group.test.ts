import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CursorStore,
  codeOf,
  ErrorCode,
  type Event,
  type ShardLeaseStore,
} from '../../../src/core/index.js';
import { fnv1Hash32, runShardGroup } from '../../../src/rpatterns/index.js';
import { fairShare } from '../../../src/rpatterns/shard-group.js';
import { newMemoryEventLog } from '../../../src/testing/index.js';
import { ManualClock, settle } from '../../support/manual-clock.js';
import { MemoryLeases } from '../../support/memory-leases.js';
import { waitFor } from '../../support/wait.js';

const period = 300;
const interval = 100;
const shards = 8;

/** A member whose every call to the leases (and its cursor writes) waits while it is paused. */
function pausable(store: ShardLeaseStore): {
  store: ShardLeaseStore;
  pause(): void;
  resume(): void;
  blockedWrites(): number;
} {
  let blocked = 0;
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const wait = async (): Promise<void> => {
    while (gate !== undefined) await gate;
  };
  const wrapped: ShardLeaseStore = {
    group: store.group,
    shards: store.shards,
    memberId: store.memberId,
    leasePeriodMs: store.leasePeriodMs,
    renewIntervalMs: store.renewIntervalMs,
    join: async () => {
      await wait();
      return store.join();
    },
    renew: async () => {
      await wait();
      return store.renew();
    },
    acquire: async (l) => {
      await wait();
      return store.acquire(l);
    },
    release: async (l) => {
      await wait();
      return store.release(l);
    },
    leave: async () => {
      await wait();
      return store.leave();
    },
    cursorStore(lease) {
      const inner = store.cursorStore(lease);
      const s: CursorStore & { close(): Promise<void> } = {
        getCursor: (n) => inner.getCursor(n),
        setCursor: async (n, c) => {
          if (gate !== undefined) blocked++;
          await wait();
          return inner.setCursor(n, c);
        },
        flush: () => inner.flush(),
        close: () => inner.close(),
      };
      return s;
    },
  };
  return {
    store: wrapped,
    pause() {
      gate ??= new Promise<void>((r) => {
        open = r;
      });
    },
    resume() {
      gate = undefined;
      open?.();
    },
    blockedWrites: () => blocked,
  };
}

interface Member {
  readonly id: string;
  readonly ac: AbortController;
  readonly done: Promise<void>;
  readonly handled: { id: string; shard: number }[];
  readonly gate: ReturnType<typeof pausable>;
}

function setup() {
  const clock = new ManualClock();
  const db = new MemoryLeases(clock);
  const log = newMemoryEventLog();
  const members: Member[] = [];
  const start = (id: string): Member => {
    const ac = new AbortController();
    const handled: { id: string; shard: number }[] = [];
    const gate = pausable(db.member(id, shards, period, interval));
    const done = runShardGroup(gate.store, {
      stream: log.stream,
      fn: (e: Event) => {
        handled.push({ id: e.id, shard: fnv1Hash32(e.id) % shards });
      },
      signal: ac.signal,
      clock,
    });
    const m = { id, ac, done, handled, gate };
    members.push(m);
    return m;
  };
  const counts = (): Map<string, number> => {
    const c = new Map<string, number>();
    for (let i = 0; i < shards; i++) {
      const h = db.holderOf(i);
      c.set(h, (c.get(h) ?? 0) + 1);
    }
    return c;
  };
  /** Moves the clock on one renewal interval at a time until `cond` holds; returns the ms taken. */
  const until = async (what: string, cond: () => boolean, maxMs = 20 * period): Promise<number> => {
    let ms = 0;
    await settle();
    while (!cond()) {
      if (ms >= maxMs) throw new Error(`${what}: not within ${maxMs} ms of the clock`);
      await clock.advance(interval / 4);
      ms += interval / 4;
    }
    return ms;
  };
  const stopAll = async (): Promise<void> => {
    for (const m of members) {
      m.gate.resume();
      m.ac.abort();
    }
    clock.release();
    await Promise.all(members.map((m) => m.done));
    log.stop();
  };
  return { clock, db, log, start, counts, until, stopAll, members };
}

describe('fairShare', () => {
  it('gives ⌈M/N⌉ to the first M mod N members and ⌊M/N⌋ to the rest: the shares add up to M', () => {
    assert.deepEqual(
      [0, 1, 2].map((r) => fairShare(8, 3, r)),
      [3, 3, 2],
    );
    for (let m = 1; m <= 12; m++) {
      for (let n = 1; n <= 6; n++) {
        let sum = 0;
        for (let r = 0; r < n; r++) sum += fairShare(m, n, r);
        assert.equal(sum, m, `${m} shards over ${n} members`);
      }
    }
  });
});

describe('runShardGroup (leases in memory, manual clock)', () => {
  it('three members share 8 shards 3/3/2; every event is handled once, by its shard', async () => {
    const g = setup();
    try {
      for (const id of ['a', 'b', 'c']) g.start(id);
      await g.until('a fair spread', () => {
        const c = g.counts();
        return [...c.values()].sort().join() === '2,3,3' && !c.has('') && g.db.members.size === 3;
      });
      for (let i = 0; i < 200; i++) g.log.insert(`f${i}`, 1);
      const all = (): number => g.members.reduce((n, m) => n + m.handled.length, 0);
      await waitFor('every event handled', () => all() >= 200);
      await settle();
      assert.equal(all(), 200, 'no event handled twice');
      for (const m of g.members) {
        for (const h of m.handled) {
          assert.equal(g.db.holderOf(h.shard), m.id, `event ${h.id} handled by its shard's holder`);
        }
      }
    } finally {
      await g.stopAll();
    }
  });

  it('a member that stops renewing (paused) loses its shards within 2 lease periods; when it wakes, its cursor writes are refused and it rejoins', async () => {
    const g = setup();
    try {
      const [a] = ['a', 'b', 'c'].map((id) => g.start(id));
      assert.ok(a);
      await g.until('a fair spread', () => !g.counts().has('') && g.counts().size === 3);
      const before = [...Array(shards).keys()].filter((i) => g.db.holderOf(i) === 'a');
      const tokens = before.map((i) => g.db.rows.get(i)?.token);
      a.gate.pause();
      // a's runs handle an event each, then wait at its cursor write as a paused process would.
      for (let i = 0; i < 100; i++) g.log.insert(`f${i}`, 1);
      await waitFor('a blocked on a cursor write', () => a.gate.blockedWrites() > 0);
      const took = await g.until(
        "a's shards taken over",
        () => before.every((i) => !['', 'a'].includes(g.db.holderOf(i))),
        2 * period,
      );
      assert.ok(took <= 2 * period, `taken over after ${took} ms`);
      for (const [k, i] of before.entries()) {
        assert.ok((g.db.rows.get(i)?.token ?? 0) > (tokens[k] ?? 0), 'a new fencing token');
      }
      const refusedBefore = g.db.refused;
      const storedBefore = new Map(g.db.cursors);
      await waitFor(
        'the others handled every event',
        () => new Set(g.members.slice(1).flatMap((m) => m.handled.map((h) => h.id))).size === 100,
      );
      const handledByA = a.handled.length;
      a.gate.resume();
      await waitFor('the zombie write refused', () => g.db.refused > refusedBefore);
      // Every accepted write of a's old leases happened before the takeover.
      for (const [name, c] of storedBefore) {
        assert.ok((g.db.cursors.get(name) ?? 0) >= c, `${name} never went backwards`);
      }
      await g.until('a has rejoined with a fair share', () => {
        const c = g.counts();
        return !c.has('') && c.size === 3;
      });
      // Woken past its lease, a handled nothing more under its old leases (it checks its own
      // clock before each event), and its new shards start after the others' cursors.
      assert.equal(a.handled.length, handledByA);
    } finally {
      await g.stopAll();
    }
  });

  it('a clean stop hands the shards over at once; a joining member takes its share from the others', async () => {
    const g = setup();
    try {
      const [a] = ['a', 'b'].map((id) => g.start(id));
      assert.ok(a);
      await g.until('4/4', () => g.counts().get('a') === 4 && g.counts().get('b') === 4);
      g.start('c');
      g.start('d');
      await g.until('2/2/2/2', () => [...g.counts().values()].join() === '2,2,2,2');
      a.ac.abort();
      await a.done;
      assert.ok(
        [...Array(shards).keys()].every((i) => g.db.holderOf(i) !== 'a'),
        'released at once',
      );
      assert.equal(g.db.members.has('a'), false);
      const ms = await g.until('3/3/2 without a', () => {
        const c = g.counts();
        return !c.has('') && [...c.values()].sort().join() === '2,3,3';
      });
      assert.ok(ms <= 2 * interval, `taken within ${ms} ms of the clock`);
    } finally {
      await g.stopAll();
    }
  });

  it('a database outage longer than the lease period stops the runs; the member takes its share again after', async () => {
    const g = setup();
    try {
      const a = g.start('a');
      await g.until('a holds all', () => g.counts().get('a') === shards);
      g.db.down = true;
      await g.clock.advance(period + interval);
      await settle();
      g.log.insert('x', 1);
      await settle(20);
      assert.equal(a.handled.length, 0, 'no shard runs while its lease cannot be renewed');
      g.db.down = false;
      await g.until('a holds all again', () => g.counts().get('a') === shards);
      await waitFor('the event handled after the outage', () => a.handled.length === 1);
    } finally {
      await g.stopAll();
    }
  });

  it('refuses a member with another shard count (ERR_REFLEX_SHARD_COUNT_MISMATCH) and a lease period not longer than the renewal interval', async () => {
    const clock = new ManualClock();
    const db = new MemoryLeases(clock);
    db.shards = 4;
    const log = newMemoryEventLog();
    const ac = new AbortController();
    try {
      await assert.rejects(
        runShardGroup(db.member('x', shards, period, interval), {
          stream: log.stream,
          fn: () => {},
          signal: ac.signal,
          clock,
        }),
        (err) => codeOf(err) === ErrorCode.shardCountMismatch,
      );
      await assert.rejects(
        runShardGroup(db.member('y', 4, 100, 100), { stream: log.stream, fn: () => {}, clock }),
        (err) => codeOf(err) === ErrorCode.invalidArgument,
      );
    } finally {
      ac.abort();
      log.stop();
    }
  });
});
