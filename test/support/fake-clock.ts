import type { Clock } from '../../src/core/index.js';

/** A clock whose sleeps return at once and are recorded, advancing the time they asked for. */
export class FakeClock implements Clock {
  nowMs: number;
  readonly sleeps: number[] = [];

  constructor(nowMs = Date.UTC(2026, 0, 1)) {
    this.nowMs = nowMs;
  }

  now(): number {
    return this.nowMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.nowMs += ms;
    return Promise.resolve();
  }
}
