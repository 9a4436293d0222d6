// JetStream administration for the bridge's tests, through the `nats` package directly: streams
// with unique names (deleted after), and the raw messages of a stream.
import {
  connect,
  DeliverPolicy,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  StorageType,
} from 'nats';

export interface RawMessage {
  readonly seq: number;
  readonly subject: string;
  readonly headers: Record<string, string>;
  readonly data: Uint8Array;
}

/** An admin connection that creates streams and deletes every one it created in `close()`. */
export class JetStreamAdmin {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly #streams: string[] = [];

  private constructor(nc: NatsConnection, jsm: JetStreamManager) {
    this.nc = nc;
    this.jsm = jsm;
  }

  static async connect(servers: string): Promise<JetStreamAdmin> {
    const nc = await connect({
      servers: servers.split(','),
      timeout: 5000,
      maxReconnectAttempts: -1,
    });
    // No API check here: a new cluster answers only once it has a meta leader, which
    // createStream waits for.
    try {
      return new JetStreamAdmin(nc, await nc.jetstreamManager({ timeout: 5000, checkAPI: false }));
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  /** Creates a stream capturing `<name>.>` (retried until the cluster has a meta leader, ≤ 30 s). */
  async createStream(name: string, replicas = 1, duplicateWindowMs?: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await this.jsm.streams.add({
          name,
          subjects: [`${name}.>`],
          num_replicas: replicas,
          storage: StorageType.File,
          ...(duplicateWindowMs === undefined
            ? {}
            : { duplicate_window: duplicateWindowMs * 1_000_000 }),
        });
        this.#streams.push(name);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Every message of the stream, in sequence order (an ordered consumer, read to the last). */
  async messages(stream: string): Promise<RawMessage[]> {
    const info = await this.jsm.streams.info(stream);
    const last = info.state.last_seq;
    const out: RawMessage[] = [];
    if (info.state.messages === 0) return out;
    const js = this.nc.jetstream();
    const consumer = await js.consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: 1,
    });
    const messages = await consumer.consume({ max_messages: 512 });
    try {
      for await (const m of messages as AsyncIterable<JsMsg>) {
        const headers: Record<string, string> = {};
        for (const [k, v] of m.headers ?? []) headers[k] = v.join(',');
        out.push({ seq: m.seq, subject: m.subject, headers, data: m.data });
        if (m.seq >= last) break;
      }
    } finally {
      await messages.close();
      await consumer.delete().catch(() => {});
    }
    return out;
  }

  /** Deletes the streams it created and closes the connection. */
  async close(): Promise<void> {
    for (const s of this.#streams) await this.jsm.streams.delete(s).catch(() => {});
    await this.nc.close();
  }
}
