// Waits for tests: bounded, each fails loudly naming what it waited for.
import type { Event, StreamClient } from '../core/index.js';

/** Reads until head reached (the stream must be opened with toHead). */
export async function drain(stream: StreamClient): Promise<Event[]> {
  const out: Event[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

/** True when `p` is still pending after `ms`. */
export async function stillPending(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((r) => setTimeout(r, ms));
  return !settled;
}

/** Settles as `p` or rejects after `ms` with a message naming `what` (a bounded wait that fails loudly). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
