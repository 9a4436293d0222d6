// The JetStream bridge against the machine's NATS server (REFLEX_TEST_NATS_URL, default
// nats://127.0.0.1:4222): relay and source round trip, restart without duplicates, the stream
// options, and bad input. Streams have unique names and are deleted after.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ErrorCode,
  type Event,
  encodeTrace,
  hasCode,
  isExpected,
  isHeadReachedErr,
  newConsumer,
  newSpec,
  run,
} from '../../../src/core/index.js';
import {
  type JetStreamClient,
  NatsErrorCode,
  newJetStreamClient,
  newJetStreamRelaySpec,
  relayHeaders,
} from '../../../src/nats/index.js';
import { MemCursorStore } from '../../../src/rpatterns/index.js';
import { drain, newMemoryEventLog } from '../../../src/testing/index.js';
import { JetStreamAdmin } from '../../support/jetstream.js';
import { freePort } from '../../support/nats-servers.js';
import { natsServer, requireServer, uniqueName } from '../../support/servers.js';

const enc = new TextEncoder();

/** Runs the relay until its cursor reaches `head` (≤ 15 s), then stops the run. */
async function relayUntil(
  js: JetStreamClient,
  log: ReturnType<typeof newMemoryEventLog>,
  store: MemCursorStore,
  options: Parameters<JetStreamClient['relay']>[1],
  head: string,
): Promise<void> {
  const relay = js.relay(store, options);
  const ac = new AbortController();
  const done = run(newJetStreamRelaySpec(log.stream, relay), { signal: ac.signal }).catch(
    (err: unknown) => err,
  );
  const deadline = Date.now() + 15_000;
  while ((await store.getCursor(options.name)) !== head) {
    if (Date.now() > deadline) throw new Error(`relay cursor stuck before ${head}`);
    const early = await Promise.race([done, new Promise((r) => setTimeout(r, 20, 'wait'))]);
    if (early !== 'wait') throw early;
  }
  ac.abort();
  await done;
  await relay.stop();
}

describe('JetStream bridge (local server)', () => {
  let url: string | undefined;
  let admin: JetStreamAdmin | undefined;

  before(async (t) => {
    url = await requireServer(t as never, natsServer);
    if (url !== undefined) admin = await JetStreamAdmin.connect(url);
  });
  after(async () => {
    await admin?.close();
  });

  it('relays events with headers, subjects and ids, and the source reads them back', async (t) => {
    if (admin === undefined || url === undefined) return t.skip('no NATS');
    const stream = uniqueName('RELAY').toUpperCase();
    await admin.createStream(stream);
    const log = newMemoryEventLog();
    const trace = encodeTrace({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
    });
    for (let i = 1; i <= 50; i++) {
      log.insert(`user-${i}`, (i % 3) + 1, {
        metadata: i % 2 === 0 ? enc.encode(`m${i}`) : undefined,
        trace: i === 7 ? trace : undefined,
      } as never);
    }
    const js = newJetStreamClient({ servers: url });
    try {
      const store = new MemCursorStore();
      await relayUntil(js, log, store, { name: 'relay', stream, maxInFlight: 8 }, '50');

      const raw = await admin.messages(stream);
      assert.equal(raw.length, 50);
      raw.forEach((m, i) => {
        const e = log.events[i] as Event;
        assert.equal(m.seq, i + 1);
        assert.equal(m.subject, `${stream}.${e.type}`);
        assert.equal(m.headers['Nats-Msg-Id'], `relay:${e.id}`);
        assert.equal(m.headers[relayHeaders.id], e.id);
        assert.equal(m.headers[relayHeaders.foreignId], e.foreignId);
        assert.equal(m.headers[relayHeaders.type], String(e.type));
        assert.equal(m.headers[relayHeaders.timestamp], e.timestamp.toISOString());
      });

      const got = await drain(await js.source(stream)('', { toHead: true }));
      assert.equal(got.length, 50);
      got.forEach((g, i) => {
        const e = log.events[i] as Event;
        assert.equal(g.id, String(i + 1));
        assert.equal(g.foreignId, e.foreignId);
        assert.equal(g.type, e.type);
        assert.equal(g.timestamp.getTime(), e.timestamp.getTime());
        assert.deepEqual(g.metadata, e.metadata);
        assert.deepEqual(g.trace, e.trace);
      });
      // From a cursor: strictly after it.
      const rest = await drain(await js.source(stream)('45', { toHead: true }));
      assert.deepEqual(
        rest.map((e) => e.id),
        ['46', '47', '48', '49', '50'],
      );
    } finally {
      await js.close();
    }
  });

  it('a relay restarted from an old cursor adds no duplicate (de-duplication by message id)', async (t) => {
    if (admin === undefined || url === undefined) return t.skip('no NATS');
    const stream = uniqueName('DEDUP').toUpperCase();
    await admin.createStream(stream);
    const log = newMemoryEventLog();
    for (let i = 1; i <= 300; i++) log.insert(String(i), 1);
    const js = newJetStreamClient({ servers: url });
    try {
      const store = new MemCursorStore();
      await relayUntil(js, log, store, { name: 'r', stream, maxInFlight: 64 }, '300');
      // A crash before the cursor was written: the cursor is back at 120.
      await store.setCursor('r', '120');
      for (let i = 301; i <= 320; i++) log.insert(String(i), 1);
      await relayUntil(js, log, store, { name: 'r', stream, maxInFlight: 64 }, '320');
      const raw = await admin.messages(stream);
      assert.deepEqual(
        raw.map((m) => m.headers[relayHeaders.id]),
        Array.from({ length: 320 }, (_, i) => String(i + 1)),
      );
    } finally {
      await js.close();
    }
  });

  it('the cursor moves only past acknowledged publishes, in order, with the window full', async (t) => {
    if (admin === undefined || url === undefined) return t.skip('no NATS');
    const a = admin;
    const stream = uniqueName('ACKED').toUpperCase();
    await a.createStream(stream);
    const log = newMemoryEventLog();
    for (let i = 1; i <= 600; i++) log.insert(String(i), 1 + (i % 2));
    // Event i is the stream's message i: at each cursor write JetStream must already hold it.
    const writes: { cursor: number; lastSeq: number }[] = [];
    class CheckingStore extends MemCursorStore {
      override async setCursor(name: string, cursor: string): Promise<void> {
        const info = await a.jsm.streams.info(stream);
        writes.push({ cursor: Number(cursor), lastSeq: info.state.last_seq });
        await super.setCursor(name, cursor);
      }
    }
    const js = newJetStreamClient({ servers: url });
    try {
      await relayUntil(js, log, new CheckingStore(), { name: 'r', stream, maxInFlight: 16 }, '600');
      assert.ok(writes.length > 0);
      for (const [i, w] of writes.entries()) {
        assert.ok(
          w.cursor <= w.lastSeq,
          `cursor ${w.cursor} written before its ack (stream at ${w.lastSeq})`,
        );
        if (i > 0) assert.ok(w.cursor > (writes[i - 1]?.cursor ?? 0), 'cursor went backwards');
      }
      assert.equal(writes.at(-1)?.cursor, 600);
      const raw = await a.messages(stream);
      assert.deepEqual(
        raw.map((m) => m.headers[relayHeaders.id]),
        Array.from({ length: 600 }, (_, i) => String(i + 1)),
      );
    } finally {
      await js.close();
    }
  });

  it('honours toHead (at the sequence current at open), fromHead, lag and filterSubject', async (t) => {
    if (admin === undefined || url === undefined) return t.skip('no NATS');
    const stream = uniqueName('OPTS').toUpperCase();
    await admin.createStream(stream);
    const js = newJetStreamClient({ servers: url });
    const nc = admin.nc.jetstream();
    const publish = (type: number, n: number): Promise<unknown> =>
      nc.publish(`${stream}.${type}`, enc.encode(String(n)));
    try {
      // An empty stream is at its head at once.
      await assert.rejects((await js.source(stream)('', { toHead: true })).recv(), (e) =>
        isHeadReachedErr(e),
      );
      for (let i = 1; i <= 10; i++) await publish(i % 2, i);
      const s = await js.source(stream)('', { toHead: true });
      for (let i = 11; i <= 15; i++) await publish(1, i);
      const got = await drain(s);
      assert.deepEqual(
        got.map((e) => e.id),
        ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'],
      );
      // Foreign messages: type 0, no foreign id, JetStream's timestamp, the payload as metadata.
      assert.equal(got[0]?.type, 0);
      assert.equal(got[0]?.foreignId, '');
      assert.deepEqual(got[0]?.metadata, enc.encode('1'));
      assert.ok(Math.abs((got[0]?.timestamp.getTime() ?? 0) - Date.now()) < 60_000);

      // filterSubject: only stream.0 (even n ≤ 10); the head of the filter ends it.
      const filtered = await drain(
        await js.source(stream, { filterSubject: `${stream}.0` })('', { toHead: true }),
      );
      assert.deepEqual(
        filtered.map((e) => e.id),
        ['2', '4', '6', '8', '10'],
      );

      // fromHead: only what is written after the stream opened.
      const ac = new AbortController();
      const fresh = await js.source(stream)('', { fromHead: true, signal: ac.signal });
      await publish(1, 16);
      assert.equal((await fresh.recv()).id, '16');
      await fresh.close();

      // lag: an event younger than the lag is held back until it is old enough.
      const lagged = await js.source(stream)('16', { lag: 400 });
      const published = Date.now();
      await publish(1, 17);
      const e = await lagged.recv();
      assert.equal(e.id, '17');
      assert.ok(Date.now() - published >= 350, 'held back by the lag');
      await lagged.close();
      // The ordered consumers were deleted by close().
      const info = await admin.jsm.streams.info(stream);
      const deadline = Date.now() + 5000;
      let consumers = info.state.consumer_count;
      while (consumers > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        consumers = (await admin.jsm.streams.info(stream)).state.consumer_count;
      }
      assert.equal(consumers, 0);
    } finally {
      await js.close();
    }
  });

  it('serves run, consumers and cursor stores: a consumer reads a relayed stream to its head', async (t) => {
    if (admin === undefined || url === undefined) return t.skip('no NATS');
    const stream = uniqueName('RUN').toUpperCase();
    await admin.createStream(stream);
    const log = newMemoryEventLog();
    for (let i = 1; i <= 200; i++) log.insert(String(i), 5);
    const js = newJetStreamClient({ servers: url });
    try {
      await relayUntil(js, log, new MemCursorStore(), { name: 'r', stream }, '200');
      const seen: string[] = [];
      const store = new MemCursorStore();
      const consumer = newConsumer('reader', (e) => {
        seen.push(e.foreignId);
      });
      await assert.rejects(
        run(newSpec(js.source(stream), store, consumer, { toHead: true })),
        (e) => isHeadReachedErr(e),
      );
      assert.equal(seen.length, 200);
      assert.deepEqual(
        seen,
        Array.from({ length: 200 }, (_, i) => String(i + 1)),
      );
      assert.equal(await store.getCursor('reader'), '200');
    } finally {
      await js.close();
    }
  });

  it('bad input: clear coded errors, nothing published', async (t) => {
    if (admin === undefined || url === undefined) return t.skip('no NATS');
    const stream = uniqueName('BAD').toUpperCase();
    await admin.createStream(stream);
    const js = newJetStreamClient({ servers: url });
    try {
      // A missing stream, for a source and for a relay.
      await assert.rejects(js.source(`${stream}_MISSING`)(''), (e) =>
        hasCode(e, NatsErrorCode.streamNotFound),
      );
      const log = newMemoryEventLog();
      log.insert('1', 1);
      const store = new MemCursorStore();
      const missing = js.relay(store, { name: 'r', stream: `${stream}_MISSING` });
      await assert.rejects(run(newJetStreamRelaySpec(log.stream, missing)), (e) =>
        hasCode(e, NatsErrorCode.streamNotFound),
      );
      // A subject the stream does not capture, and a malformed one: the cursor stays before it.
      log.insert('2', 2);
      const relay = js.relay(store, {
        name: 'r',
        stream,
        subject: (e) => (e.type === 1 ? `${stream}.ok` : 'elsewhere.x'),
      });
      await assert.rejects(run(newJetStreamRelaySpec(log.stream, relay)), (e) =>
        hasCode(e, NatsErrorCode.subject),
      );
      await relay.stop();
      assert.equal(await store.getCursor('r'), '1');
      const spaced = js.relay(store, { name: 'r', stream, subject: () => `${stream}.a b` });
      await assert.rejects(run(newJetStreamRelaySpec(log.stream, spaced)), (e) =>
        hasCode(e, NatsErrorCode.subject),
      );
      await spaced.stop();
      assert.equal((await admin.messages(stream)).length, 1);
      // Options and cursors.
      assert.throws(
        () => js.relay(store, { name: 'r', stream: 'a.b' }),
        (e) => hasCode(e, ErrorCode.invalidArgument),
      );
      assert.throws(
        () => js.relay(store, { name: 'r', stream, maxInFlight: 0 }),
        (e) => hasCode(e, ErrorCode.invalidArgument),
      );
      assert.throws(
        () => js.relay(store, { name: 'r', stream, subjectPrefix: 'a.*' }),
        (e) => hasCode(e, ErrorCode.invalidArgument),
      );
      assert.throws(
        () => js.relay(store, { name: 'r', stream, bogus: 1 } as never),
        (e) => hasCode(e, ErrorCode.invalidArgument),
      );
      assert.throws(
        () => js.source(stream, { filterSubject: 'a.>.b' }),
        (e) => hasCode(e, ErrorCode.invalidArgument),
      );
      assert.throws(
        () => newJetStreamClient({ timeoutMs: -1 }),
        (e) => hasCode(e, ErrorCode.invalidArgument),
      );
      await assert.rejects(js.source(stream)('x'), (e) => hasCode(e, ErrorCode.invalidCursor));
      await assert.rejects(js.source(stream)('9007199254740993'), (e) =>
        hasCode(e, ErrorCode.invalidCursor),
      );
      await assert.rejects(js.source(stream)('', { lag: -1 }), (e) =>
        hasCode(e, ErrorCode.invalidArgument),
      );
    } finally {
      await js.close();
    }
  });

  it('an unreachable server is ERR_REFLEX_UNAVAILABLE, not a cancellation', async () => {
    const port = await freePort();
    const js = newJetStreamClient({ servers: `nats://127.0.0.1:${port}`, timeoutMs: 1000 });
    try {
      await assert.rejects(js.source('ANY')(''), (e) => {
        assert.ok(hasCode(e, ErrorCode.unavailable), String(e));
        assert.equal(isExpected(e), false);
        return true;
      });
      const relay = js.relay(new MemCursorStore(), { name: 'r', stream: 'ANY' });
      const log = newMemoryEventLog();
      log.insert('1', 1);
      await assert.rejects(run(newJetStreamRelaySpec(log.stream, relay)), (e) =>
        hasCode(e, ErrorCode.unavailable),
      );
    } finally {
      await js.close();
    }
    await assert.rejects(js.source('ANY')(''), (e) => hasCode(e, ErrorCode.closed));
  });
});
