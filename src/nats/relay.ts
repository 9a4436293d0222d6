// The relay's engine: publishes in flight, acknowledgements taken in order, the cursor written
// behind them. Its public face is in relay-options.ts and relay-spec.ts.
import type * as Nats from 'nats';
import { type CursorStore, ErrorCode, type Event, ReflexError } from '../core/index.js';
import { Waker } from '../internal/abort.js';
import { checkCursorStore } from '../internal/cursor-store-check.js';
import { wrapError } from '../internal/errors.js';
import { settled } from '../internal/settled.js';
import { RpatternsErrorCode } from '../rpatterns/index.js';
import type { Connection, Handles } from './connection.js';
import { NatsErrorCode, natsError } from './errors.js';
import { headerValues } from './headers.js';
import type { JetStreamRelay, RelaySettings } from './relay-options.js';
import { registerRelay } from './relay-spec.js';
import { isPublishSubject, subjectMatches } from './subjects.js';

interface Round {
  readonly h: Handles;
  readonly subjects: readonly string[];
  failure: ReflexError | undefined;
  readonly failed: Promise<never>;
  readonly fail: (err: ReflexError) => void;
  /** The publishes awaiting their acknowledgement, in publish order, from `head` on. */
  readonly queue: InFlight[];
  head: number;
  /** Ordered mode, after a (re)start: publish one at a time until JetStream stores a new one. */
  probing: boolean;
  /** Ordered mode: the stream sequence the next publish expects as the stream's last. */
  nextLast: number;
  /** A full window refills only once this few are left in flight (see `consume`). */
  refillAt: number;
  acked: string | undefined;
  written: string | undefined;
  writing: Promise<void> | undefined;
}

/** One publish: its outcome is recorded when it settles, and taken in publish order. */
interface InFlight {
  readonly event: Event;
  readonly subject: string;
  settled: boolean;
  ack: Nats.PubAck | undefined;
  error: unknown;
}

const empty = new Uint8Array(0);

function inFlight(round: Round): number {
  return round.queue.length - round.head;
}

export class Relay implements JetStreamRelay {
  readonly name: string;
  readonly cursorStore: CursorStore;
  readonly #conn: Connection;
  readonly #s: RelaySettings;
  readonly #slots = new Waker();
  /** Subjects already checked against the stream's subjects. */
  readonly #captured = new Set<string>();
  #round: Round | undefined;
  #writeToken: object | undefined;

  constructor(conn: Connection, store: CursorStore, s: RelaySettings) {
    checkCursorStore(store, 'JetStream relay cursor store');
    this.name = s.name;
    this.cursorStore = store;
    this.#conn = conn;
    this.#s = s;
    registerRelay(this, () => this.#round?.failed);
  }

  async reset(signal: AbortSignal): Promise<void> {
    await this.stop();
    signal.throwIfAborted();
    const h = await this.#conn.get();
    let info: Nats.StreamInfo;
    try {
      info = await h.jsm.streams.info(this.#s.stream);
    } catch (err) {
      throw natsError(err, `JetStream stream ${this.#s.stream}`, NatsErrorCode.publish);
    }
    this.#captured.clear();
    let fail: (err: ReflexError) => void = () => {};
    const failed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    failed.catch(() => {});
    const round: Round = {
      h,
      subjects: info.config.subjects ?? [],
      failure: undefined,
      failed,
      fail: (err) => {
        if (round.failure !== undefined) return;
        round.failure = err;
        fail(err);
        this.#slots.wake();
      },
      queue: [],
      head: 0,
      probing: this.#s.ordered,
      nextLast: 0,
      refillAt: Math.floor(this.#s.maxInFlight / 2),
      acked: undefined,
      written: undefined,
      writing: undefined,
    };
    this.#round = round;
  }

  /**
   * Publishes without awaiting while the window has room, returning the shared settled promise:
   * `run` then feeds the next event in the same tick, so a catch-up's publishes leave in one
   * socket write (the client flushes at the end of the tick) instead of one write each. A full
   * window waits until half of it is acknowledged, so it refills in batches too.
   */
  consume(event: Event, signal: AbortSignal): Promise<void> {
    const round = this.#round;
    if (round === undefined) {
      return Promise.reject(
        new ReflexError(
          RpatternsErrorCode.batchState,
          `JetStream relay ${this.name}: consume before reset`,
        ),
      );
    }
    if (round.failure !== undefined) return Promise.reject(round.failure);
    let subject: string;
    try {
      subject = this.#subjectOf(event, round);
      if (!round.probing && inFlight(round) < this.#s.maxInFlight) {
        this.#publish(event, subject, round);
        return settled;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#publishLater(event, subject, round, signal);
  }

  async #publishLater(
    event: Event,
    subject: string,
    round: Round,
    signal: AbortSignal,
  ): Promise<void> {
    for (;;) {
      const left = inFlight(round);
      if (round.probing ? left === 0 : left <= round.refillAt) break;
      await this.#slots.wait(signal);
      if (round.failure !== undefined) throw round.failure;
    }
    this.#publish(event, subject, round);
  }

  #publish(event: Event, subject: string, round: Round): void {
    const { nats, js } = round.h;
    const headers = nats.headers();
    for (const [k, v] of headerValues(event)) headers.set(k, v);
    const expect: { streamName: string; lastSequence?: number } = { streamName: this.#s.stream };
    if (this.#s.ordered && !round.probing) expect.lastSequence = round.nextLast++;
    let publish: Promise<Nats.PubAck>;
    try {
      publish = js.publish(subject, event.metadata ?? empty, {
        msgID: this.#s.msgId(event),
        headers,
        expect,
      });
    } catch (err) {
      throw natsError(
        err,
        `JetStream relay ${this.name}: event ${event.id}`,
        NatsErrorCode.publish,
      );
    }
    const p: InFlight = { event, subject, settled: false, ack: undefined, error: undefined };
    round.queue.push(p);
    publish.then(
      (ack) => {
        p.settled = true;
        p.ack = ack;
        this.#take(round);
      },
      (err: unknown) => {
        p.settled = true;
        p.error = err;
        this.#take(round);
      },
    );
  }

  /** Takes the settled publishes at the head of the queue, in order, and writes the cursor. */
  #take(round: Round): void {
    const q = round.queue;
    const before = round.head;
    while (round.head < q.length) {
      const p = q[round.head] as InFlight;
      if (!p.settled) break;
      round.head++;
      if (round.failure === undefined) this.#check(p, round);
    }
    if (round.head === q.length) {
      q.length = 0;
      round.head = 0;
    } else if (round.head > 4096 && round.head * 2 > q.length) {
      q.splice(0, round.head);
      round.head = 0;
    }
    if (round.head !== before || q.length === 0) this.#slots.wake();
    if (round.failure === undefined && round.acked !== round.written) this.#write(round);
  }

  /** One acknowledgement, in order: a failure ends the round, else the cursor may pass it. */
  #check(p: InFlight, round: Round): void {
    const { event, ack } = p;
    if (ack === undefined) {
      round.fail(
        natsError(
          p.error,
          `JetStream relay ${this.name}: publish of event ${event.id} to ${p.subject}`,
          NatsErrorCode.publish,
        ),
      );
      return;
    }
    if (this.#s.ordered) {
      if (round.probing) {
        if (!ack.duplicate) {
          round.probing = false;
          round.nextLast = ack.seq;
        }
      } else if (ack.duplicate) {
        round.fail(
          new ReflexError(
            NatsErrorCode.publish,
            `JetStream relay ${this.name}: event ${event.id} was already in stream ${this.#s.stream} (another relay is publishing the same events)`,
          ),
        );
        return;
      }
    }
    round.acked = event.id;
  }

  #subjectOf(event: Event, round: Round): string {
    const subject = this.#s.subject(event);
    if (!this.#s.defaultSubject && !isPublishSubject(subject)) {
      throw new ReflexError(
        NatsErrorCode.subject,
        `JetStream relay ${this.name}: subject ${JSON.stringify(subject)} of event ${event.id} is not a valid subject (dot-separated tokens, no spaces or wildcards)`,
      );
    }
    if (!this.#captured.has(subject)) {
      if (round.subjects.length > 0 && !round.subjects.some((p) => subjectMatches(p, subject))) {
        throw new ReflexError(
          NatsErrorCode.subject,
          `JetStream relay ${this.name}: stream ${this.#s.stream} does not capture subject ${subject} of event ${event.id} (its subjects: ${round.subjects.join(', ')})`,
        );
      }
      if (this.#captured.size >= 10_000) this.#captured.clear();
      this.#captured.add(subject);
    }
    return subject;
  }

  /** Writes the newest acknowledged cursor, coalescing the acknowledgements that came meanwhile. */
  #write(round: Round): void {
    if (round.writing !== undefined) return;
    const token = {};
    this.#writeToken = token;
    round.writing = (async () => {
      await Promise.resolve(); // so that `round.writing` is set before the loop can end
      try {
        while (round.acked !== undefined && round.written !== round.acked) {
          const cursor = round.acked;
          await this.cursorStore.setCursor(this.name, cursor);
          round.written = cursor;
        }
      } catch (err) {
        round.fail(wrapError(err, `JetStream relay ${this.name}: cursor`, ErrorCode.setCursor));
      } finally {
        if (this.#writeToken === token) round.writing = undefined;
      }
    })();
  }

  async stop(): Promise<void> {
    const round = this.#round;
    if (round === undefined) return;
    this.#round = undefined;
    // Every publish settles (acknowledged, refused or timed out): wait for all of them.
    while (inFlight(round) > 0) await this.#slots.wait();
    while (round.writing !== undefined) await round.writing;
    this.#slots.wake();
    await this.cursorStore.flush();
  }
}
