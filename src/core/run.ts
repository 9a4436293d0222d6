import { abortable, linkedController } from '../internal/abort.js';
import { checkOptionKeys, msOption } from '../internal/options.js';
import { settled } from '../internal/settled.js';
import { setLongTimeout } from '../internal/timers.js';
import { type Clock, systemClock } from './clock.js';
import { codeOf, ErrorCode, ReflexError, wrapError } from './errors.js';
import { type Logger, noopLogger } from './logger.js';
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
  /**
   * Where `run` reports what it does not throw when it ends: a stream that failed to close, a
   * final flush that failed or took longer than `flushTimeoutMs` (with the last cursor this run
   * set, which may then come again). @default noopLogger
   */
  readonly logger?: Logger;
  /**
   * How long, in ms, the stream's close and the cursor store's final flush may each take once the
   * run ends; past it `run` settles anyway and logs what was not flushed. @default 5000
   */
  readonly flushTimeoutMs?: number;
}

const runOptionKeys = ['signal', 'clock', 'logger', 'flushTimeoutMs'] as const;
const defaultFlushTimeoutMs = 5000;

/** How a bounded call at the end of a run came out. */
type Outcome = { readonly ok: true } | { readonly ok: false; readonly error?: unknown };

/**
 * Calls `fn` (which may throw, return a plain value or a promise) and settles within `ms`: with
 * `ok` when it finished, its error when it failed, `{ ok: false }` alone when it took too long.
 * It never rejects; a call that finishes late is still observed (no unhandled rejection).
 */
function boundedCall(fn: () => unknown, ms: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const timer = setLongTimeout(() => resolve({ ok: false }), ms);
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve(fn());
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      () => {
        timer.clear();
        resolve({ ok: true });
      },
      (error: unknown) => {
        timer.clear();
        resolve({ ok: false, error });
      },
    );
  });
}

/** Calls `fn`, turning a synchronous throw into a rejection and a plain value into a promise. */
function call<T>(fn: () => T | PromiseLike<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

function malformed(what: string): ReflexError {
  return new ReflexError(ErrorCode.recv, `recv error: malformed event from the stream: ${what}`);
}

/** A stream client as `run` needs it: a stream function may return anything at runtime. */
function isStreamClient(v: unknown): v is StreamClient {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as StreamClient).recv === 'function' &&
    typeof (v as StreamClient).close === 'function'
  );
}

/**
 * Streams events to the consumer of `spec`, after its stored cursor, until something stops it.
 *
 * Each run: read the cursor, `reset` the consumer, open the stream (the `lag` option is kept back
 * from the source and applied here, `fromHead` only when there is no cursor yet), then for each
 * event: wait out the lag, `consume`, and only then `setCursor`. Every exit closes the stream and
 * makes a best-effort `flush` of the cursor store, each bounded by `flushTimeoutMs`; what fails
 * there is logged. The consumer's call is awaited even after an abort (it gets the signal); the
 * cursor store's calls and the stream function are raced with the signal (they are not given it);
 * a `setCursor` the abort interrupted is still awaited, within `flushTimeoutMs`, before the run
 * returns, so no cursor write lands after it.
 *
 * It never resolves: it rejects with the signal's reason on abort (`isExpected` is true for it),
 * or with a `ReflexError` that keeps the code of its cause ("recv error: …", "consume error: …",
 * "set cursor error: …", …), whatever was thrown (the original is its `cause`). Fail fast: re-run
 * it (see `runForever` in `reflex-events/rpatterns`).
 *
 * @example
 * const ac = new AbortController();
 * await run(newSpec(stream, store, consumer), { signal: ac.signal }).catch((err) => {
 *   if (!isExpected(err)) throw err;
 * });
 */
export async function run(spec: Spec, options: RunOptions = {}): Promise<never> {
  checkOptionKeys(options, runOptionKeys, 'run');
  const { signal } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? noopLogger;
  const flushTimeoutMs = msOption(options.flushTimeoutMs, 'flushTimeoutMs', defaultFlushTimeoutMs);
  const link = linkedController(signal);
  const inner = link.controller.signal;
  let stream: StreamClient | undefined;
  /** The last cursor this run set: what a failed final flush may leave unwritten. */
  let lastCursor: string | undefined;
  /** A cursor write the signal interrupted: finished (bounded) before the run returns. */
  let interrupted: PendingWrite | undefined;
  try {
    signal?.throwIfAborted();
    stream = await start(spec, inner);
    const lag = spec.options.lag ?? 0;
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
      if (typeof event !== 'object' || event === null || typeof event.id !== 'string') {
        throw malformed('not an object with a string id');
      }
      if (lag > 0) {
        const ts: unknown = event.timestamp;
        if (!(ts instanceof Date)) throw malformed(`event ${event.id} has no Date timestamp`);
        const wait = lag - (clock.now() - ts.getTime());
        if (wait > 0) await clock.sleep(wait, inner);
      }
      try {
        const consumed = spec.consumer.consume(event, inner);
        if (consumed !== settled) await consumed;
      } catch (err) {
        throw wrapError(err, 'consume error', ErrorCode.consume);
      }
      let write: Promise<void> | undefined;
      try {
        const stored = spec.cursorStore.setCursor(spec.name, event.id);
        if (stored !== settled) {
          write = Promise.resolve(stored);
          await abortable(write, inner);
        }
      } catch (err) {
        // An abort does not abandon a write in flight: it may still land after the run returned.
        if (inner.aborted && write !== undefined) interrupted = { cursor: event.id, write };
        throw wrapError(err, 'set cursor error', ErrorCode.setCursor);
      }
      lastCursor = event.id;
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err instanceof ReflexError ? err : wrapError(err, 'run error', ErrorCode.internal);
  } finally {
    link.controller.abort(new ReflexError(ErrorCode.canceled, 'run ended'));
    link.dispose();
    await finish(spec, stream, lastCursor, interrupted, flushTimeoutMs, logger);
  }
}

/** The run's start: the stored cursor, the consumer's reset, then the stream opened after it. */
async function start(spec: Spec, inner: AbortSignal): Promise<StreamClient> {
  let cursor: unknown;
  try {
    cursor = await abortable(
      call(() => spec.cursorStore.getCursor(spec.name)),
      inner,
    );
  } catch (err) {
    throw wrapError(err, 'get cursor error', ErrorCode.getCursor);
  }
  if (typeof cursor !== 'string') {
    throw new ReflexError(
      ErrorCode.getCursor,
      `get cursor error: the cursor store returned a ${typeof cursor}, not a string`,
    );
  }
  try {
    await spec.consumer.reset?.(inner);
  } catch (err) {
    throw wrapError(err, 'reset error', ErrorCode.reset);
  }
  const { fromHead, toHead } = spec.options;
  const opening = call(() =>
    spec.stream(cursor, {
      ...(fromHead === true && cursor === '' ? { fromHead } : {}),
      ...(toHead === true ? { toHead } : {}),
      signal: inner,
    }),
  );
  let opened: unknown;
  try {
    opened = await abortable(opening, inner);
  } catch (err) {
    // A client that arrives after the abort is closed, not leaked.
    if (inner.aborted)
      opening.then(
        (late) => closeQuietly(late),
        () => {},
      );
    throw err instanceof ReflexError ? err : wrapError(err, 'stream error', ErrorCode.recv);
  }
  if (!isStreamClient(opened)) {
    throw new ReflexError(
      ErrorCode.recv,
      'stream error: the stream function returned no stream client (recv and close)',
    );
  }
  return opened;
}

/** A setCursor call still in flight when the run was aborted. */
interface PendingWrite {
  readonly cursor: string;
  readonly write: Promise<void>;
}

function closeQuietly(client: unknown): void {
  if (isStreamClient(client)) call(() => client.close()).catch(() => {});
}

/** Closes the stream and flushes the store, each bounded; logs what failed or did not finish. */
async function finish(
  spec: Spec,
  stream: StreamClient | undefined,
  lastCursor: string | undefined,
  interrupted: PendingWrite | undefined,
  timeoutMs: number,
  logger: Logger,
): Promise<void> {
  const fields = { consumer: spec.name, timeoutMs };
  if (interrupted !== undefined) {
    const written = await boundedCall(() => interrupted.write, timeoutMs);
    if (written.ok) lastCursor = interrupted.cursor;
    else {
      logger.warn(
        'error' in written
          ? 'reflex cursor write in flight at the stop failed'
          : 'reflex cursor write in flight at the stop timed out',
        {
          ...fields,
          cursor: interrupted.cursor,
          ...('error' in written ? { code: codeOf(written.error), error: written.error } : {}),
        },
      );
    }
  }
  if (stream !== undefined) {
    const closed = await boundedCall(() => stream.close(), timeoutMs);
    if (!closed.ok) {
      logger.warn(
        'error' in closed ? 'reflex stream close failed' : 'reflex stream close timed out',
        {
          ...fields,
          ...('error' in closed ? { code: codeOf(closed.error), error: closed.error } : {}),
        },
      );
    }
  }
  const flushed = await boundedCall(() => spec.cursorStore.flush(), timeoutMs);
  if (!flushed.ok) {
    // The cursor may come again after a restart: at-least-once, but worth knowing.
    logger.error(
      'error' in flushed
        ? 'reflex final cursor flush failed; the last cursor may not be stored'
        : 'reflex final cursor flush timed out; the last cursor may not be stored',
      {
        ...fields,
        cursor: lastCursor ?? null,
        ...('error' in flushed ? { code: codeOf(flushed.error), error: flushed.error } : {}),
      },
    );
  }
}
