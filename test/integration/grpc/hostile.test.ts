// Hostile clients against a real server on loopback, written frame by frame (test/support/raw-h2):
// more streams than SETTINGS allow, HEADERS without a request, connections that never call, a
// rapid-reset flood; and what a peer is told (capped, sanitised messages; authentication before
// any word about the method). After each, a well-behaved client still gets every event in order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ErrorCode,
  type Event,
  hasCode,
  isHeadReachedErr,
  type Logger,
  ReflexError,
  type StreamFunc,
} from '../../../src/core/index.js';
import {
  bearerTokenAuth,
  newReflexClient,
  serveStream,
  serveStreams,
} from '../../../src/grpc/index.js';
import { RsqlErrorCode } from '../../../src/rsql/index.js';
import { type MemoryEventLog, newMemoryEventLog } from '../../../src/testing/index.js';
import { RawH2 } from '../../support/raw-h2.js';
import { waitFor } from '../../support/wait.js';

const method = '/reflexpb.Reflex/Stream';
/** Attackers connect from another loopback address: an abusive address is penalised as a whole. */
const attacker = '127.0.0.2';

function fill(n: number): MemoryEventLog {
  const log = newMemoryEventLog();
  for (let i = 0; i < n; i++) log.insert(`f${i}`, (i % 7) + 1);
  return log;
}

/** A source that counts how many times it was opened. */
function countingOpens(stream: StreamFunc): { stream: StreamFunc; opens: () => number } {
  let opens = 0;
  return {
    opens: () => opens,
    stream: (after, options) => {
      opens++;
      return stream(after, options);
    },
  };
}

/** Reads a stream opened with toHead to the end. */
async function readToHead(stream: StreamFunc): Promise<Event[]> {
  const out: Event[] = [];
  const client = await stream('', { toHead: true });
  try {
    for (;;) out.push(await client.recv());
  } catch (err) {
    if (!isHeadReachedErr(err)) throw err;
  } finally {
    await client.close();
  }
  return out;
}

/** Every event of the log, in order, through a fresh well-behaved client. */
async function assertAllDelivered(address: string, log: MemoryEventLog): Promise<void> {
  await using client = newReflexClient(address);
  const got = await readToHead(client.stream);
  assert.deepEqual(
    got.map((e) => e.id),
    log.events.map((e) => e.id),
  );
}

/** `n` requests each with its RST_STREAM, in one write: the server reads them in one go. */
function resetBurst(raw: RawH2, n: number): void {
  const bytes: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const c = raw.callBytes(method);
    bytes.push(c.bytes, RawH2.rstBytes(c.id));
  }
  raw.write(Buffer.concat(bytes));
}

/** A logger that keeps what it is given. */
function recordingLogger(): Logger & {
  lines: { level: string; message: string; fields: Record<string, unknown> }[];
} {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, fields?: Readonly<Record<string, unknown>>): void => {
      lines.push({ level, message, fields: { ...fields } });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function remoteError(stream: StreamFunc, after = ''): Promise<ReflexError> {
  const c = await stream(after);
  try {
    await c.recv();
  } catch (err) {
    assert.ok(err instanceof ReflexError);
    return err;
  } finally {
    await c.close();
  }
  throw new Error('the stream delivered an event');
}

describe('grpc server under hostile clients', { timeout: 120_000 }, () => {
  it('streams beyond maxConcurrentStreams are refused (REFUSED_STREAM); the others are served', async () => {
    const log = fill(50);
    await using server = await serveStream(log.stream, { maxConcurrentStreams: 10 });
    const raw = await RawH2.connect(server.port);
    try {
      // 15 calls that never send their request, ignoring the SETTINGS limit of 10.
      const ids: number[] = [];
      const bytes: Buffer[] = [];
      for (let i = 0; i < 15; i++) {
        const c = raw.callBytes(method, { body: false });
        ids.push(c.id);
        bytes.push(c.bytes);
      }
      raw.write(Buffer.concat(bytes));
      await waitFor('5 refused streams', () => raw.resets().size >= 5);
      const refused = [...raw.resets()].filter(([, code]) => code === 7).map(([id]) => id);
      assert.deepEqual(refused, ids.slice(10));
      assert.ok(server.openStreams <= 10, `${server.openStreams} open`);
      await assertAllDelivered(server.address, log);
    } finally {
      raw.destroy();
    }
  });

  it('a call that sends HEADERS and no request ends after requestTimeoutMs; the connection and server carry on', async () => {
    const log = fill(20);
    await using server = await serveStream(log.stream, { requestTimeoutMs: 200 });
    const raw = await RawH2.connect(server.port);
    try {
      const { id, bytes } = raw.callBytes(method, { body: false });
      raw.write(bytes);
      await waitFor('the server to end the stream', () => raw.ended(id), 10_000);
      await waitFor('no open call', () => server.openStreams === 0, 10_000);
      // Its request slot is freed too (RST_STREAM NO_ERROR after the status), so it never counts again.
      await waitFor('the stream reset with NO_ERROR', () => raw.resets().get(id) === 0, 10_000);
      // The same connection still makes a well-formed call.
      const ok = raw.callBytes(method);
      raw.write(ok.bytes);
      await waitFor('the second call answered', () => raw.ended(ok.id), 10_000);
      assert.equal(raw.closed, false);
      await assertAllDelivered(server.address, log);
    } finally {
      raw.destroy();
    }
  });

  it('connections that never start a call are closed after handshakeTimeoutMs, idle ones after idleTimeoutMs', async () => {
    const log = fill(5);
    await using server = await serveStream(log.stream, {
      handshakeTimeoutMs: 200,
      idleTimeoutMs: 300,
    });
    const silent = await RawH2.connect(server.port, { preface: false });
    const prefaceOnly = await RawH2.connect(server.port);
    const idle = await RawH2.connect(server.port);
    try {
      const call = idle.callBytes(method);
      idle.write(call.bytes);
      await waitFor('the idle connection’s call answered', () => idle.ended(call.id), 10_000);
      await waitFor('the silent connection closed', () => silent.closed, 10_000);
      await waitFor('the preface-only connection closed', () => prefaceOnly.closed, 10_000);
      await waitFor(
        'the idle connection told to go away',
        () => idle.goaway() !== undefined,
        10_000,
      );
      assert.equal(idle.goaway()?.code, 0);
      await waitFor('the idle connection closed', () => idle.closed, 10_000);
      await assertAllDelivered(server.address, log);
    } finally {
      silent.destroy();
      prefaceOnly.destroy();
      idle.destroy();
    }
  });

  it('maxConnections: connections beyond it are closed at once', async () => {
    const log = fill(5);
    await using server = await serveStream(log.stream, { maxConnections: 2 });
    const a = await RawH2.connect(server.port);
    const b = await RawH2.connect(server.port);
    const c = await RawH2.connect(server.port);
    try {
      await waitFor('the third connection closed', () => c.closed, 10_000);
      assert.equal(a.closed || b.closed, false);
      a.destroy();
      b.destroy();
      await waitFor('the two connections gone', () => a.closed && b.closed);
      // The limit counts open connections: slots free up.
      await waitFor('every event, once slots are free', async () => {
        try {
          await assertAllDelivered(server.address, log);
          return true;
        } catch {
          return false;
        }
      });
    } finally {
      a.destroy();
      b.destroy();
      c.destroy();
    }
  });

  it('a rapid-reset flood opens no source and gets GOAWAY ENHANCE_YOUR_CALM; a well-behaved client still gets every event', async () => {
    const log = fill(2000);
    const counted = countingOpens(log.stream);
    await using server = await serveStream(counted.stream, { abusiveHoldMs: 0 });
    // From another address: the attacker's own address is penalised, not the good client's.
    const raw = await RawH2.connect(server.port, { from: attacker });
    try {
      // Each request and its RST_STREAM in one write, 300 of them: more than the reset burst.
      for (let i = 0; i < 300 && !raw.closed; i++) {
        const c = raw.callBytes(method);
        raw.write(Buffer.concat([c.bytes, RawH2.rstBytes(c.id)]));
      }
      await waitFor('GOAWAY', () => raw.goaway() !== undefined, 10_000);
      assert.deepEqual(raw.goaway(), { code: 11, debug: 'too_many_resets' });
      await waitFor('the flooding connection closed', () => raw.closed, 10_000);
      // A request whose RST came in a later read may have been opened; the flood as a whole is not.
      assert.ok(counted.opens() <= 3, `${counted.opens()} sources opened by reset streams`);
      const before = counted.opens();
      await assertAllDelivered(server.address, log);
      assert.equal(counted.opens(), before + 1);
    } finally {
      raw.destroy();
    }
  });

  it('an abusive connection is held unread (PING unanswered, calls unserved) until abusiveHoldMs, then closed; new connections from its address are held too, others served', async () => {
    const holdMs = 400;
    const log = fill(300);
    const counted = countingOpens(log.stream);
    await using server = await serveStream(counted.stream, { abusiveHoldMs: holdMs });
    const raw = await RawH2.connect(server.port, { from: attacker });
    const later: RawH2[] = [];
    try {
      // The hold cannot start before the flood is sent: a lower bound that no stall can break.
      const sentAt = Date.now();
      resetBurst(raw, 300);
      await waitFor('GOAWAY', () => raw.goaway() !== undefined, 10_000);
      assert.deepEqual(raw.goaway(), { code: 11, debug: 'too_many_resets' });
      // Held: a PING and a call sent now are never read.
      const call = raw.callBytes(method);
      raw.write(Buffer.concat([RawH2.pingBytes('held'), call.bytes]));
      // A new connection from the same address: accepted, then neither read nor answered.
      const again = await RawH2.connect(server.port, { from: attacker });
      later.push(again);
      const againCall = again.callBytes(method);
      again.write(againCall.bytes);
      // Meanwhile a client elsewhere is served in full.
      const opensBefore = counted.opens();
      await assertAllDelivered(server.address, log);
      assert.equal(counted.opens(), opensBefore + 1);
      await waitFor('the held connection closed', () => raw.closed, 10_000);
      const heldMs = Date.now() - sentAt;
      // Timers may fire up to a millisecond early.
      assert.ok(heldMs >= holdMs - 2, `closed ${heldMs} ms after the flood was sent`);
      assert.equal(raw.pingAcked('held'), false, 'the held connection answered a PING');
      assert.equal(raw.ended(call.id), false, 'a call on the held connection was answered');
      await waitFor('the later connection closed', () => again.closed, 10_000);
      assert.equal(again.heard, false, 'the server sent frames on a connection it holds');
      // The penalty is over: the address is served again.
      const after = await RawH2.connect(server.port, { from: attacker, ackPings: true });
      later.push(after);
      const served = after.callBytes(method);
      after.write(served.bytes);
      await waitFor('a call from the address served again', () => after.ended(served.id), 10_000);
      assert.equal(after.resets().has(served.id), false);
    } finally {
      raw.destroy();
      for (const r of later) r.destroy();
    }
  });

  it('stop() closes held connections at once, and a PING flood is held as a reset flood is', async () => {
    const log = fill(5);
    await using server = await serveStream(log.stream, {
      minPingIntervalMs: 1000,
      abusiveHoldMs: 600_000,
      shutdownGraceMs: 60_000,
    });
    const raw = await RawH2.connect(server.port, { from: attacker });
    try {
      for (let i = 0; i < 5; i++) raw.write(RawH2.pingBytes(`p${i}`));
      await waitFor('GOAWAY', () => raw.goaway() !== undefined, 10_000);
      assert.deepEqual(raw.goaway(), { code: 11, debug: 'too_many_pings' });
      raw.write(RawH2.pingBytes('held'));
      await assertAllDelivered(server.address, log);
      assert.equal(raw.closed, false);
      // Neither the hold (600 s) nor the grace (60 s) is waited for.
      await server.stop();
      await waitFor('the held connection closed', () => raw.closed, 10_000);
      assert.equal(raw.pingAcked('held'), false);
    } finally {
      raw.destroy();
    }
  });

  it('a connection that resets too many streams gets GOAWAY and is closed, while a client streaming on another connection gets every event in order', async () => {
    const log = fill(500);
    await using server = await serveStream(log.stream, { maxResetBurst: 20, abusiveHoldMs: 0 });
    await using client = newReflexClient(server.address);
    const stream = await client.stream('');
    const got: Event[] = [];
    while (got.length < 500) got.push(await stream.recv());
    const raw = await RawH2.connect(server.port, { from: attacker });
    try {
      resetBurst(raw, 300);
      await waitFor('the flooding connection closed', () => raw.closed, 10_000);
      assert.deepEqual(raw.goaway(), { code: 11, debug: 'too_many_resets' });
      // The other connection's call carries on: the events written since come through, in order.
      for (let i = 0; i < 500; i++) log.insert(`g${i}`, 1);
      while (got.length < 1000) got.push(await stream.recv());
      assert.deepEqual(
        got.map((e) => e.id),
        log.events.map((e) => e.id),
      );
    } finally {
      raw.destroy();
      await stream.close();
    }
  });

  it('calls that never send their request each end after requestTimeoutMs, however they arrive', async () => {
    const log = fill(5);
    await using server = await serveStream(log.stream, { requestTimeoutMs: 200 });
    const raw = await RawH2.connect(server.port);
    try {
      const first = raw.callBytes(method, { body: false });
      raw.write(first.bytes);
      await waitFor('the first call ended', () => raw.ended(first.id), 10_000);
      // Two more once none waits: the request timeout is armed again for them.
      const second = raw.callBytes(method, { body: false });
      const third = raw.callBytes(method, { body: false });
      raw.write(Buffer.concat([second.bytes, third.bytes]));
      await waitFor(
        'both later calls ended',
        () => raw.ended(second.id) && raw.ended(third.id),
        10_000,
      );
      await waitFor('no open call', () => server.openStreams === 0, 10_000);
      assert.equal(raw.closed, false);
      await assertAllDelivered(server.address, log);
    } finally {
      raw.destroy();
    }
  });

  it('a 60 KB cursor comes back as a capped message; a source’s error text stays on the server, logged with its cause', async () => {
    const log = fill(10);
    const logger = recordingLogger();
    const dbError = new Error(
      "Access denied for user 'app'@'10.0.0.7' \u0007(using password: YES)",
    );
    await using server = await serveStreams(
      {
        [method]: log.stream,
        'test.Broken/Stream': () =>
          Promise.reject(
            new ReflexError(RsqlErrorCode.database, 'query failed', { cause: dbError }),
          ),
        'test.Plain/Stream': () => Promise.reject(dbError),
      },
      { logger },
    );
    await using client = newReflexClient(server.address);
    const long = await remoteError(client.stream, `9${'\u0001x'.repeat(30_000)}`);
    assert.equal(long.code, ErrorCode.invalidCursor);
    assert.ok(long.message.length < 600, `${long.message.length} chars`);
    assert.ok(![...long.message].some((ch) => ch.charCodeAt(0) < 0x20), 'control characters');

    for (const name of ['test.Broken/Stream', 'test.Plain/Stream']) {
      const err = await remoteError(client.streamFunc(name));
      assert.ok(!err.message.includes('Access denied'), err.message);
      assert.ok(!err.message.includes('10.0.0.7'), err.message);
      const logged = logger.lines.find(
        (l) => l.level === 'error' && l.fields.method === `/${name}`,
      );
      assert.ok(logged !== undefined, `no error logged for ${name}`);
      const e = logged.fields.error as Error;
      assert.ok(e === dbError || e.cause === dbError);
    }
    assert.equal(
      (await remoteError(client.streamFunc('test.Broken/Stream'))).code,
      RsqlErrorCode.database,
    );
    await assertAllDelivered(server.address, log);
  });

  it('authentication comes first: an unknown method is UNAUTHENTICATED without a token, UNIMPLEMENTED with one; a throwing authenticator is logged', async () => {
    const log = fill(3);
    const logger = recordingLogger();
    const token = 's3cret';
    const check = bearerTokenAuth([token]);
    const boom = new Error('token service down');
    await using server = await serveStream(log.stream, {
      logger,
      authenticate: (call) => {
        if (call.header('x-boom') !== undefined) throw boom;
        return check(call);
      },
    });
    await using anonymous = newReflexClient(server.address);
    await using authed = newReflexClient(server.address, { token });
    await using throwing = newReflexClient(server.address, { headers: { 'x-boom': '1' } });
    const unknown = 'nope.Secret/Stream';
    assert.equal(
      (await remoteError(anonymous.streamFunc(unknown))).code,
      ErrorCode.unauthenticated,
    );
    const unimplemented = await remoteError(authed.streamFunc(unknown));
    assert.equal(unimplemented.code, 'ERR_REFLEX_UNIMPLEMENTED');
    assert.ok(hasCode(unimplemented, 'ERR_REFLEX_UNIMPLEMENTED'));
    const failed = await remoteError(throwing.stream);
    assert.equal(failed.code, ErrorCode.unauthenticated);
    assert.ok(!failed.message.includes('token service'));
    const logged = logger.lines.find((l) => l.level === 'error' && l.fields.error === boom);
    assert.ok(logged !== undefined, 'the authenticator’s failure was not logged');
    const got = await readToHead(authed.stream);
    assert.deepEqual(
      got.map((e) => e.id),
      log.events.map((e) => e.id),
    );
  });

  it('bad limits are refused with ERR_REFLEX_INVALID_ARGUMENT naming the option', async () => {
    const log = fill(1);
    for (const [key, value] of [
      ['maxConcurrentStreams', 0],
      ['maxConcurrentStreams', 1.5],
      ['maxConnections', -1],
      ['requestTimeoutMs', 0],
      ['idleTimeoutMs', '10s'],
      ['keepaliveMs', 10],
      ['keepaliveTimeoutMs', Number.NaN],
      ['maxResetRate', 0],
      ['abusiveHoldMs', -1],
    ] as const) {
      await assert.rejects(
        serveStream(log.stream, { [key]: value }),
        (err: unknown) =>
          hasCode(err, ErrorCode.invalidArgument) && (err as Error).message.includes(key),
        `${key}: ${String(value)}`,
      );
    }
  });
});
