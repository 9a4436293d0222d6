import {
  type CursorStore,
  type Event,
  newSpec,
  type Spec,
  type StreamCallOptions,
  type StreamClient,
  type StreamFunc,
  type StreamOptions,
} from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { settled } from '../internal/settled.js';
import { BaseStreamClient } from '../internal/stream-client.js';
import type { JetStreamRelay } from './relay-options.js';

const failures = new WeakMap<object, () => Promise<never> | undefined>();

/** Lets {@link newJetStreamRelaySpec} see the relay's current failure. */
export function registerRelay(
  relay: JetStreamRelay,
  failed: () => Promise<never> | undefined,
): void {
  failures.set(relay, failed);
}

/**
 * The spec of a {@link JetStreamRelay}: `run` reads the relay's cursor, but its own `setCursor`
 * after each event does nothing (the relay writes the cursor as the acknowledgements arrive),
 * and a failed publish ends the run at once, even while the source has no new event.
 *
 * @example
 * const relay = js.relay(cursors.toStore(db), { name: 'orders-relay', stream: 'ORDERS' });
 * await runForever(newJetStreamRelaySpec(events.toStream(db), relay), { signal });
 */
export function newJetStreamRelaySpec(
  stream: StreamFunc,
  relay: JetStreamRelay,
  options?: StreamOptions,
): Spec {
  const failed = failures.get(relay);
  if (failed === undefined) {
    throw invalidArgument('newJetStreamRelaySpec needs a relay made by JetStreamClient.relay');
  }
  if (typeof stream !== 'function') throw invalidArgument('spec stream must be a StreamFunc');
  const store = relay.cursorStore;
  const noSetCursor: CursorStore = Object.freeze({
    getCursor: (name: string) => store.getCursor(name),
    setCursor: () => settled,
    flush: () => store.flush(),
  });
  const watched: StreamFunc = async (after: string, callOptions?: StreamCallOptions) =>
    new FailFastClient(await stream(after, callOptions), failed, callOptions?.signal);
  return newSpec(watched, noSetCursor, relay, options);
}

/** Ends a relayed stream with the relay's failure as soon as a publish fails. */
class FailFastClient extends BaseStreamClient {
  readonly #inner: StreamClient;
  readonly #failed: () => Promise<never> | undefined;

  constructor(
    inner: StreamClient,
    failed: () => Promise<never> | undefined,
    signal: AbortSignal | undefined,
  ) {
    super(signal);
    this.#inner = inner;
    this.#failed = failed;
  }

  override tryRecv(): Event | undefined {
    return this.#inner.tryRecv?.();
  }

  protected pull(): Promise<Event> {
    const failed = this.#failed();
    const next = this.#inner.recv();
    if (failed === undefined) return next;
    next.catch(() => {});
    return Promise.race([next, failed]);
  }

  protected override release(): Promise<void> {
    return this.#inner.close();
  }
}
