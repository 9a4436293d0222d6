// Shard leases on JetStream's key-value store (JetStreamClient.leases) against the machine's NATS
// server (REFLEX_TEST_NATS_URL): the SQL leases' contract (fencing, bad input, status) and a
// zombie whose cursor write is refused by the server's compare-and-set once its lease moved.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeOf, ErrorCode, type Event } from '../../../src/core/index.js';
import { type JetStreamClient, newJetStreamClient } from '../../../src/nats/index.js';
import { runShardGroup } from '../../../src/rpatterns/index.js';
import { newMemoryEventLog } from '../../../src/testing/index.js';
import { JetStreamAdmin } from '../../support/jetstream.js';
import { natsServer, requireServer, uniqueName } from '../../support/servers.js';
import { waitFor } from '../../support/wait.js';

describe('shard leases on JetStream key-value', () => {
  let url: string | undefined;
  let admin: JetStreamAdmin | undefined;
  let js: JetStreamClient | undefined;
  const buckets: string[] = [];

  before(async (t) => {
    url = await requireServer(t as never, natsServer);
    if (url === undefined) return;
    admin = await JetStreamAdmin.connect(url);
    js = newJetStreamClient({ servers: url });
  });
  after(async () => {
    await js?.close();
    for (const b of buckets) await admin?.jsm.streams.delete(`KV_${b}`).catch(() => false);
    await admin?.close();
  });
  const bucket = (): string => {
    const b = uniqueName('leases');
    buckets.push(b);
    return b;
  };
  const lost = (e: unknown): boolean => codeOf(e) === ErrorCode.leaseLost;

  it('fences cursor writes: a stale holder can move the cursor neither forward nor back', async (t) => {
    if (js === undefined) return t.skip('no NATS');
    const opts = {
      bucket: bucket(),
      group: 'fence',
      shards: 2,
      leasePeriodMs: 400,
      renewIntervalMs: 100,
    };
    const a = js.leases({ ...opts, memberId: 'a' });
    const b = js.leases({ ...opts, memberId: 'b' });
    await a.join();
    const [la] = await a.acquire([0]);
    assert.deepEqual(la, { shard: 0, token: 1 });
    await b.join();
    assert.deepEqual(await b.acquire([0]), [], 'a live lease is not taken');
    const sa = a.cursorStore(la);
    await sa.setCursor('fence_1_of_2', '5');
    assert.equal(await sa.getCursor('fence_1_of_2'), '5');
    // a stops renewing: once its lease has expired, b takes the shard with a new token.
    await waitFor('the lease expired', async () => (await b.holders()).holders[0] === '', 5000);
    const [lb] = await b.acquire([0]);
    assert.deepEqual(lb, { shard: 0, token: 2 });
    await assert.rejects(sa.setCursor('fence_1_of_2', '10'), lost);
    await assert.rejects(sa.setCursor('fence_1_of_2', '11'), lost, 'refused for good');
    const stale = a.cursorStore(la);
    await assert.rejects(stale.setCursor('fence_1_of_2', '3'), lost);
    await assert.rejects(stale.setCursor('other', '1'), lost);
    const sb = b.cursorStore(lb);
    assert.equal(await sb.getCursor('fence_1_of_2'), '5', 'the zombie moved nothing');
    assert.equal(await sb.getCursor('other'), '', 'nor created a cursor');
    await sb.setCursor('fence_1_of_2', '7');
    assert.equal(await sb.getCursor('fence_1_of_2'), '7');
    // a renews: it holds nothing, sees both members.
    await b.renew();
    const state = await a.renew();
    assert.deepEqual(state.held, []);
    assert.deepEqual(state.members, ['a', 'b']);
    assert.deepEqual(state.holders, ['b', '']);
    // A clean leave frees the shard at once, keeping its cursor for the next holder.
    await b.leave();
    assert.deepEqual((await a.holders()).holders, ['', '']);
    await assert.rejects(sb.setCursor('fence_1_of_2', '8'), lost);
    const [la2] = await a.acquire([0]);
    assert.deepEqual(la2, { shard: 0, token: 3 });
    assert.equal(await a.cursorStore(la2).getCursor('fence_1_of_2'), '7');
    await a.leave();
  });

  it("a zombie that still believes in its lease has its cursor write refused by the server's compare-and-set", async (t) => {
    if (js === undefined) return t.skip('no NATS');
    const name = bucket();
    // The zombie's own clock would keep its lease for a minute (a process paused, then resumed,
    // that has not noticed): only the key's revision can refuse it.
    const zombie = js.leases({
      bucket: name,
      group: 'z',
      shards: 1,
      memberId: 'zombie',
      leasePeriodMs: 60_000,
    });
    const other = js.leases({
      bucket: name,
      group: 'z',
      shards: 1,
      memberId: 'other',
      leasePeriodMs: 300,
      renewIntervalMs: 100,
    });
    await zombie.join();
    const [lz] = await zombie.acquire([0]);
    assert.ok(lz !== undefined);
    const sz = zombie.cursorStore(lz);
    await sz.setCursor('z_1_of_1', '100');
    await other.join();
    await waitFor(
      'the zombie lease expired by the server clock',
      async () => (await other.acquire([0])).length === 1,
      5000,
    );
    const so = other.cursorStore({ shard: 0, token: 2 });
    await so.setCursor('z_1_of_1', '150');
    await assert.rejects(sz.setCursor('z_1_of_1', '90'), lost, 'not back');
    await assert.rejects(sz.setCursor('z_1_of_1', '200'), lost, 'nor forward');
    assert.equal(await so.getCursor('z_1_of_1'), '150');
    const state = await zombie.renew();
    assert.deepEqual(state.held, [], 'the zombie learns it holds nothing');
    assert.deepEqual(state.holders, ['other']);
    await other.leave();
    await zombie.leave();
  });

  it('runShardGroup spreads the shards over two members on these leases; every event is handled, and a clean stop hands over', async (t) => {
    if (js === undefined) return t.skip('no NATS');
    const c = js;
    const name = bucket();
    const log = newMemoryEventLog();
    for (let i = 1; i <= 400; i++) log.insert(`f${i}`, 1);
    const handled = new Map<string, Set<string>>();
    const start = (id: string) => {
      const ac = new AbortController();
      const seen = new Set<string>();
      handled.set(id, seen);
      const leases = c.leases({
        bucket: name,
        group: 'run',
        shards: 4,
        memberId: id,
        leasePeriodMs: 1500,
      });
      const done = runShardGroup(leases, {
        stream: log.stream,
        fn: (e: Event) => {
          seen.add(e.id);
        },
        signal: ac.signal,
      });
      return { ac, done, leases };
    };
    const m1 = start('m1');
    const m2 = start('m2');
    const all = (): number => new Set([...handled.values()].flatMap((s) => [...s])).size;
    await waitFor('every event handled', () => all() === 400, 15_000);
    await waitFor(
      'both members hold shards',
      async () => new Set((await m1.leases.holders()).holders).size === 2,
      15_000,
    );
    m2.ac.abort();
    await m2.done;
    // m2 left cleanly: m1 takes its shards without waiting for their leases to expire.
    await waitFor(
      'm1 holds every shard',
      async () => (await m1.leases.holders()).holders.every((h) => h === 'm1'),
      10_000,
    );
    for (let i = 401; i <= 420; i++) log.insert(`f${i}`, 1);
    await waitFor('the new events handled by m1', () => all() === 420, 15_000);
    m1.ac.abort();
    await m1.done;
  });

  it('refuses another shard count (ERR_REFLEX_SHARD_COUNT_MISMATCH) and a lease period not longer than the renewal interval', async (t) => {
    if (js === undefined) return t.skip('no NATS');
    const name = bucket();
    const g8 = js.leases({ bucket: name, group: 'g', shards: 8 });
    await g8.join();
    await assert.rejects(
      js.leases({ bucket: name, group: 'g', shards: 4 }).join(),
      (e) => codeOf(e) === ErrorCode.shardCountMismatch && /8 shards stored/.test(String(e)),
    );
    assert.equal((await g8.holders()).shards, 8);
    await g8.leave();
    const bad = (o: object): void => {
      assert.throws(
        () => js?.leases(o as never),
        (e) => codeOf(e) === ErrorCode.invalidArgument,
      );
    };
    bad({ group: 'g', shards: 2, leasePeriodMs: 100, renewIntervalMs: 100 });
    bad({ group: 'g', shards: 0 });
    bad({ group: 'g.h', shards: 2 });
    bad({ group: 'g', shards: 2, bucket: 'a b' });
    bad({ group: 'g', shards: 2, unknown: 1 });
    bad({ group: 'g' });
  });
});
