import type * as Nats from 'nats';
import {
  type Clock,
  ErrorCode,
  type Event,
  ReflexError,
  type StreamCallOptions,
  type StreamFunc,
} from '../core/index.js';
import { parseIntCursor } from '../core/internal.js';
import { abortable } from '../internal/abort.js';
import { invalidArgument } from '../internal/errors.js';
import { BaseStreamClient } from '../internal/stream-client.js';
import { validateStreamCall } from '../internal/stream-options.js';
import type { Connection } from './connection.js';
import { natsError } from './errors.js';
import { decodeEvent } from './headers.js';
import type { JetStreamSourceOptions } from './source-options.js';

export interface SourceSettings {
  readonly stream: string;
  readonly filterSubject: string | undefined;
  readonly bufferSize: number;
  readonly clock: Clock;
}

/** Builds the StreamFunc of {@link JetStreamClient.source}. */
export function sourceFunc(conn: Connection, s: SourceSettings): StreamFunc {
  return async (after: string, options?: StreamCallOptions) => {
    const opts = validateStreamCall(after, options);
    const cursor = parseIntCursor(after);
    if (cursor > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ReflexError(
        ErrorCode.invalidCursor,
        `invalid cursor ${JSON.stringify(after)}: a JetStream sequence is at most 2^53−1`,
      );
    }
    const client = new JetStreamStreamClient(conn, s, Number(cursor), opts);
    try {
      await abortable(client.open(), opts.signal);
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  };
}

class JetStreamStreamClient extends BaseStreamClient {
  readonly #conn: Connection;
  readonly #s: SourceSettings;
  readonly #after: number;
  readonly #lagMs: number;
  readonly #toHead: boolean;
  readonly #fromHead: boolean;
  /** With toHead: the stream's last sequence when the stream opened. */
  #head = 0;
  #headReached = false;
  #consumer: Nats.Consumer | undefined;
  #messages: Nats.ConsumerMessages | undefined;
  #iterator: AsyncIterator<Nats.JsMsg> | undefined;
  #lost: Promise<never> | undefined;

  constructor(conn: Connection, s: SourceSettings, after: number, opts: StreamCallOptions) {
    super(opts.signal);
    this.#conn = conn;
    this.#s = s;
    this.#after = after;
    this.#lagMs = opts.lag ?? 0;
    this.#toHead = opts.toHead === true;
    this.#fromHead = opts.fromHead === true;
  }

  /** Reads the stream's state and starts an ordered consumer after the cursor (or the head). */
  async open(): Promise<void> {
    const h = await this.#conn.get();
    this.#lost = this.#conn.lost(h);
    const name = this.#s.stream;
    let info: Nats.StreamInfo;
    try {
      info = await h.jsm.streams.info(name);
    } catch (err) {
      throw natsError(err, `JetStream stream ${name}`, ErrorCode.recv);
    }
    const last = info.state.last_seq;
    this.#head = last;
    const start = this.#fromHead ? last + 1 : this.#after + 1;
    if (this.#toHead && (start > last || info.state.messages === 0)) {
      this.#headReached = true;
      return;
    }
    if (this.signal.aborted) return;
    const config: Partial<Nats.OrderedConsumerOptions> = {
      deliver_policy: h.nats.DeliverPolicy.StartSequence,
      opt_start_seq: start,
    };
    if (this.#s.filterSubject !== undefined) config.filterSubjects = this.#s.filterSubject;
    try {
      this.#consumer = await h.js.consumers.get(name, config);
      this.#messages = await this.#consumer.consume({ max_messages: this.#s.bufferSize });
    } catch (err) {
      throw natsError(err, `JetStream stream ${name}`, ErrorCode.recv);
    }
    this.#iterator = this.#messages[Symbol.asyncIterator]();
  }

  protected async pull(signal: AbortSignal): Promise<Event> {
    const name = this.#s.stream;
    if (this.#headReached || this.#iterator === undefined) {
      throw new ReflexError(
        ErrorCode.headReached,
        `JetStream stream ${name}: head reached at sequence ${this.#head}`,
      );
    }
    let r: IteratorResult<Nats.JsMsg>;
    try {
      // The iterator does not end when the connection closes for good: the closing ends the wait.
      const next = this.#iterator.next();
      r = await (this.#lost === undefined ? next : Promise.race([next, this.#lost]));
    } catch (err) {
      throw natsError(err, `JetStream stream ${name}`, ErrorCode.unavailable);
    }
    if (r.done === true) {
      signal.throwIfAborted();
      // The iterator ends when the connection closed under it (the client gave up reconnecting).
      throw new ReflexError(
        ErrorCode.unavailable,
        `JetStream stream ${name}: the connection was lost`,
      );
    }
    const m = r.value;
    if (this.#toHead) {
      if (m.seq > this.#head) {
        this.#headReached = true;
        return this.pull(signal);
      }
      // The head's own message may be filtered out or deleted: no pending message ends it too.
      if (m.seq >= this.#head || m.info.pending === 0) this.#headReached = true;
    }
    const event = decodeEvent(name, m);
    if (this.#lagMs > 0) {
      const wait = event.timestamp.getTime() + this.#lagMs - this.#s.clock.now();
      if (wait > 0) await this.#s.clock.sleep(wait, signal);
    }
    return event;
  }

  protected override async release(): Promise<void> {
    const messages = this.#messages;
    const consumer = this.#consumer;
    this.#messages = undefined;
    this.#consumer = undefined;
    this.#iterator = undefined;
    if (messages !== undefined) await messages.close().catch(() => {});
    // An ordered consumer is ephemeral; deleting it frees the server at once rather than after
    // its inactivity threshold.
    if (consumer !== undefined && !(await this.#conn.isLost())) {
      await consumer.delete().catch(() => {});
    }
  }
}

/** Checks a source's options. */
export function sourceSettings(
  stream: string,
  options: JetStreamSourceOptions,
  check: (filter: unknown) => string,
  clock: Clock,
): SourceSettings {
  const bufferSize = options.bufferSize ?? 256;
  if (!Number.isSafeInteger(bufferSize) || bufferSize < 1) {
    throw invalidArgument(`JetStream source bufferSize must be an integer ≥ 1, got ${bufferSize}`);
  }
  return Object.freeze({
    stream,
    filterSubject: options.filterSubject === undefined ? undefined : check(options.filterSubject),
    bufferSize,
    clock: options.clock ?? clock,
  });
}
