import { type CursorStore, ErrorCode, ReflexError } from '../core/index.js';
import { parseInt64 } from '../core/internal.js';
import { sleep } from '../internal/timers.js';

/** Options of {@link awaitCursor}. */
export interface AwaitCursorOptions {
  /** Give up after this many ms. @default 15_000 */
  readonly timeoutMs?: number;
  /** How often to read the cursor, in ms. @default 5 */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Waits until the cursor of `name` reaches `cursor` (compared as integers when both are, else as
 * strings). Unlike the original it fails loudly: on timeout it rejects with an error that names
 * the consumer, the wanted cursor and the last one seen.
 */
export async function awaitCursor(
  store: CursorStore,
  name: string,
  cursor: string,
  options: AwaitCursorOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const intervalMs = options.intervalMs ?? 5;
  const deadline = Date.now() + timeoutMs;
  const want = parseInt64(cursor);
  let seen = '';
  for (;;) {
    seen = await store.getCursor(name);
    const got = parseInt64(seen);
    const reached =
      want !== undefined && got !== undefined ? got >= want : seen !== '' && seen >= cursor;
    if (reached) return;
    if (Date.now() >= deadline) {
      throw new ReflexError(
        ErrorCode.deadlineExceeded,
        `cursor of ${name} did not reach ${cursor} within ${timeoutMs} ms (last seen ${JSON.stringify(seen)})`,
      );
    }
    await sleep(intervalMs, options.signal);
  }
}
