// Wire compatibility with another gRPC implementation: @grpc/grpc-js with protobufjs code loaded from
// src/grpc/reflex.proto stands in for a Go reflex service (same proto, same HTTP/2 framing rules).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type ClientReadableStream,
  credentials,
  loadPackageDefinition,
  Metadata,
  Server,
  ServerCredentials,
  type ServerWritableStream,
  type ServiceClientConstructor,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ErrorCode, type Event, hasCode, isHeadReachedErr } from '../../../src/core/index.js';
import { newReflexClient, serveStream } from '../../../src/grpc/index.js';
import { newMemoryEventLog } from '../../../src/testing/index.js';

const protoPath = fileURLToPath(new URL('../../../../src/grpc/reflex.proto', import.meta.url));
const pkg = loadPackageDefinition(
  loadSync(protoPath, { keepCase: true, longs: Number, defaults: false }),
) as unknown as { reflexpb: { Reflex: ServiceClientConstructor } };
const Reflex = pkg.reflexpb.Reflex;

interface PbEvent {
  type?: number;
  timestamp?: { seconds?: number; nanos?: number };
  foreign_id?: string;
  id?: string;
  metadata?: Buffer;
}

function toPb(e: Event): PbEvent {
  const ms = e.timestamp.getTime();
  const seconds = Math.floor(ms / 1000);
  return {
    type: e.type,
    timestamp: { seconds, nanos: (ms - seconds * 1000) * 1e6 },
    foreign_id: e.foreignId,
    id: e.id,
    ...(e.metadata === undefined ? {} : { metadata: Buffer.from(e.metadata) }),
  };
}

describe('grpc interop with @grpc/grpc-js', { timeout: 60_000 }, () => {
  it('a grpc-js client consumes a reflex-events server, codes in the trailers', async () => {
    const log = newMemoryEventLog();
    for (let i = 0; i < 300; i++) {
      log.insert(`f${i}`, i % 5, i % 3 === 0 ? { metadata: new Uint8Array([i & 0xff, 1, 2]) } : {});
    }
    await using server = await serveStream(log.stream);
    const client = new Reflex(server.address, credentials.createInsecure()) as unknown as {
      Stream(request: object): ClientReadableStream<PbEvent>;
      close(): void;
    };
    try {
      const received: PbEvent[] = [];
      const err = await new Promise<ServiceError>((resolve) => {
        const call = client.Stream({ after: '', options: { toHead: true } });
        call.on('data', (e: PbEvent) => received.push(e));
        call.on('error', resolve);
      });
      assert.deepEqual(
        received.map((e) => ({ ...e, type: e.type ?? 0 })),
        log.events.map((e) => toPb(e)),
      );
      assert.equal(err.code, status.OUT_OF_RANGE);
      assert.deepEqual(err.metadata.get('reflex-error-code'), [ErrorCode.headReached]);

      const bad = await new Promise<ServiceError>((resolve) => {
        const call = client.Stream({ after: 'nope' });
        call.on('data', () => {});
        call.on('error', resolve);
      });
      assert.equal(bad.code, status.INVALID_ARGUMENT);
      assert.deepEqual(bad.metadata.get('reflex-error-code'), [ErrorCode.invalidCursor]);

      const lagged = await new Promise<PbEvent[]>((resolve, reject) => {
        const got: PbEvent[] = [];
        const call = client.Stream({ after: '298', options: { toHead: true, lag: { nanos: 1 } } });
        call.on('data', (e: PbEvent) => got.push(e));
        call.on('error', (e: ServiceError) =>
          e.code === status.OUT_OF_RANGE ? resolve(got) : reject(e),
        );
      });
      assert.deepEqual(
        lagged.map((e) => e.id),
        ['299', '300'],
      );
    } finally {
      client.close();
    }
  });

  it('a reflex-events client consumes a grpc-js server of reflexpb.Reflex', async () => {
    const log = newMemoryEventLog();
    for (let i = 0; i < 500; i++) log.insert(`f${i}`, 1 + (i % 3), { metadata: new Uint8Array(i) });
    const requests: unknown[] = [];
    const server = new Server();
    server.addService(Reflex.service, {
      Stream: (call: ServerWritableStream<{ after?: string; options?: unknown }, PbEvent>) => {
        requests.push(call.request);
        const start = Number(call.request.after ?? '0');
        for (const e of log.events.slice(start)) call.write(toPb(e));
        const md = new Metadata();
        md.set('reflex-error-code', ErrorCode.headReached);
        call.emit('error', { code: status.OUT_OF_RANGE, details: 'head reached', metadata: md });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
        e === null ? resolve(p) : reject(e),
      ),
    );
    try {
      await using client = newReflexClient(`127.0.0.1:${port}`);
      const s = await client.stream('100', { toHead: true, lag: 2500 });
      const got: Event[] = [];
      const err = await (async () => {
        for (;;) got.push(await s.recv());
      })().catch((e: unknown) => e);
      assert.ok(isHeadReachedErr(err), String(err));
      const withoutEmpty = log.events.slice(100).map((e) => {
        const { metadata, ...rest } = e;
        return metadata?.length === 0 ? rest : e;
      });
      assert.deepEqual(got, withoutEmpty);
      assert.deepEqual(requests, [
        { after: '100', options: { lag: { seconds: 2, nanos: 500_000_000 }, toHead: true } },
      ]);
      // A status without a reflex code maps from the gRPC code.
      server.removeService(Reflex.service);
      server.addService(Reflex.service, {
        Stream: (call: ServerWritableStream<unknown, PbEvent>) => {
          call.emit('error', { code: status.UNAVAILABLE, details: 'going away' });
        },
      });
      const s2 = await client.stream('');
      await assert.rejects(
        s2.recv(),
        (e) => hasCode(e, ErrorCode.unavailable) && /going away/.test(String(e)),
      );
    } finally {
      server.forceShutdown();
    }
  });
});
