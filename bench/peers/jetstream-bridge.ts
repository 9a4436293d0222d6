// The JetStream bridge (reflex-events/nats) on the machine's NATS server, each figure beside its
// baseline in the same run: (1) the relay publishing a reflex stream into JetStream vs JetStream's
// own pipelined bulk publish of the same messages (subject, headers, message ids, payload);
// (2) 100 consumers reading a stream to its head through JetStream (the source, one ordered
// consumer each) vs through our gRPC server (the same events from memory, one client connection).
import { performance } from 'node:perf_hooks';
import { connect, headers as natsHeaders, StorageType } from 'nats';
import {
  type Event,
  isHeadReachedErr,
  newConsumer,
  newSpec,
  run,
  type StreamFunc,
} from '../../src/core/index.js';
import { newReflexClient, serveStream } from '../../src/grpc/index.js';
import { newJetStreamClient, newJetStreamRelaySpec, relayHeaders } from '../../src/nats/index.js';
import { MemCursorStore, newMemoryEventLog } from '../../src/testing/index.js';

export interface BridgeResults {
  readonly relayed: number;
  readonly relayPerS: number;
  readonly bulkPerS: number;
  readonly consumers: number;
  readonly perConsumer: number;
  readonly jetStreamReadPerS: number;
  readonly grpcReadPerS: number;
}

export interface BridgeOptions {
  readonly url: string;
  readonly events: number;
  readonly log: (msg: string) => void;
}

/** The relay's window (and its refill at half), used for the bulk publish too. */
const window = 256;
const consumers = 100;
const payload = new TextEncoder().encode(JSON.stringify({ foreignId: '1234567', type: 1 }));

function filledLog(n: number): ReturnType<typeof newMemoryEventLog> {
  const log = newMemoryEventLog();
  for (let i = 0; i < n; i++) log.insert(String(1_000_000 + i), 1 + (i % 5), { metadata: payload });
  return log;
}

/** Runs both comparisons on fresh streams (deleted after). Throws when NATS is unreachable. */
export async function runBridge(o: BridgeOptions): Promise<BridgeResults> {
  const u = new URL(o.url);
  const servers = `${u.hostname}:${u.port || '4222'}`;
  const nc = await connect({ servers, timeout: 3000 });
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const client = newJetStreamClient({ servers: o.url });
  const names: string[] = [];
  const fresh = async (suffix: string): Promise<string> => {
    const name = `REFLEX_BRIDGE_${process.pid}_${suffix}`;
    await jsm.streams.add({ name, subjects: [`${name}.>`], storage: StorageType.File });
    names.push(name);
    return name;
  };
  try {
    const n = Math.min(o.events, 200_000);
    const log = filledLog(n);

    // The same messages as the relay sends, published by JetStream's client directly, with the
    // relay's windowing: up to `window` in flight, a full window refilled once half is acked.
    const bulk = async (stream: string): Promise<number> => {
      const t0 = performance.now();
      let inFlight = 0;
      let failure: unknown;
      let wake: (() => void) | undefined;
      const settle = (): void => {
        inFlight--;
        if (wake !== undefined && (inFlight <= window / 2 || failure !== undefined)) {
          const w = wake;
          wake = undefined;
          w();
        }
      };
      for (const e of log.events) {
        if (inFlight >= window) {
          await new Promise<void>((res) => {
            wake = res;
          });
        }
        if (failure !== undefined) throw failure;
        const h = natsHeaders();
        h.set(relayHeaders.id, e.id);
        h.set(relayHeaders.foreignId, e.foreignId);
        h.set(relayHeaders.type, String(e.type));
        h.set(relayHeaders.timestamp, e.timestamp.toISOString());
        inFlight++;
        js.publish(`${stream}.${e.type}`, e.metadata, {
          msgID: `bulk:${e.id}`,
          headers: h,
          expect: { streamName: stream },
        }).then(settle, (err: unknown) => {
          failure ??= err;
          settle();
        });
      }
      while (inFlight > 0) {
        await new Promise<void>((res) => {
          wake = res;
        });
        if (failure !== undefined) throw failure;
      }
      return (n / (performance.now() - t0)) * 1000;
    };
    const relay = async (stream: string, from = log): Promise<number> => {
      const store = new MemCursorStore();
      const r = client.relay(store, { name: 'bench', stream, maxInFlight: window });
      const last = from.head();
      const count = from.events.length;
      const ac = new AbortController();
      const t0 = performance.now();
      const done = run(newJetStreamRelaySpec(from.stream, r), { signal: ac.signal }).catch(
        (err: unknown) => err,
      );
      // The relay writes its cursor once the acknowledgements up to it are in.
      while ((await store.getCursor('bench')) !== last) {
        const early = await Promise.race([done, new Promise((res) => setTimeout(res, 1, 'wait'))]);
        if (early !== 'wait') throw early;
      }
      const perS = (count / (performance.now() - t0)) * 1000;
      ac.abort();
      await done;
      await r.stop();
      return perS;
    };

    o.log(`jetstream bridge: relay vs bulk publish of ${n} events (alternating, best of 2)`);
    const bulkRates: number[] = [];
    const relayRates: number[] = [];
    for (let round = 0; round < 2; round++) {
      bulkRates.push(await bulk(await fresh(`bulk${round}`)));
      relayRates.push(await relay(await fresh(`relay${round}`)));
    }

    // 100 consumers, each from the start to the head, through JetStream and through gRPC.
    const perConsumer = Math.max(100, Math.min(Math.floor(o.events / 10), 10_000));
    o.log(`jetstream bridge: ${consumers} consumers × ${perConsumer} events, JetStream vs gRPC`);
    const read = filledLog(perConsumer);
    const source = await fresh('read');
    await relay(source, read);
    const readAll = async (stream: StreamFunc): Promise<number> => {
      const t0 = performance.now();
      let total = 0;
      await Promise.all(
        Array.from({ length: consumers }, async (_, i) => {
          let count = 0;
          const ac = new AbortController();
          const c = newConsumer(`reader-${i}`, (_e: Event) => {
            count++;
            if (count >= perConsumer) ac.abort();
          });
          await run(newSpec(stream, new MemCursorStore(), c), { signal: ac.signal }).catch(
            (err: unknown) => {
              if (!ac.signal.aborted && !isHeadReachedErr(err)) throw err;
            },
          );
          total += count;
        }),
      );
      return (total / (performance.now() - t0)) * 1000;
    };
    const server = await serveStream(read.stream);
    const grpc = newReflexClient(server.address);
    let jetStreamReadPerS: number;
    let grpcReadPerS: number;
    try {
      grpcReadPerS = await readAll(grpc.stream);
      jetStreamReadPerS = await readAll(client.source(source));
    } finally {
      await grpc.close();
      await server.stop();
    }
    return {
      relayed: n,
      relayPerS: Math.max(...relayRates),
      bulkPerS: Math.max(...bulkRates),
      consumers,
      perConsumer,
      jetStreamReadPerS,
      grpcReadPerS,
    };
  } finally {
    await client.close();
    for (const name of names) await jsm.streams.delete(name).catch(() => false);
    await nc.close();
  }
}
