import type { Event } from '../../src/core/index.js';

/** Events with ids "1".."n", type = id, foreign id "f<id>", timestamps one second apart. */
export function makeEvents(n: number, start = Date.UTC(2026, 0, 1)): Event[] {
  return Array.from({ length: n }, (_, i) => ({
    id: String(i + 1),
    type: i + 1,
    foreignId: `f${i + 1}`,
    timestamp: new Date(start + i * 1000),
  }));
}

/**
 * The event as a gRPC client decodes it: with its exact time `timestampUs` (the Date's
 * milliseconds × 1000 when the source kept only a Date). Comparisons of events that crossed gRPC
 * use it, so a field added to the wire shows up here deliberately.
 */
export function asReceived(e: Event): Event {
  if (e.timestampUs !== undefined) return e;
  return { ...e, timestampUs: BigInt(e.timestamp.getTime()) * 1000n };
}
