import type { Consumer, CursorStore, Event } from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { checkRequiredOptionKeys } from '../internal/options.js';
import { checkPrefix } from './subjects.js';

/** Options of {@link JetStreamClient.relay}. */
export interface JetStreamRelayOptions {
  /** The relay's name: its cursor's key in the cursor store and its consumer name. Required. */
  readonly name: string;
  /** The JetStream stream the events go to; it must exist and capture their subjects. Required. */
  readonly stream: string;
  /** Events go to `<subjectPrefix>.<type>`. @default the stream's name */
  readonly subjectPrefix?: string;
  /** The subject of each event, instead of `<subjectPrefix>.<type>`. @default none */
  readonly subject?: (event: Event) => string;
  /**
   * The message id of each event (`Nats-Msg-Id`): JetStream drops a message whose id it stored
   * within the stream's duplicate window. Must be unique per event across everything written to
   * the stream. @default `<name>:<event.id>`
   */
  readonly msgId?: (event: Event) => string;
  /** Publishes awaiting their acknowledgement at once (the throughput knob). @default 256 */
  readonly maxInFlight?: number;
  /**
   * Chain each publish to the previous one with JetStream's expected-last-sequence check, so a
   * publish lost in a failure can never be overtaken by the next one: the stream keeps the
   * events' order exactly. Needs the relay to be the only writer of its stream; turn it off to
   * share the stream with other publishers (then a failure may reorder the few events that were
   * in flight). @default true
   */
  readonly ordered?: boolean;
}

/**
 * A consumer that publishes each event into a JetStream stream and moves its own cursor only
 * once the publishes up to that event are acknowledged (see {@link newJetStreamRelaySpec}).
 */
export interface JetStreamRelay extends Consumer {
  /** The store the relay writes its cursor to. */
  readonly cursorStore: CursorStore;
  /** Checks the stream and starts a round: called by `run` at the start of each run. */
  reset(signal: AbortSignal): Promise<void>;
  /** Waits for every publish in flight, writes the cursor and flushes the store. */
  stop(): Promise<void>;
}

export interface RelaySettings {
  readonly name: string;
  readonly stream: string;
  readonly subject: (e: Event) => string;
  readonly defaultSubject: boolean;
  readonly msgId: (e: Event) => string;
  readonly maxInFlight: number;
  readonly ordered: boolean;
}

const relayKeys = ['name', 'stream', 'subjectPrefix', 'subject', 'msgId', 'maxInFlight', 'ordered'];

/** Checks the relay's options once. */
export function relaySettings(options: JetStreamRelayOptions): RelaySettings {
  checkRequiredOptionKeys(options, relayKeys, 'JetStream relay');
  const { name, stream } = options;
  if (typeof name !== 'string' || name === '') {
    throw invalidArgument('JetStream relay name must be a non-empty string');
  }
  checkStreamName(stream, 'JetStream relay stream');
  const prefix = checkPrefix(options.subjectPrefix ?? stream, 'JetStream relay subjectPrefix');
  if (options.subject !== undefined && typeof options.subject !== 'function') {
    throw invalidArgument('JetStream relay subject must be a function of the event');
  }
  if (options.msgId !== undefined && typeof options.msgId !== 'function') {
    throw invalidArgument('JetStream relay msgId must be a function of the event');
  }
  const maxInFlight = options.maxInFlight ?? 256;
  if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) {
    throw invalidArgument(`JetStream relay maxInFlight must be an integer ≥ 1, got ${maxInFlight}`);
  }
  if (options.ordered !== undefined && typeof options.ordered !== 'boolean') {
    throw invalidArgument('JetStream relay ordered must be a boolean');
  }
  const bySubject = new Map<number, string>();
  return Object.freeze({
    name,
    stream,
    subject:
      options.subject ??
      ((e: Event) => {
        let s = bySubject.get(e.type);
        if (s === undefined) {
          s = `${prefix}.${e.type < 0 ? `_${-e.type}` : e.type}`;
          bySubject.set(e.type, s);
        }
        return s;
      }),
    defaultSubject: options.subject === undefined,
    msgId: options.msgId ?? ((e: Event) => `${name}:${e.id}`),
    maxInFlight,
    ordered: options.ordered ?? true,
  });
}

/** A JetStream stream name: no spaces, dots, wildcards or path separators. */
export function checkStreamName(stream: unknown, what: string): string {
  if (typeof stream !== 'string' || !/^[^\s.*>/\\]+$/.test(stream)) {
    throw invalidArgument(
      `${what} must be a JetStream stream name (no spaces, '.', '*', '>', '/')`,
    );
  }
  return stream;
}
