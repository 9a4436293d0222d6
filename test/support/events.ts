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
