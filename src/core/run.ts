import { abortable, linkedController } from '../internal/abort.js';
import { settled } from '../internal/settled.js';
import { type Clock, systemClock } from './clock.js';
import { ErrorCode, ReflexError, wrapError } from './errors.js';
import type { Spec } from './spec.js';
import type { StreamClient } from './stream.js';

/**
 * A catch-up over settled promises yields to the event loop once it has held it this long (ms),
 * checked every `yieldCheckEvery` events: timers, I/O and signals get in, and a fast catch-up
 * does not pay a turn of the loop (a poll for I/O) every few hundred events.
 */
const yieldAfterMs = 5;
const yieldCheckEvery = 256;

function yieldToEventLoop(signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) =>
    setImmediate(() => (signal.aborted ? reject(signal.reason) : resolve())),
  );
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Aborting it ends the run: `run` then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Time source for the lag wait, for tests. @default the system clock */
  readonly clock?: Clock;
}

/**
 * Streams events to the consumer of `spec`, after its stored cursor, until something stops it.
 *
 * Each run: read the cursor, `reset` the consumer, open the stream (the `lag` option is kept back
 * from the source and applied here, `fromHead` only when there is no cursor yet), then for each
 * event: wait out the lag, `consume`, and only then `setCursor`. Every exit closes the stream and
 * makes a best-effort `flush` of the cursor store. The consumer's call is awaited even after an
 * abort (it gets the signal), so nothing of the run keeps going after `run` settles.
 *
 * It never resolves: it rejects with the signal's reason on abort (`isExpected` is true for it),
 * or with a `ReflexError` that keeps the code of its cause ("recv error: …", "consume error: …",
 * "set cursor error: …", …). Fail fast: re-run it (see `runForever` in `reflex-events/rpatterns`).
 *
 * @example
 * const ac = new AbortController();
 * await run(newSpec(stream, store, consumer), { signal: ac.signal }).catch((err) => {
 *   if (!isExpected(err)) throw err;
 * });
 */
export async function run(spec: Spec, options: RunOptions = {}): Promise<never> {
  const { signal } = options;
  const clock = options.clock ?? systemClock;
  const link = linkedController(signal);
  const inner = link.controller.signal;
  let stream: StreamClient | undefined;
  try {
    signal?.throwIfAborted();
    let cursor: string;
    try {
      cursor = await abortable(spec.cursorStore.getCursor(spec.name), inner);
    } catch (err) {
      throw wrapError(err, 'get cursor error', ErrorCode.getCursor);
    }
    try {
      await spec.consumer.reset?.(inner);
    } catch (err) {
      throw wrapError(err, 'reset error', ErrorCode.reset);
    }
    const { lag = 0, fromHead, toHead } = spec.options;
    stream = await spec.stream(cursor, {
      ...(fromHead === true && cursor === '' ? { fromHead } : {}),
      ...(toHead === true ? { toHead } : {}),
      signal: inner,
    });
    // A client with the optional `tryRecv` hands out buffered events synchronously (no promise
    // per event on a catch-up). A recv that waits is raced with the signal for every client: a
    // client need not have been given the signal.
    const buffered = typeof stream.tryRecv === 'function' ? stream : undefined;
    let heldSince = performance.now();
    for (let n = 1; ; n++) {
      // A catch-up over settled promises would otherwise never let timers, I/O or signals in.
      if (n % yieldCheckEvery === 0 && performance.now() - heldSince >= yieldAfterMs) {
        await yieldToEventLoop(inner);
        heldSince = performance.now();
      }
      let event: Awaited<ReturnType<StreamClient['recv']>>;
      try {
        event = buffered?.tryRecv?.() ?? (await abortable(stream.recv(), inner));
      } catch (err) {
        throw wrapError(err, 'recv error', ErrorCode.recv);
      }
      if (lag > 0) {
        const wait = lag - (clock.now() - event.timestamp.getTime());
        if (wait > 0) await clock.sleep(wait, inner);
      }
      try {
        const consumed = spec.consumer.consume(event, inner);
        if (consumed !== settled) await consumed;
      } catch (err) {
        throw wrapError(err, 'consume error', ErrorCode.consume);
      }
      try {
        const stored = spec.cursorStore.setCursor(spec.name, event.id);
        if (stored !== settled) await stored;
      } catch (err) {
        throw wrapError(err, 'set cursor error', ErrorCode.setCursor);
      }
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    link.controller.abort(new ReflexError(ErrorCode.canceled, 'run ended'));
    link.dispose();
    await stream?.close().catch(() => {});
    await spec.cursorStore.flush().catch(() => {});
  }
}
