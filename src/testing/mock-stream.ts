import {
  ErrorCode,
  type Event,
  ReflexError,
  type StreamCallOptions,
  type StreamFunc,
} from '../core/index.js';
import { parseInt64 } from '../core/internal.js';
import { BaseStreamClient } from '../internal/stream-client.js';
import { validateStreamOptions } from '../internal/stream-options.js';

/**
 * A StreamFunc over a fixed list of events: it delivers the events whose integer id is greater
 * than the cursor ('' = all), in list order, then fails every `recv` with `endErr` (default: an
 * `ERR_REFLEX_STREAM_ENDED` error). Options are validated and otherwise ignored.
 *
 * @example
 * const stream = newMockStream([{ id: '1', type: 1, foreignId: 'a', timestamp: new Date() }]);
 */
export function newMockStream(events: readonly Event[], endErr?: unknown): StreamFunc {
  const list = [...events];
  return (after: string, options?: StreamCallOptions) => {
    const o = validateStreamOptions(options);
    const from = after === '' ? -1n : parseInt64(after);
    if (from === undefined) {
      return Promise.reject(
        new ReflexError(ErrorCode.invalidCursor, `invalid cursor ${JSON.stringify(after)}`),
      );
    }
    const pending = list.filter((e) => (parseInt64(e.id) ?? 0n) > from);
    return Promise.resolve(new MockStreamClient(pending, endErr, o.signal));
  };
}

class MockStreamClient extends BaseStreamClient {
  readonly #events: Event[];
  readonly #endErr: unknown;

  constructor(events: Event[], endErr: unknown, signal: AbortSignal | undefined) {
    super(signal);
    this.#events = events;
    this.#endErr = endErr;
  }

  protected pull(): Promise<Event> {
    const next = this.#events.shift();
    if (next !== undefined) return Promise.resolve(next);
    return Promise.reject(
      this.#endErr ?? new ReflexError(ErrorCode.streamEnded, 'mock stream ended'),
    );
  }
}
