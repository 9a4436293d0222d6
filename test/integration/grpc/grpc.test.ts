// Real servers on 127.0.0.1 port 0, real clients: the memory log served over gRPC must read exactly
// as it reads locally, errors keep their codes, back-pressure holds, stop/abort/deadline end cleanly.
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { before, describe, it } from 'node:test';
import {
  ErrorCode,
  type Event,
  hasCode,
  isExpected,
  isHeadReachedErr,
  isStoppedErr,
  newConsumer,
  newSpec,
  ReflexError,
  run,
  type StreamCallOptions,
  type StreamClient,
  type StreamFunc,
} from '../../../src/core/index.js';
import { encodeStreamRequest, frame } from '../../../src/grpc/codec.js';
import {
  bearerTokenAuth,
  newReflexClient,
  serveStream,
  serveStreams,
} from '../../../src/grpc/index.js';
import {
  MemCursorStore,
  type MemoryEventLog,
  newMemoryEventLog,
} from '../../../src/testing/index.js';
import { asReceived } from '../../support/events.js';
import { makeCerts, type TestCerts } from '../../support/tls.js';
import { waitFor } from '../../support/wait.js';

/** Reads a stream opened with toHead to the end. */
async function readToHead(stream: StreamFunc, after = ''): Promise<Event[]> {
  const out: Event[] = [];
  const client = await stream(after, { toHead: true });
  try {
    for (;;) out.push(await client.recv());
  } catch (err) {
    if (!isHeadReachedErr(err)) throw err;
  } finally {
    await client.close();
  }
  return out;
}

/** A source that counts the events pulled from it and the streams still open. */
function counting(stream: StreamFunc): {
  stream: StreamFunc;
  pulled: () => number;
  open: () => number;
  calls: StreamCallOptions[];
} {
  let pulled = 0;
  let open = 0;
  const calls: StreamCallOptions[] = [];
  return {
    pulled: () => pulled,
    open: () => open,
    calls,
    stream: async (after, options) => {
      calls.push(options ?? {});
      const inner = await stream(after, options);
      open++;
      let closed = false;
      const client: StreamClient = {
        recv: async () => {
          const e = await inner.recv();
          pulled++;
          return e;
        },
        close: async () => {
          if (!closed) {
            closed = true;
            open--;
          }
          await inner.close();
        },
        [Symbol.asyncIterator]: () => inner[Symbol.asyncIterator](),
      };
      return client;
    },
  };
}

/** One call made with raw HTTP/2 (any headers): its gRPC status and how many messages came. */
async function rawCall(
  address: string,
  extraHeaders: Record<string, string>,
  request: Parameters<typeof encodeStreamRequest>[0] | Buffer,
): Promise<{ status: string | undefined; messages: number }> {
  const session = connect(`http://${address}`);
  try {
    const req = session.request({
      ':method': 'POST',
      ':path': '/reflexpb.Reflex/Stream',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...extraHeaders,
    });
    req.end(frame(Buffer.isBuffer(request) ? request : encodeStreamRequest(request)));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      req.once('response', (h) => (h['grpc-status'] !== undefined ? resolve(h) : undefined));
      req.once('trailers', resolve);
      req.once('error', reject);
    });
    const body = Buffer.concat(chunks);
    let messages = 0;
    for (let p = 0; p + 5 <= body.length; p += 5 + body.readUInt32BE(p + 1)) messages++;
    return { status: headers['grpc-status'] as string | undefined, messages };
  } finally {
    session.close();
  }
}

function fill(n: number, metadata?: (i: number) => Uint8Array): MemoryEventLog {
  const log = newMemoryEventLog();
  for (let i = 0; i < n; i++) {
    const m = metadata?.(i);
    log.insert(`f${i}`, (i % 7) + 1, m === undefined ? {} : { metadata: m });
  }
  return log;
}

describe('grpc server and client', { timeout: 120_000 }, () => {
  it('streams 0, 1, 100 and 10,000 events exactly as the local stream', async () => {
    for (const n of [0, 1, 100, 10_000]) {
      const log = fill(n);
      await using server = await serveStream(log.stream);
      await using client = newReflexClient(server.address);
      const local = (await readToHead(log.stream)).map(asReceived);
      const remote = await readToHead(client.stream);
      assert.equal(remote.length, n);
      assert.deepEqual(remote, local);
      assert.deepEqual(
        await readToHead(client.stream, String(Math.floor(n / 2))),
        local.slice(Math.floor(n / 2)),
      );
    }
  });

  it('keeps streaming from a source that pauses between batches (as an SQL source does)', async () => {
    const log = fill(20_000);
    // Every 1000 events the source awaits a timer, as a loader awaits its next query: the
    // transport drains meanwhile, which the server must notice without a 'drain' event.
    const batched: StreamFunc = async (after, options) => {
      const inner = await log.stream(after, options);
      let n = 0;
      return {
        recv: async () => {
          if (++n % 1000 === 0) await new Promise((r) => setTimeout(r, 20));
          return inner.recv();
        },
        close: () => inner.close(),
        [Symbol.asyncIterator]: () => inner[Symbol.asyncIterator](),
      };
    };
    await using server = await serveStream(batched);
    await using client = newReflexClient(server.address, { timeoutMs: 30_000 });
    assert.equal((await readToHead(client.stream)).length, 20_000);
  });

  it('keeps metadata of 0 B to 1 MiB intact', async () => {
    const sizes = [0, 1, 100, 16 * 1024, 64 * 1024 + 3, 1024 * 1024];
    const log = fill(sizes.length, (i) => {
      const b = new Uint8Array(sizes[i] as number);
      for (let j = 0; j < b.length; j++) b[j] = (j * 31 + i) & 0xff;
      return b;
    });
    await using server = await serveStream(log.stream);
    await using client = newReflexClient(server.address);
    const remote = await readToHead(client.stream);
    const local = (await readToHead(log.stream))
      .map((e) => (e.metadata?.length === 0 ? (({ metadata: _, ...rest }) => rest)(e) : e))
      .map(asReceived);
    assert.deepEqual(remote, local);
    assert.equal(remote[5]?.metadata?.length, 1024 * 1024);
  });

  it('stops pulling from the source when the client stops reading (back-pressure)', async () => {
    const log = fill(10_000);
    const src = counting(log.stream);
    await using server = await serveStream(src.stream);
    await using client = newReflexClient(server.address);
    const s = await client.stream('', { toHead: true });
    await s.recv();
    // Let the server run ahead as far as it will: until the count stops moving for 300 ms.
    let last = -1;
    for (let stable = 0; stable < 60; ) {
      await new Promise((r) => setTimeout(r, 5));
      stable = src.pulled() === last ? stable + 1 : 0;
      last = src.pulled();
    }
    assert.ok(src.pulled() > 1, `pulled ${src.pulled()}`);
    assert.ok(
      src.pulled() < 5000,
      `the server pulled ${src.pulled()} events ahead of a stalled client`,
    );
    let n = 1;
    try {
      for (;;) {
        await s.recv();
        n++;
      }
    } catch (err) {
      assert.ok(isHeadReachedErr(err));
    }
    assert.equal(n, 10_000);
    assert.equal(server.sentEvents, 10_000);
  });

  it('stop() ends open streams with ERR_REFLEX_STOPPED, is idempotent and leaves nothing open', async () => {
    const log = fill(10);
    const src = counting(log.stream);
    const server = await serveStream(src.stream);
    const client = newReflexClient(server.address);
    const streams = await Promise.all([client.stream(''), client.stream('5')]);
    for (const s of streams) await s.recv();
    await waitFor('two open streams', () => server.openStreams === 2);
    const stopping = server.stop();
    assert.equal(server.stop(), stopping);
    for (const s of streams) {
      const err = await (async () => {
        for (;;) await s.recv();
      })().catch((e: unknown) => e);
      assert.ok(isStoppedErr(err), String(err));
      assert.ok(isExpected(err));
    }
    await stopping;
    assert.equal(server.openStreams, 0);
    assert.equal(src.open(), 0, 'every source stream closed');
    await assert.rejects(
      client.stream('').then((s) => s.recv()),
      (e) => hasCode(e, ErrorCode.unavailable),
    );
    await client.close();
  });

  it('stop() with clients that stopped reading closes them after the grace period', async () => {
    const src = counting(fill(20_000).stream);
    const server = await serveStream(src.stream, { shutdownGraceMs: 200 });
    const client = newReflexClient(server.address);
    const s = await client.stream('');
    await s.recv();
    // Stalled: the server pulled a window's worth and then stopped pulling (the count stays the
    // same over consecutive checks), whatever time that takes on a loaded machine.
    let last = -1;
    let same = 0;
    await waitFor('the call to stall (the server blocked by flow control)', () => {
      const now = src.pulled();
      same = now === last ? same + 1 : 0;
      last = now;
      return now > 1 && same >= 20;
    });
    assert.ok(src.pulled() < 20_000, `the server pulled all ${src.pulled()} events`);
    await server.stop();
    // stop() resolves once every call has ended and its source stream is closed.
    assert.equal(src.open(), 0);
    assert.equal(server.openStreams, 0);
    const err = await (async () => {
      for (;;) await s.recv();
    })().catch((e: unknown) => e);
    assert.ok(isStoppedErr(err) || hasCode(err, ErrorCode.unavailable), String(err));
    await client.close();
  });

  it('50 clients that stopped reading hold the server to a bounded window each', async () => {
    const src = counting(fill(5000, () => new Uint8Array(200)).stream);
    await using server = await serveStream(src.stream);
    const clients = Array.from({ length: 50 }, () => newReflexClient(server.address));
    try {
      const streams = await Promise.all(clients.map((c) => c.stream('')));
      await Promise.all(streams.map((s) => s.recv()));
      let last = -1;
      for (let stable = 0; stable < 60; ) {
        await new Promise((r) => setTimeout(r, 5));
        stable = src.pulled() === last ? stable + 1 : 0;
        last = src.pulled();
      }
      // ~230 B a frame: the HTTP/2 window (64 KiB), a batch and the buffers (about 120 KiB).
      assert.ok(src.pulled() < 50 * 1000, `pulled ${src.pulled()} for 50 stalled clients`);
      await Promise.all(streams.map((s) => s.close()));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('a client abort cancels the call and closes the source stream', async () => {
    const src = counting(fill(3).stream);
    await using server = await serveStream(src.stream);
    await using client = newReflexClient(server.address);
    const ac = new AbortController();
    const s = await client.stream('', { signal: ac.signal });
    for (let i = 0; i < 3; i++) await s.recv();
    const pending = s.recv();
    ac.abort();
    await assert.rejects(pending, (e) => isExpected(e));
    await waitFor('the source closed', () => src.open() === 0 && server.openStreams === 0);
  });

  it('client.close() ends its open streams with ERR_REFLEX_CLOSED and refuses new ones', async () => {
    const src = counting(fill(1).stream);
    await using server = await serveStream(src.stream);
    const client = newReflexClient(server.address);
    const s = await client.stream('');
    await s.recv();
    const pending = assert.rejects(s.recv(), (e) => hasCode(e, ErrorCode.closed));
    await client.close();
    await pending;
    await assert.rejects(client.stream(''), (e) => hasCode(e, ErrorCode.closed));
    await waitFor('the source closed', () => src.open() === 0 && server.openStreams === 0);
    await client.close();
  });

  it('a deadline ends the stream with ERR_REFLEX_DEADLINE_EXCEEDED (expected)', async () => {
    const src = counting(fill(2).stream);
    await using server = await serveStream(src.stream);
    await using client = newReflexClient(server.address, { timeoutMs: 300 });
    const s = await client.stream('');
    await s.recv();
    await s.recv();
    const err = await s.recv().catch((e: unknown) => e);
    assert.ok(hasCode(err, ErrorCode.deadlineExceeded), String(err));
    assert.ok(isExpected(err));
    await s.close();
    await waitFor('the source closed', () => src.open() === 0);
  });

  it('a grpc-timeout beyond what a timer holds (2^31 - 1 ms) does not end the call at once', async () => {
    const log = fill(3);
    // Each event takes a moment, as from a database: a timer clamped to 1 ms would fire first.
    const slow: StreamFunc = async (after, options) => {
      const inner = await log.stream(after, options);
      return {
        recv: async () => {
          await new Promise((r) => setTimeout(r, 20));
          return inner.recv();
        },
        close: () => inner.close(),
        [Symbol.asyncIterator]: () => inner[Symbol.asyncIterator](),
      };
    };
    await using server = await serveStream(slow);
    // 3,000,000 s (about 35 days) and 99,999,999 hours: grpc-timeout's own units allow both.
    for (const timeout of ['3000000S', '99999999H']) {
      const got = await rawCall(
        server.address,
        { 'grpc-timeout': timeout },
        {
          after: '',
          toHead: true,
        },
      );
      assert.deepEqual(got, { status: '11', messages: 3 }, timeout); // OUT_OF_RANGE: head reached
    }
    // A short deadline still ends the call.
    const short = await rawCall(
      server.address,
      { 'grpc-timeout': '5m' },
      { after: '', toHead: true },
    );
    assert.equal(short.status, '4');
  });

  it('an abort while waiting for a stalled client to drain ends the call: no pull after it', async () => {
    // An endless source of 64 KiB events that notes every pull made after the call's abort.
    let pulled = 0;
    let pulledAfterAbort = 0;
    let closed = false;
    const endless: StreamFunc = async (_after, options) => {
      const signal = options?.signal as AbortSignal;
      return {
        recv: () => {
          if (signal.aborted) pulledAfterAbort++;
          pulled++;
          return Promise.resolve({
            id: String(pulled),
            type: 1,
            foreignId: 'f',
            timestamp: new Date(0),
            metadata: new Uint8Array(64 * 1024),
          });
        },
        close: async () => {
          closed = true;
        },
        [Symbol.asyncIterator]: () => {
          throw new Error('not used');
        },
      };
    };
    await using server = await serveStream(endless);
    await using client = newReflexClient(server.address, { timeoutMs: 400 });
    const s = await client.stream('');
    await s.recv();
    // The client reads no more: the server fills the window and waits for a drain until the
    // deadline aborts the call.
    await waitFor('the call ended and its source closed', () => closed);
    assert.ok(pulled > 1, `pulled ${pulled}`);
    assert.equal(pulledAfterAbort, 0, 'pulled from the source after the abort');
    await s.close();
  });

  it('an event the codec refuses ends the call with INVALID_ARGUMENT and is not counted as sent', async () => {
    const log = fill(2);
    const withBad: StreamFunc = async (after, options) => {
      const inner = await log.stream(after, options);
      let n = 0;
      return {
        recv: async () =>
          ++n <= 2
            ? inner.recv()
            : { id: 'bad-3', type: 1, foreignId: 'f', timestamp: new Date(Number.NaN) },
        close: () => inner.close(),
        [Symbol.asyncIterator]: () => inner[Symbol.asyncIterator](),
      };
    };
    await using server = await serveStream(withBad);
    await using client = newReflexClient(server.address);
    const s = await client.stream('');
    assert.equal((await s.recv()).id, '1');
    assert.equal((await s.recv()).id, '2');
    await assert.rejects(
      s.recv(),
      (e) => hasCode(e, ErrorCode.invalidArgument) && /bad-3/.test(String(e)),
    );
    await waitFor('the call ended', () => server.openStreams === 0);
    assert.equal(server.sentEvents, 2);
  });

  it('refuses connection-specific headers at construction; te: trailers and custom ones go out', async () => {
    for (const [k, v] of [
      ['connection', 'close'],
      ['keep-alive', 'timeout=5'],
      ['proxy-connection', 'keep-alive'],
      ['transfer-encoding', 'chunked'],
      ['upgrade', 'h2c'],
      ['http2-settings', 'AAMAAABkAAQAAP__'],
      ['te', 'gzip'],
    ] as const) {
      assert.throws(
        () => newReflexClient('127.0.0.1:1', { headers: { [k]: v } }),
        (e) => hasCode(e, ErrorCode.invalidArgument) && e instanceof Error && e.message.includes(k),
        k,
      );
    }
    const seen: (string | undefined)[] = [];
    const log = fill(2);
    await using server = await serveStream(log.stream, {
      authenticate: (call) => {
        seen.push(call.header('x-tenant'));
        return true;
      },
    });
    await using client = newReflexClient(server.address, {
      headers: { te: 'trailers', 'x-tenant': 'acme' },
    });
    assert.equal((await readToHead(client.stream)).length, 2);
    assert.deepEqual(seen, ['acme']);
  });

  it('error codes survive the hop: head reached, invalid cursor, unknown method', async () => {
    const log = fill(3);
    await using server = await serveStreams({ 'reflexpb.Reflex/Stream': log.stream });
    await using client = newReflexClient(server.address);
    const s = await client.stream('3', { toHead: true });
    await assert.rejects(s.recv(), (e) => isHeadReachedErr(e) && !isExpected(e));
    const bad = await client.stream('abc');
    await assert.rejects(bad.recv(), (e) => hasCode(e, ErrorCode.invalidCursor));
    const missing = await client.streamFunc('other.Service/Stream')('');
    await assert.rejects(
      missing.recv(),
      (e) => e instanceof ReflexError && /UNIMPLEMENTED/.test(e.message),
    );
    const ended = await run(
      newSpec(
        client.stream,
        new MemCursorStore(),
        newConsumer('c', () => {}),
        { toHead: true },
      ),
    ).catch((e: unknown) => e);
    assert.ok(isHeadReachedErr(ended));
  });

  it('any reflex code crosses the hop; a bad request’s non-ASCII message too (control characters stripped); a source’s own message stays on the server; a plain error is UNKNOWN', async () => {
    const failing: StreamFunc = async (after) => {
      if (after === '1') throw new ReflexError('ERR_APP_BAD_THING', 'bäd % news\nline 2');
      if (after === '3') throw new ReflexError(ErrorCode.invalidArgument, 'bäd % news\nline 2');
      throw new Error('plain failure');
    };
    await using server = await serveStream(failing);
    await using client = newReflexClient(server.address);
    const s = await client.stream('1');
    await assert.rejects(
      s.recv(),
      (e) =>
        hasCode(e, 'ERR_APP_BAD_THING') &&
        !String(e).includes('bäd') &&
        String(e).includes('ERR_APP_BAD_THING'),
    );
    const bad = await client.stream('3');
    await assert.rejects(
      bad.recv(),
      (e) => hasCode(e, ErrorCode.invalidArgument) && String(e).includes('bäd % news line 2'),
    );
    const p = await client.stream('2');
    await assert.rejects(
      p.recv(),
      (e) =>
        hasCode(e, 'ERR_REFLEX_REMOTE') &&
        /UNKNOWN: /.test(String(e)) &&
        !String(e).includes('plain failure'),
    );
  });

  it('a cursor with fromHead on the wire jumps to the head, as a Go server does', async () => {
    const log = fill(5);
    await using server = await serveStream(log.stream);
    const got = await rawCall(server.address, {}, { after: '2', fromHead: true, toHead: true });
    // Head reached at once: nothing after the head, and no INVALID_ARGUMENT for the cursor.
    assert.deepEqual(got, { status: '11', messages: 0 });
  });

  it('ERR_REFLEX_INTERNAL goes out as gRPC INTERNAL, not UNKNOWN (its message stays on the server)', async () => {
    const failing: StreamFunc = async () => {
      throw new ReflexError(ErrorCode.internal, 'broken invariant');
    };
    await using server = await serveStream(failing);
    await using client = newReflexClient(server.address);
    const s = await client.stream('');
    await assert.rejects(
      s.recv(),
      (e) =>
        hasCode(e, ErrorCode.internal) &&
        /INTERNAL: /.test(String(e)) &&
        !String(e).includes('broken invariant'),
    );
  });

  it('serves several named streams on one server, and sends the options (lag ms ↔ Duration)', async () => {
    const one = counting(fill(2).stream);
    const two = counting(fill(5).stream);
    await using server = await serveStreams({
      'example.Events/StreamEvent1': one.stream,
      '/example.Events/StreamEvent2': two.stream,
    });
    await using client = newReflexClient(server.address);
    assert.equal((await readToHead(client.streamFunc('example.Events/StreamEvent1'))).length, 2);
    assert.equal((await readToHead(client.streamFunc('/example.Events/StreamEvent2'))).length, 5);
    const lagged = await client.streamFunc('example.Events/StreamEvent2')('', {
      lag: 1500,
      toHead: true,
    });
    await waitFor('the call reached the source', () => two.calls.length === 2);
    await lagged.close();
    const { signal: _, ...opts } = two.calls[1] as StreamCallOptions;
    assert.deepEqual(opts, { lag: 1500, toHead: true });
  });

  it('refuses bad requests with INVALID_ARGUMENT and stays up', async () => {
    const log = fill(1);
    await using server = await serveStream(log.stream);
    const raw = async (body: Buffer): Promise<string | undefined> => {
      const session = connect(`http://${server.address}`);
      try {
        const req = session.request({
          ':method': 'POST',
          ':path': '/reflexpb.Reflex/Stream',
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        req.end(body);
        const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
          req.once('response', (h) => (h['grpc-status'] !== undefined ? resolve(h) : undefined));
          req.once('trailers', resolve);
          req.once('error', reject);
          req.resume();
        });
        return headers['grpc-status'] as string | undefined;
      } finally {
        session.close();
      }
    };
    const framed = (b: number[]): Buffer =>
      Buffer.concat([Buffer.from([0, 0, 0, 0, b.length]), Buffer.from(b)]);
    assert.equal(await raw(framed([0x1a, 0x09, 0x61])), '3', 'corrupt message');
    assert.equal(await raw(framed([0x12, 0x02, 0x28, 0x01])), '3', 'unknown option');
    assert.equal(await raw(framed([0x1a, 0x01, 0x78])), '3', 'malformed cursor "x"');
    assert.equal(await raw(Buffer.from([0, 0, 0])), '3', 'truncated frame');
    assert.equal(await raw(Buffer.concat([framed([]), framed([])])), '3', 'two messages');
    await using client = newReflexClient(server.address);
    assert.equal((await readToHead(client.stream)).length, 1);
  });

  it('serves 50 concurrent clients on one server', async () => {
    const log = fill(2000);
    const local = await readToHead(log.stream);
    await using server = await serveStream(log.stream);
    const clients = Array.from({ length: 50 }, () => newReflexClient(server.address));
    try {
      const results = await Promise.all(clients.map((c) => readToHead(c.stream)));
      for (const r of results) assert.deepEqual(r, local.map(asReceived));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('consumes remotely with run and a local cursor store, resuming after the cursor', async () => {
    const log = fill(50);
    await using server = await serveStream(log.stream);
    await using client = newReflexClient(server.address);
    const cursors = new MemCursorStore();
    const seen: string[] = [];
    let failed = false;
    const consumer = newConsumer('remote', (e) => {
      if (e.id === '30' && !failed) {
        failed = true;
        throw new Error('boom');
      }
      seen.push(e.id);
    });
    const first = await run(newSpec(client.stream, cursors, consumer, { toHead: true })).catch(
      (e: unknown) => e,
    );
    assert.match(String(first), /boom/);
    assert.equal(await cursors.getCursor('remote'), '29');
    const second = await run(newSpec(client.stream, cursors, consumer, { toHead: true })).catch(
      (e: unknown) => e,
    );
    assert.ok(isHeadReachedErr(second));
    assert.deepEqual(
      seen,
      Array.from({ length: 50 }, (_, i) => String(i + 1)),
    );
  });
});

describe('grpc security', { timeout: 60_000 }, () => {
  let certs: TestCerts;
  before(() => {
    certs = makeCerts();
  });

  it('rejects calls without a valid bearer token before opening the source', async () => {
    const src = counting(fill(3).stream);
    await using server = await serveStream(src.stream, {
      authenticate: bearerTokenAuth(['s3cret']),
    });
    for (const token of [undefined, 'wrong']) {
      await using client = newReflexClient(server.address, token === undefined ? {} : { token });
      const s = await client.stream('');
      await assert.rejects(s.recv(), (e) => hasCode(e, ErrorCode.unauthenticated));
    }
    assert.equal(src.calls.length, 0);
    // Judged on its headers before its body: a malformed request without a token is
    // UNAUTHENTICATED (16), not INVALID_ARGUMENT (3).
    const oldCursorField = Buffer.from([0x08, 0x01]);
    assert.equal((await rawCall(server.address, {}, oldCursorField)).status, '16');
    await using ok = newReflexClient(server.address, { token: 's3cret' });
    assert.equal((await readToHead(ok.stream)).length, 3);
  });

  it('maps a permission refusal to PERMISSION_DENIED', async () => {
    await using server = await serveStream(fill(1).stream, {
      authenticate: () => {
        throw new ReflexError(ErrorCode.permissionDenied, 'not for you');
      },
    });
    await using client = newReflexClient(server.address);
    const s = await client.stream('');
    await assert.rejects(
      s.recv(),
      (e) => hasCode(e, ErrorCode.permissionDenied) && /not for you/.test(String(e)),
    );
  });

  it('serves over TLS with client certificates checked per call', async () => {
    const log = fill(20);
    const names: string[] = [];
    await using server = await serveStream(log.stream, {
      address: '127.0.0.1:0',
      tls: { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requireClientCert: true },
      authenticate: (call) => {
        names.push(String(call.peerCertificate?.subject?.CN));
        return call.peerCertificate?.subject?.CN === 'consumer-service';
      },
    });
    await using client = newReflexClient(server.address, {
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
    });
    assert.deepEqual(
      await readToHead(client.stream),
      (await readToHead(log.stream)).map(asReceived),
    );
    assert.deepEqual(names, ['consumer-service']);

    await using noCert = newReflexClient(server.address, { tls: { ca: certs.ca } });
    const s1 = await noCert.stream('');
    await assert.rejects(s1.recv(), (e) => hasCode(e, ErrorCode.unavailable));
    await using untrusting = newReflexClient(server.address, {
      tls: { ca: certs.otherCa, cert: certs.clientCert, key: certs.clientKey },
    });
    const s2 = await untrusting.stream('');
    await assert.rejects(s2.recv(), (e) => hasCode(e, ErrorCode.unavailable));
    await using plain = newReflexClient(server.address);
    const s3 = await plain.stream('');
    await assert.rejects(s3.recv(), (e) => e instanceof ReflexError);
    assert.deepEqual(names, ['consumer-service']);
  });

  it('validates options at construction', async () => {
    assert.throws(() => newReflexClient('nohost'), { code: ErrorCode.invalidArgument });
    assert.throws(() => newReflexClient('127.0.0.1:1', { bogus: 1 } as never), {
      code: ErrorCode.invalidArgument,
    });
    await assert.rejects(serveStream(fill(0).stream, { bogus: 1 } as never), {
      code: ErrorCode.invalidArgument,
    });
    await assert.rejects(serveStreams({ 'no-slash': fill(0).stream }), {
      code: ErrorCode.invalidArgument,
    });
    assert.throws(() => bearerTokenAuth([]), { code: ErrorCode.invalidArgument });
  });
});
