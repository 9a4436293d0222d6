// Keepalive: a connection that silently stops carrying bytes (a black-holed route: no RST, no FIN)
// fails its calls with ERR_REFLEX_UNAVAILABLE within keepaliveMs + keepaliveTimeoutMs, and
// runForever then restarts the stream on a new connection: every event arrives, in order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ErrorCode,
  type Event,
  hasCode,
  isExpected,
  newConsumer,
  newSpec,
  ReflexError,
} from '../../../src/core/index.js';
import { newReflexClient, serveStream } from '../../../src/grpc/index.js';
import { runForever } from '../../../src/rpatterns/index.js';
import { MemCursorStore, newMemoryEventLog } from '../../../src/testing/index.js';
import { RawH2 } from '../../support/raw-h2.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';
import { waitFor } from '../../support/wait.js';

describe('grpc keepalive', { timeout: 60_000 }, () => {
  it('a black-holed connection fails its stream with ERR_REFLEX_UNAVAILABLE within keepalive + timeout', async () => {
    const log = newMemoryEventLog();
    for (let i = 0; i < 10; i++) log.insert(`f${i}`, 1);
    await using server = await serveStream(log.stream, { shutdownGraceMs: 100 });
    const proxy = await startTcpProxy(server.port);
    try {
      await using client = newReflexClient(`127.0.0.1:${proxy.port}`, {
        keepaliveMs: 1000,
        keepaliveTimeoutMs: 500,
      });
      const s = await client.stream('');
      for (let i = 0; i < 10; i++) await s.recv();
      proxy.blackHole();
      const started = Date.now();
      log.insert('lost', 1);
      // Bounded: without keepalive this recv waits forever.
      let timer: NodeJS.Timeout | undefined;
      const err = await Promise.race([
        s.recv().then(
          () => new Error('an event came through the black hole'),
          (e: unknown) => e,
        ),
        new Promise((resolve) => {
          timer = setTimeout(() => resolve(new Error('still waiting')), 15_000);
        }),
      ]);
      clearTimeout(timer);
      assert.ok(err instanceof ReflexError, String(err));
      assert.equal(err.code, ErrorCode.unavailable, String(err));
      assert.ok(!isExpected(err));
      assert.match(err.message, /keepalive/);
      // keepalive 1 s + timeout 0.5 s, plus the interval's phase: at most ~2.5 s, not forever.
      assert.ok(Date.now() - started < 10_000, `${Date.now() - started} ms`);
      await s.close();
    } finally {
      await proxy.close();
    }
  });

  it('runForever restarts a black-holed stream: every event arrives, in order', async () => {
    const log = newMemoryEventLog();
    for (let i = 0; i < 20; i++) log.insert(`a${i}`, 1);
    await using server = await serveStream(log.stream, { shutdownGraceMs: 100 });
    const proxy = await startTcpProxy(server.port);
    const controller = new AbortController();
    const got: string[] = [];
    const errors: unknown[] = [];
    try {
      await using client = newReflexClient(`127.0.0.1:${proxy.port}`, {
        keepaliveMs: 1000,
        keepaliveTimeoutMs: 500,
      });
      const spec = newSpec(
        client.stream,
        new MemCursorStore(),
        newConsumer('c', (e: Event) => {
          got.push(e.id);
        }),
      );
      const running = runForever(spec, {
        signal: controller.signal,
        transientBackoffMs: 10,
        transientBackoffMaxMs: 50,
        logger: {
          debug() {},
          info() {},
          warn: (_m, f) => errors.push(f?.error ?? f),
          error: (_m, f) => errors.push(f?.error ?? f),
        },
      });
      await waitFor('the first 20 events', () => got.length >= 20);
      proxy.blackHole();
      for (let i = 0; i < 20; i++) log.insert(`b${i}`, 1);
      await waitFor('all 40 events after the restart', () => new Set(got).size >= 40, 30_000);
      controller.abort();
      await running;
      assert.ok(proxy.connections >= 2, 'a new connection was made');
      assert.ok(
        errors.some((e) => hasCode(e, ErrorCode.unavailable)),
        `runForever saw: ${errors.map(String).join('; ')}`,
      );
      // At least once, in order: first deliveries follow the log exactly.
      assert.deepEqual(
        [...new Set(got)],
        log.events.map((e) => e.id),
      );
    } finally {
      controller.abort();
      await proxy.close();
    }
  });

  it('an idle client connection is closed after idleTimeoutMs; the next stream opens a new one', async () => {
    const log = newMemoryEventLog();
    for (let i = 0; i < 3; i++) log.insert(`f${i}`, 1);
    await using server = await serveStream(log.stream);
    const proxy = await startTcpProxy(server.port);
    try {
      await using client = newReflexClient(`127.0.0.1:${proxy.port}`, { idleTimeoutMs: 200 });
      const read = async (): Promise<number> => {
        const s = await client.stream('', { toHead: true });
        let n = 0;
        try {
          for (;;) {
            await s.recv();
            n++;
          }
        } catch {
          await s.close();
        }
        return n;
      };
      assert.equal(await read(), 3);
      await waitFor('the idle connection closed', () => proxy.open === 0, 10_000);
      assert.equal(await read(), 3);
      assert.equal(proxy.connections, 2);
    } finally {
      await proxy.close();
    }
  });

  it('the server closes a connection whose client stops answering its pings', async () => {
    const log = newMemoryEventLog();
    await using server = await serveStream(log.stream, {
      keepaliveMs: 1000,
      keepaliveTimeoutMs: 500,
    });
    const raw = await RawH2.connect(server.port, { ackPings: false });
    try {
      const c = raw.callBytes('/reflexpb.Reflex/Stream', { toHead: false });
      raw.write(c.bytes);
      await waitFor('the call streaming', () => server.openStreams === 1, 10_000);
      await waitFor('the connection closed by the server', () => raw.closed, 10_000);
      await waitFor('the call over', () => server.openStreams === 0, 10_000);
    } finally {
      raw.destroy();
    }
  });
});
