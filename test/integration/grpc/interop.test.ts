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
import protobuf from 'protobufjs';
import {
  ErrorCode,
  type Event,
  hasCode,
  isExpected,
  isHeadReachedErr,
  isStoppedErr,
} from '../../../src/core/index.js';
import { newReflexClient, serveStream } from '../../../src/grpc/index.js';
import { newMemoryEventLog } from '../../../src/testing/index.js';
import { asReceived } from '../../support/events.js';

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

// google.rpc.Status and jettison's messages (luno/jettison, grpc/internal/jettisonpb), encoded by
// protobufjs: an encoder independent of src/grpc/jettison.ts.
const jettison = protobuf.parse(
  `
  syntax = "proto3";
  package test;
  message Any { string type_url = 1; bytes value = 2; }
  message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
  message KeyValue { string key = 1; string value = 2; }
  message WrappedError {
    string message = 1; string binary = 5; repeated string stack_trace = 6; string code = 7;
    repeated KeyValue key_values = 8; repeated WrappedError joined_errors = 3; WrappedError wrapped_error = 4;
  }
  message Error { string code = 4; string message = 1; string source = 2; }
  message Hop { string binary = 1; repeated string stack_trace = 3; repeated Error errors = 2; }
`,
  { keepCase: true },
).root;
const PbStatus = jettison.lookupType('test.Status');
const PbWrapped = jettison.lookupType('test.WrappedError');
const PbHop = jettison.lookupType('test.Hop');
const goStopped = { code: 'ERR_09290f5944cb8671', message: 'the event stream has been stopped' };
const goHeadReached = {
  code: 'ERR_b4b155d2a91cfcd0',
  message: 'the event stream has reached the current head',
};

/** The jettison codes in a google.rpc.Status's WrappedError details. */
function wrappedCodes(details: Buffer): { status: number; codes: string[] } {
  const st = PbStatus.toObject(PbStatus.decode(details)) as {
    code?: number;
    details?: { type_url: string; value: Uint8Array }[];
  };
  const codes: string[] = [];
  for (const d of st.details ?? []) {
    assert.equal(d.type_url, 'type.googleapis.com/jettisonpb.WrappedError');
    codes.push((PbWrapped.toObject(PbWrapped.decode(d.value)) as { code: string }).code);
  }
  return { status: st.code ?? 0, codes };
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
      assert.deepEqual(got, withoutEmpty.map(asReceived));
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

  it('stop and head reached carry jettison details a Go client recognises; grpc-js clients still see plain statuses', async () => {
    const log = newMemoryEventLog();
    for (let i = 0; i < 3; i++) log.insert(`f${i}`, 1);
    const server = await serveStream(log.stream);
    const client = new Reflex(server.address, credentials.createInsecure()) as unknown as {
      Stream(request: object): ClientReadableStream<PbEvent>;
      close(): void;
    };
    try {
      const head = await new Promise<ServiceError>((resolve) => {
        const call = client.Stream({ after: '', options: { toHead: true } });
        call.on('data', () => {});
        call.on('error', resolve);
      });
      assert.equal(head.code, status.OUT_OF_RANGE);
      const headDetails = head.metadata.get('grpc-status-details-bin')[0] as Buffer;
      assert.deepEqual(wrappedCodes(headDetails), {
        status: status.OUT_OF_RANGE,
        codes: [goHeadReached.code],
      });
      const stopped = new Promise<ServiceError>((resolve) => {
        const call = client.Stream({ after: '' });
        call.on('data', () => {});
        call.on('error', resolve);
      });
      await waitForOpen(server);
      await server.stop();
      const err = await stopped;
      assert.equal(err.code, status.UNAVAILABLE);
      assert.equal(err.details, goStopped.message);
      assert.deepEqual(err.metadata.get('reflex-error-code'), [ErrorCode.stopped]);
      assert.deepEqual(wrappedCodes(err.metadata.get('grpc-status-details-bin')[0] as Buffer), {
        status: status.UNAVAILABLE,
        codes: [goStopped.code],
      });
    } finally {
      client.close();
      await server.stop();
    }
  });

  it('a Go server’s stop and head reached (jettison details, old hops, or only the message) are ERR_REFLEX_STOPPED / HEAD_REACHED here', async () => {
    const any = (type: string, value: Uint8Array) => ({
      type_url: `type.googleapis.com/jettisonpb.${type}`,
      value,
    });
    // As jettison's interceptor sends them: UNKNOWN, the latest message, the error chain in details.
    const wrapped = (e: { code: string; message: string }) =>
      PbWrapped.encode(
        PbWrapped.fromObject({ message: 'stream failed', wrapped_error: { ...e, binary: 'svc' } }),
      ).finish();
    const statusBin = (message: string, details: { type_url: string; value: Uint8Array }[]) =>
      Buffer.from(
        PbStatus.encode(PbStatus.fromObject({ code: status.UNKNOWN, message, details })).finish(),
      );
    const cases: { md?: Buffer; message: string; want: (e: unknown) => boolean }[] = [
      {
        md: statusBin(goStopped.message, [any('WrappedError', wrapped(goStopped))]),
        message: 'stream failed',
        want: (e) => isStoppedErr(e) && isExpected(e),
      },
      {
        md: statusBin(goHeadReached.message, [
          any(
            'Hop',
            PbHop.encode(PbHop.fromObject({ binary: 'svc', errors: [goHeadReached] })).finish(),
          ),
        ]),
        message: 'x',
        want: (e) => isHeadReachedErr(e) && !isExpected(e),
      },
      { message: goStopped.message, want: (e) => isStoppedErr(e) && isExpected(e) },
      { message: goHeadReached.message, want: (e) => isHeadReachedErr(e) },
      { message: 'something else', want: (e) => hasCode(e, 'ERR_REFLEX_REMOTE') },
    ];
    let current = cases[0];
    const server = new Server();
    server.addService(Reflex.service, {
      Stream: (call: ServerWritableStream<unknown, PbEvent>) => {
        const md = new Metadata();
        if (current?.md !== undefined) md.set('grpc-status-details-bin', current.md);
        call.emit('error', { code: status.UNKNOWN, details: current?.message, metadata: md });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
        e === null ? resolve(p) : reject(e),
      ),
    );
    try {
      await using client = newReflexClient(`127.0.0.1:${port}`);
      for (const c of cases) {
        current = c;
        const s = await client.stream('');
        const err = await s.recv().then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(c.want(err), `${c.message}: ${String(err)}`);
      }
    } finally {
      server.forceShutdown();
    }
  });
});

async function waitForOpen(server: { openStreams: number }): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (server.openStreams === 0) {
    if (Date.now() > deadline) throw new Error('no call opened');
    await new Promise((r) => setTimeout(r, 5));
  }
}
