// The peer: NATS JetStream on 127.0.0.1:4222 (file storage, as the server is configured), through
// the `nats` npm package. Measured with the same event count and shapes as reflex-events: publish
// with each ack awaited (1 and 8 publishers, the analogue of one-event transactions), a pipelined
// bulk publish (the analogue of seeding), a durable pull consumer reading everything (the
// analogue of catch-up; explicit ack of every message), and publish → consume head latency.
import { setTimeout as delay } from 'node:timers/promises';
import {
  AckPolicy,
  connect,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  StorageType,
} from 'nats';
import { rateOf, timed, wallMs } from '../measure.js';

export interface NatsResults {
  readonly version: string;
  readonly publish1PerS: number;
  readonly publish8PerS: number;
  readonly bulkPublishPerS: number;
  readonly consumePerS: number;
  readonly consumed: number;
  readonly latencyMs: readonly number[];
}

export interface NatsOptions {
  readonly url: string;
  readonly events: number;
  readonly publishMs: number;
  readonly latencyCount: number;
  readonly latencyIntervalMs: number;
  readonly log: (msg: string) => void;
}

const payload = new TextEncoder().encode(JSON.stringify({ foreignId: '1234567', type: 1 }));

/** Thrown when the server does not answer: its rows are then shown as skipped. */
export class NatsUnreachableError extends Error {}

/** Runs every NATS measurement on fresh streams, deleting them after; throws when unreachable. */
export async function runNats(o: NatsOptions): Promise<NatsResults> {
  const u = new URL(o.url);
  const nc = await connect({ servers: `${u.hostname}:${u.port || '4222'}`, timeout: 3000 }).catch(
    (err: unknown) => {
      throw new NatsUnreachableError(`${o.url} unreachable: ${String(err)}`);
    },
  );
  const names: string[] = [];
  try {
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    const fresh = async (suffix: string): Promise<string> => {
      const name = `reflex_bench_${process.pid}_${suffix}`;
      await jsm.streams.add({ name, subjects: [`${name}.>`], storage: StorageType.File });
      names.push(name);
      return name;
    };

    o.log('nats: publish, each ack awaited');
    const p = await fresh('pub');
    const publish1PerS = await rateOf(
      async () => void (await js.publish(`${p}.ev`, payload)),
      1,
      o.publishMs,
    );
    const publish8PerS = await rateOf(
      async () => void (await js.publish(`${p}.ev`, payload)),
      8,
      o.publishMs,
    );

    o.log(`nats: bulk publish of ${o.events} messages`);
    const c = await fresh('catchup');
    const bulk = await timed(() => bulkPublish(js, `${c}.ev`, o.events));
    const bulkPublishPerS = (o.events / bulk.ms) * 1000;

    o.log('nats: durable pull consume');
    const consumed = await timed(() => pullAll(jsm, js, c, o.events));
    const consumePerS = (consumed.result / consumed.ms) * 1000;

    o.log('nats: head latency');
    const l = await fresh('latency');
    const latencyMs = await headLatency(nc, jsm, js, l, o.latencyCount, o.latencyIntervalMs);

    return {
      version: nc.info?.version ?? 'unknown',
      publish1PerS,
      publish8PerS,
      bulkPublishPerS,
      consumePerS,
      consumed: consumed.result,
      latencyMs,
    };
  } finally {
    try {
      const jsm = await nc.jetstreamManager();
      for (const name of names) await jsm.streams.delete(name).catch(() => false);
    } finally {
      await nc.close();
    }
  }
}

async function bulkPublish(js: JetStreamClient, subject: string, n: number): Promise<void> {
  const window = 2000;
  let pending: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    pending.push(js.publish(subject, payload));
    if (pending.length >= window) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
}

async function pullAll(
  jsm: JetStreamManager,
  js: JetStreamClient,
  stream: string,
  n: number,
): Promise<number> {
  await jsm.consumers.add(stream, {
    durable_name: 'bench',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
  });
  const consumer = await js.consumers.get(stream, 'bench');
  const messages = await consumer.consume({ max_messages: 1000 });
  let count = 0;
  for await (const m of messages) {
    m.ack();
    if (++count >= n) break; // leaving the loop stops the consumer
  }
  return count;
}

async function headLatency(
  nc: NatsConnection,
  jsm: JetStreamManager,
  js: JetStreamClient,
  stream: string,
  count: number,
  intervalMs: number,
): Promise<number[]> {
  await jsm.consumers.add(stream, {
    durable_name: 'head',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
  });
  const consumer = await js.consumers.get(stream, 'head');
  const messages = await consumer.consume({ max_messages: 100 });
  const sent = new Map<number, number>();
  const latencies: number[] = [];
  const reader = (async () => {
    for await (const m of messages) {
      const at = wallMs();
      const i = Number(new TextDecoder().decode(m.data));
      const t = sent.get(i);
      if (t !== undefined) latencies.push(at - t);
      m.ack();
      if (latencies.length >= count) break;
    }
  })();
  for (let i = 0; i < count; i++) {
    sent.set(i, wallMs());
    await js.publish(`${stream}.ev`, new TextEncoder().encode(String(i)));
    await delay(intervalMs);
  }
  const timer = new AbortController();
  const deadline = delay(5000, 'timeout', { signal: timer.signal }).catch(() => 'cancelled');
  const done = await Promise.race([reader.then(() => 'ok'), deadline]);
  timer.abort();
  if (done !== 'ok') await messages.close();
  await reader;
  await nc.flush();
  return latencies;
}
